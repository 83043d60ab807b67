/**
 * The statements of a REGISTER's save (Store.applySave), as fixed SQL text with positional `?` arguments.
 *
 * A save runs on every 2xx to a REGISTER, so its SQL is written once here instead of being built by drizzle on
 * every call (building the query cost more CPU than SQLite running it). The text of each statement never
 * depends on the plan: lists of varying length (removed identities, contacts) travel as one JSON argument read
 * with `json_each`, and the plan's scalars (with an upsert's fields) as one constant row `p`, so that every
 * value is bound once and a client that keeps prepared statements by text (node-runtime/embedded-client.ts)
 * prepares each of them once.
 *
 * The statements run in one libSQL batch, one transaction ("write": the write lock is taken at BEGIN), in this
 * order: the plan's tombstones, one DELETE (removals, `Contact: *`, and the pre-identity rows of the upserted
 * contacts), one INSERT per upsert, and one SELECT of the AoR's rows and the blocked identities. A REGISTER
 * that refreshes one contact is BEGIN, DELETE (reads the AoR's few rows through the (username, domain) prefix of
 * location_aor_ruid_idx and normally deletes none), INSERT, SELECT, COMMIT.
 */
import type { InStatement, Row } from "@libsql/client";
import { getTableColumns } from "drizzle-orm";
import { toBinding } from "./binding-row";
import { location, type LocationRow } from "./schema";
import type { Binding, SavePlan, SaveResult } from "./store";

/** The plan's scalars as the columns of a constant row; their arguments are {@link planArgs}. */
const PLAN_COLUMNS = "? AS username, ? AS domain, ? AS callid, ? AS cseq, ? AS now, ? AS issued_at, ? AS max_contacts";
const PLAN_ROW = `(SELECT ${PLAN_COLUMNS}) AS p`;

function planArgs(plan: SavePlan): (string | number)[] {
  return [plan.username, plan.domain, plan.callid, plan.cseq, plan.now, plan.issuedAt, plan.maxContacts];
}

/**
 * Whether the identity `ruid` (an SQL expression) of plan `p` is blocked: the tenant no longer exists, or the
 * binding (or the whole AoR, `*`) was removed after the REGISTER was decided or by a newer CSeq of its Call-ID,
 * by a tombstone that has not expired. A late or replayed 2xx cannot bring such a binding back.
 */
const blocked = (ruid: string): string => `(NOT EXISTS (SELECT 1 FROM domain d WHERE d.domain = p.domain)
  OR EXISTS (SELECT 1 FROM location_tombstone t WHERE t.username = p.username AND t.domain = p.domain
    AND t.ruid IN (${ruid}, '*') AND t.expires >= p.now
    AND (t.removed_at > p.issued_at OR (t.callid = p.callid AND t.cseq > p.cseq))))`;

/** Remembers removals (identities, or `*` for the AoR) so that a late 2xx cannot undo them. */
export const SAVE_TOMBSTONES_SQL = `INSERT INTO location_tombstone (username, domain, ruid, callid, cseq, removed_at, expires)
  SELECT ?, ?, v.value, ?, ?, ?, ? FROM json_each(?) v WHERE true
  ON CONFLICT (username, domain, ruid) DO UPDATE SET
    callid = excluded.callid, cseq = excluded.cseq, removed_at = excluded.removed_at, expires = excluded.expires`;

/**
 * Removes, within the AoR: every row (`Contact: *`, RFC 3261 section 10.3 step 6), the removed identities, and
 * rows written before identities existed (ruid NULL) whose contact is removed or upserted (they give way to the
 * identified row). Never a row written by a newer CSeq of the same Call-ID: that is newer state (section 10.3
 * step 7).
 */
export const SAVE_DELETE_SQL = `DELETE FROM location WHERE username = ? AND domain = ? AND NOT (callid = ? AND cseq > ?)
  AND (? OR ruid IN (SELECT value FROM json_each(?)) OR (ruid IS NULL AND contact IN (SELECT value FROM json_each(?))))`;

/**
 * One upsert: INSERT ... SELECT ... WHERE writes the row only when no tombstone blocks it and, for a binding the
 * AoR does not hold yet, while the AoR has fewer than maxContacts unexpired bindings; an existing row of the
 * identity is updated unless a newer CSeq of the same Call-ID wrote it. One statement per upsert (not one over
 * a JSON list): each sees the rows the previous ones wrote, so maxContacts counts them. `p` is the plan and the
 * upsert's fields in one constant row (a co-routine to SQLite; a second row source would be materialized).
 */
