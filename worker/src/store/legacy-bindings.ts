/**
 * The store side of the cut-over from the legacy `endpoint_locations` table (docs/migration.md): reading the
 * live bindings page by page, and importing legacy rows as bindings. Kept apart from libsql-store.ts because
 * nothing but the admin API's /legacy routes uses it.
 *
 * An imported binding is marked by its Call-ID, {@link LEGACY_IMPORT_CALLID}. The rules, per AoR:
 * - a live binding made by a real REGISTER here (another Call-ID) is newer than the legacy row: nothing is
 *   written (`kept`);
 * - otherwise the AoR's imported bindings become exactly the legacy row: the binding with the row's contact
 *   is inserted or updated (an expired REGISTER-made one with that contact is replaced), imported ones with
 *   another contact are removed. Nothing is written when nothing differs, so a second run changes nothing.
 * One call is one libSQL batch, which the store runs as one transaction: all of it or none of it.
 */
import { and, asc, gt, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { toBinding } from "./binding-row";
import { location, type LocationRow } from "./schema";
import { storeOperation, type Binding, type LegacyBindingOps, type LegacyImportOutcome, type LegacyImportRow } from "./store";

type Db = LibSQLDatabase<Record<string, never>>;
type Batch = [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];

/** The Call-ID of every imported binding: no phone's REGISTER uses it, so the phone's next REGISTER wins. */
export const LEGACY_IMPORT_CALLID = "legacy-import@edge-registrar";


interface PriorRow {
  readonly username: string;
  readonly domain: string;
  readonly contact: string;
  readonly callid: string;
  readonly received: string | null;
  readonly expires: number;
}

/** What the batch's SQL will do to one row, decided from the AoR's bindings before it (same rules as the SQL). */
export function importOutcome(row: LegacyImportRow, prior: readonly PriorRow[], now: number): LegacyImportOutcome {
  const mine = prior.filter((p) => p.username === row.username && p.domain === row.domain);
  if (mine.some((p) => p.callid !== LEGACY_IMPORT_CALLID && p.expires > now)) return "kept";
  const imported = mine.filter((p) => p.callid === LEGACY_IMPORT_CALLID);
  const same = mine.find((p) => p.contact === row.contact);
  const othersRemoved = imported.some((p) => p.contact !== row.contact);
  if (same === undefined) return imported.length === 0 ? "inserted" : "updated";
  const identical =
    same.callid === LEGACY_IMPORT_CALLID && same.received === row.received && same.expires === row.expires;
  return identical && !othersRemoved ? "unchanged" : "updated";
}

/** The cut-over operations over the same drizzle database as the rest of the store. */
export function createLegacyBindingOps(db: Db): LegacyBindingOps {
  const run = storeOperation;

  // A live binding of the AoR that a real REGISTER made: then the legacy row is not imported.
  const noLiveRegistration = (r: LegacyImportRow, now: number): SQL =>
    sql`NOT EXISTS (SELECT 1 FROM location AS live WHERE live.username = ${r.username} AND live.domain = ${r.domain}
      AND live.callid <> ${LEGACY_IMPORT_CALLID} AND live.expires > ${now})`;

  function writes(r: LegacyImportRow, now: number): BatchItem<"sqlite">[] {
    const guard = noLiveRegistration(r, now);
    return [
      // The AoR's other imported contacts: the legacy table holds one contact per AoR.
      db.run(sql`DELETE FROM location WHERE username = ${r.username} AND domain = ${r.domain}
        AND contact <> ${r.contact} AND callid = ${LEGACY_IMPORT_CALLID} AND ${guard}`),
      // The binding with this contact, when it was imported before (or is an expired REGISTER-made one) and differs.
      db.run(sql`UPDATE location SET received = ${r.received}, path = NULL, expires = ${r.expires}, q = 1.0,
        callid = ${LEGACY_IMPORT_CALLID}, cseq = 0, last_modified = ${now}, user_agent = '', socket = NULL,
        methods = NULL, sip_instance = NULL
        WHERE username = ${r.username} AND domain = ${r.domain} AND contact = ${r.contact}
        AND (callid = ${LEGACY_IMPORT_CALLID} OR expires <= ${now})
        AND (callid <> ${LEGACY_IMPORT_CALLID} OR received IS NOT ${r.received} OR expires <> ${r.expires})
        AND ${guard}`),
      db.run(sql`INSERT INTO location (username, domain, contact, received, path, expires, q, callid, cseq,
          last_modified, flags, cflags, user_agent, socket, methods, sip_instance, kv_store, attr)
        SELECT ${r.username}, ${r.domain}, ${r.contact}, ${r.received}, NULL, ${r.expires}, 1.0, ${LEGACY_IMPORT_CALLID}, 0,
          ${now}, 0, NULL, '', NULL, NULL, NULL, NULL, NULL
        WHERE NOT EXISTS (SELECT 1 FROM location AS same WHERE same.username = ${r.username} AND same.domain = ${r.domain}
          AND same.contact = ${r.contact}) AND ${guard}`),
    ];
  }

  return {
    pageLiveBindings: (afterId, now, limit) =>
      run("pageLiveBindings", async () => {
        const rows = await db
          .select()
          .from(location)
          .where(and(gt(location.contactId, afterId), gt(location.expires, now)))
          .orderBy(asc(location.contactId))
          .limit(limit);
        return rows.map(toBinding);
      }),

    importLegacyRows: (rows, now, dryRun) =>
      run("importLegacyRows", async () => {
        if (rows.length === 0) return [];
        const aors = sql.join(
          rows.map((r) => sql`(${r.username}, ${r.domain})`),
          sql`, `,
        );
        // Read first, in the same batch (one transaction) as the writes: the outcomes describe what they did.
        const prior = db.all<PriorRow>(
          sql`SELECT username, domain, contact, callid, received, expires FROM location
            WHERE (username, domain) IN (VALUES ${aors})`,
        );
        // A write that matches nothing goes first: it takes the write lock before the read, so that in a
        // deferred transaction (libSQL's batch) no other writer can commit between the read and the writes.
        const lock = db.run(sql`DELETE FROM location WHERE contact_id < 0`);
        const steps: BatchItem<"sqlite">[] = dryRun ? [prior] : [lock, prior];
        if (!dryRun) for (const r of rows) steps.push(...writes(r, now));
        const results = (await db.batch(steps as Batch)) as unknown[];
        const before = results[dryRun ? 0 : 1] as PriorRow[];
        return rows.map((r) => importOutcome(r, before, now));
      }),
  };
}
