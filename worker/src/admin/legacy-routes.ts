/**
 * Admin routes of the cut-over from the legacy `endpoint_locations` table (docs/migration.md), mounted under
 * `/admin/v1/legacy` behind the admin token: live bindings page by page (export, compare, mirror) and the
 * import of legacy rows, each call bounded. `edgectl legacy ...` is their only client.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Env } from "../config/env";
import { jsonBody } from "../json-body";
import type { AdminVars } from "./admin-body";
import { maskToMethods } from "../registrar/methods";
import { getServices } from "../services";
import { isIpAddress, parseUri } from "../sip-uri";
import type { LegacyImportOutcome, LegacyImportRow } from "../store/store";

/** Most bindings one page of `GET /legacy/bindings` returns. */
export const LEGACY_PAGE_MAX = 1000;
/** Most rows one `POST /legacy/import` takes: one store batch of at most 3 statements per row. */
export const LEGACY_IMPORT_MAX_ROWS = 500;

// RFC 3261 section 25.1: user = 1*( unreserved / escaped / user-unreserved ).
const SIP_USER = /^(?:[a-z0-9\-_.!~*'()&=+$,;?/]|%[0-9a-f]{2})+$/i;
const MAX_EXPIRES = 2 ** 31 - 1;

type RowResult = { outcome: LegacyImportOutcome } | { outcome: "refused"; reason: string };

/** Why a row cannot be imported; undefined when it can. `tenants` holds the tenant domains (lower case). */
function rowProblem(raw: unknown, tenants: ReadonlySet<string>, now: number): string | undefined {
  if (typeof raw !== "object" || raw === null) return "not an object";
  const r = raw as Record<string, unknown>;
  if (typeof r.username !== "string" || !SIP_USER.test(r.username) || r.username.length > 255) {
    return "username is not a SIP user part";
  }
  if (typeof r.domain !== "string" || !tenants.has(r.domain)) return `domain ${JSON.stringify(r.domain)} is no tenant`;
  if (typeof r.contact !== "string" || !parseUri(r.contact)) return "contact is not a sip: or sips: URI";
  if (r.received !== null) {
    const received = typeof r.received === "string" ? parseUri(r.received) : undefined;
    if (!received || !isIpAddress(received.host) || received.port === undefined) {
      return "received is not sip:<ip>:<port>";
    }
  }
  if (typeof r.expires !== "number" || !Number.isInteger(r.expires) || r.expires > MAX_EXPIRES) {
    return "expires is not Unix seconds";
  }
  if (r.expires <= now) return "expired";
  return undefined;
}

function parseCount(raw: string | undefined, name: string, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d{1,15}$/.test(raw) || Number(raw) > max) throw new HTTPException(400, { message: `${name} must be an integer 0..${max}` });
  return Number(raw);
}

/** Routes under `/admin/v1/legacy` (the caller applies the admin token check). */
export function createLegacyRoutes(): Hono<{ Bindings: Env } & AdminVars> {
  const app = new Hono<{ Bindings: Env } & AdminVars>();

  // Live bindings (expires > now) in id order: `after` is the last id of the previous page.
  app.get("/bindings", async (c) => {
    const after = parseCount(c.req.query("after"), "after", 0, Number.MAX_SAFE_INTEGER);
    const limit = parseCount(c.req.query("limit"), "limit", LEGACY_PAGE_MAX, LEGACY_PAGE_MAX);
    if (limit === 0) throw new HTTPException(400, { message: `limit must be an integer 1..${LEGACY_PAGE_MAX}` });
    const now = Math.floor(Date.now() / 1000);
    const bindings = await getServices(c.env).store.pageLiveBindings(after, now, limit);
    const last = bindings.at(-1);
    return c.json({
      now,
      bindings: bindings.map((b) => ({ ...b, methods: maskToMethods(b.methods)?.join(",") ?? null })),
      next: bindings.length === limit && last ? last.id : null,
    });
  });

  // Rows of distinct AoRs; each is imported, kept (registered here), unchanged, or refused with a reason.
  app.post("/import", async (c) => {
    const body = jsonBody(c.get("body"));
    const { rows, dryRun = false } = (typeof body === "object" && body !== null ? body : {}) as {
      rows?: unknown;
      dryRun?: unknown;
    };
    if (!Array.isArray(rows) || rows.length > LEGACY_IMPORT_MAX_ROWS) {
      throw new HTTPException(400, { message: `rows must be an array of at most ${LEGACY_IMPORT_MAX_ROWS} rows` });
    }
    if (typeof dryRun !== "boolean") throw new HTTPException(400, { message: "dryRun must be a boolean" });
    const { store } = getServices(c.env);
    const now = Math.floor(Date.now() / 1000);
    const tenants = new Set((await store.loadTenants()).map((t) => t.domain));
    const results: (RowResult | undefined)[] = rows.map((r) => {
      const reason = rowProblem(r, tenants, now);
      return reason === undefined ? undefined : { outcome: "refused", reason };
    });
    const accepted: LegacyImportRow[] = [];
    const seen = new Set<string>();
    rows.forEach((raw, i) => {
      if (results[i] !== undefined) return;
      const r = raw as LegacyImportRow;
      const aor = `${r.username}@${r.domain}`;
      if (seen.has(aor)) throw new HTTPException(400, { message: `rows[${i}]: AoR ${aor} is given twice` });
      seen.add(aor);
      accepted.push({ username: r.username, domain: r.domain, contact: r.contact, received: r.received, expires: r.expires });
    });
    const outcomes = await store.importLegacyRows(accepted, now, dryRun);
    let next = 0;
    return c.json({
      now,
      dryRun,
      results: results.map((r) => r ?? { outcome: outcomes[next++] }),
    });
  });

  return app;
}