export const SAVE_UPSERT_SQL = `INSERT INTO location (username, domain, contact, received, path, expires, q, callid, cseq,
    last_modified, user_agent, socket, methods, sip_instance, ruid)
  SELECT p.username, p.domain, p.contact, p.received, p.path, p.expires, p.q, p.callid, p.cseq,
    p.now, p.user_agent, p.socket, p.methods, p.sip_instance, p.ruid
  FROM (SELECT ${PLAN_COLUMNS}, ? AS contact, ? AS received, ? AS path, ? AS expires, ? AS q, ? AS user_agent, ? AS socket, ? AS methods,
      ? AS sip_instance, ? AS ruid) AS p
  WHERE NOT ${blocked("p.ruid")}
    AND (EXISTS (SELECT 1 FROM location l WHERE l.username = p.username AND l.domain = p.domain AND l.ruid = p.ruid)
      OR (SELECT COUNT(*) FROM location l WHERE l.username = p.username AND l.domain = p.domain AND l.expires > p.now)
        < p.max_contacts)
  ON CONFLICT (username, domain, ruid) DO UPDATE SET
    contact = excluded.contact, received = excluded.received, path = excluded.path,
    expires = excluded.expires, q = excluded.q, callid = excluded.callid, cseq = excluded.cseq,
    last_modified = excluded.last_modified, user_agent = excluded.user_agent, socket = excluded.socket,
    methods = excluded.methods, sip_instance = excluded.sip_instance
  WHERE NOT (location.callid = excluded.callid AND location.cseq > excluded.cseq)`;

const COLUMNS = Object.entries(getTableColumns(location));

/**
 * What the save returns, in one SELECT: the AoR's rows after the save, best q first then oldest, every column
 * under its drizzle property name (a `LocationRow`, so that {@link toBinding} is the one mapping from a row to
 * a Binding here as for drizzle's queries) and `blockedRuid` NULL; then one row per upserted identity that a
 * tombstone (or the tenant's removal) refused, with only `blockedRuid` set.
 */
export const SAVE_RESULT_SQL = `SELECT ${COLUMNS.map(([key, column]) => `"${column.name}" AS "${key}"`).join(", ")},
    NULL AS "blockedRuid"
  FROM location WHERE username = ? AND domain = ?
  UNION ALL
  SELECT ${COLUMNS.map(() => "NULL").join(", ")}, v.value FROM ${PLAN_ROW}, json_each(?) v WHERE ${blocked("v.value")}
  ORDER BY "q" DESC, "contactId" ASC`;

/** The batch of statements that applies `plan`; {@link readSaveResult} reads its results. */
export function saveStatements(plan: SavePlan): InStatement[] {
  const steps: InStatement[] = [];
  const removed = plan.removals.map((r) => r.ruid);
  if (plan.removeAll) removed.unshift("*");
  if (removed.length > 0) {
    steps.push({
      sql: SAVE_TOMBSTONES_SQL,
      args: [plan.username, plan.domain, plan.callid, plan.cseq, plan.removedAt, plan.tombstoneExpires, JSON.stringify(removed)],
    });
  }
  if (plan.removeAll || plan.removals.length > 0 || plan.upserts.length > 0) {
    steps.push({
      sql: SAVE_DELETE_SQL,
      args: [
        plan.username,
        plan.domain,
        plan.callid,
        plan.cseq,
        plan.removeAll ? 1 : 0,
        JSON.stringify(plan.removals.map((r) => r.ruid)),
        JSON.stringify([...plan.removals.map((r) => r.contact), ...plan.upserts.map((w) => w.contact)]),
      ],
    });
  }
  const p = planArgs(plan);
  for (const w of plan.upserts) {
    steps.push({
      sql: SAVE_UPSERT_SQL,
      args: [...p, w.contact, w.received, w.path, w.expires, w.q, w.userAgent, w.socket, w.methods, w.sipInstance, w.ruid],
    });
  }
  steps.push({ sql: SAVE_RESULT_SQL, args: [plan.username, plan.domain, ...p, JSON.stringify(plan.upserts.map((w) => w.ruid))] });
  return steps;
}

/** The save's result from the batch's result sets (the last one is {@link SAVE_RESULT_SQL}'s). */
export function readSaveResult(results: readonly { rows: Row[] }[]): SaveResult {
  const bindings: Binding[] = [];
  const blockedRuids = new Set<string>();
  for (const r of results[results.length - 1]?.rows ?? []) {
    const ruid = r["blockedRuid"];
    if (ruid === null || ruid === undefined) bindings.push(toBinding(r as unknown as LocationRow));
    else blockedRuids.add(String(ruid));
  }
  return { bindings, blocked: blockedRuids };
}
