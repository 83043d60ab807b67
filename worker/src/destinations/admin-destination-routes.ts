/**
 * Admin API for dispatcher destinations (docs/admin-api.md, "Destinations"), mounted at
 * `/admin/v1/destinations`:
 *   GET  /                   ?domain=<d>   every destination with its state (active | inactive | disabled)
 *   POST /disable            {uri, domain?}          maintenance: never routed to, never changed by probes
 *   POST /enable             {uri, domain?}          back in service (also clears a probe's inactive mark)
 *   POST /probe              {uri, domain?, probing} turn OPTIONS probing of it on or off
 * A URI designates every row with that address (a box serving several tenants), or only the tenant's with
 * `domain`. Mounted inside the admin API (admin/admin-routes.ts), behind its token check and body limit.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Env } from "../config/env";
import type { AdminVars } from "../admin/admin-body";
import { objectBody } from "../json-body";
import { getServices } from "../services";
import type { Store } from "../store/store";
import { destinationProblem } from "../tenants/destination-uri";
import { invalidateTenantDirectory } from "../tenants/tenant-directory";
import { destinationView, operatorTransition, rowsForUri, stateName } from "./destination-state";

interface Target {
  readonly uri: string;
  readonly domain: string | undefined;
  readonly body: Record<string, unknown>;
}

function target(rawBody: string): Target {
  const body = objectBody(rawBody);
  if (typeof body.uri !== "string" || body.uri.length === 0) throw new HTTPException(400, { message: "uri is required" });
  const problem = destinationProblem(body.uri);
  if (problem) throw new HTTPException(400, { message: problem });
  if (body.domain !== undefined && (typeof body.domain !== "string" || body.domain.length === 0)) {
    throw new HTTPException(400, { message: "domain must be a tenant domain" });
  }
  return { uri: body.uri, domain: (body.domain as string | undefined)?.toLowerCase(), body };
}

async function designated(store: Store, t: Target) {
  const rows = rowsForUri(await store.listDestinationRecords(), t.uri, t.domain);
  if (rows.length === 0) {
    throw new HTTPException(404, { message: `no destination ${t.uri}${t.domain ? ` in tenant ${t.domain}` : ""}` });
  }
  return rows;
}

/** Routes under `/admin/v1/destinations`. */
export function createDestinationAdminRoutes(): Hono<{ Bindings: Env } & AdminVars> {
  const app = new Hono<{ Bindings: Env } & AdminVars>();

  app.get("/", async (c) => {
    const domain = c.req.query("domain")?.toLowerCase();
    const rows = await getServices(c.env).store.listDestinationRecords();
    const picked = domain === undefined ? rows : rows.filter((r) => r.domains.includes(domain));
    if (domain !== undefined && picked.length === 0 && !rows.some((r) => r.domains.includes(domain))) {
      // Distinguish "no such tenant" from "a tenant without destinations" only by the 404's reason.
      const tenants = await getServices(c.env).store.loadTenants();
      if (!tenants.some((t) => t.domain === domain)) throw new HTTPException(404, { message: `no tenant ${domain}` });
    }
    return c.json({ destinations: picked.map(destinationView) });
  });

  for (const action of ["disable", "enable"] as const) {
    app.post(`/${action}`, async (c) => {
      const t = target(c.get("body"));
      const s = getServices(c.env);
      const rows = await designated(s.store, t);
      const { to, from } = operatorTransition(action);
      const changed = new Set(await s.store.updateDestinationStates(rows.map((r) => r.id), to, from));
      if (changed.size > 0) invalidateTenantDirectory();
      const views = rows.map((r) => ({ ...destinationView(r), ...(changed.has(r.id) ? { state: stateName(to) } : {}) }));
      for (const v of views.filter((v) => changed.has(v.id))) {
        s.log({ msg: `destination ${action}d by operator`, id: v.id, uri: v.uri, domains: v.domains, state: v.state });
      }
      return c.json({ destinations: views, changed: changed.size });
    });
  }

  app.post("/probe", async (c) => {
    const t = target(c.get("body"));
    if (typeof t.body.probing !== "boolean") throw new HTTPException(400, { message: "probing must be true or false" });
    const probing = t.body.probing;
    const s = getServices(c.env);
    const rows = await designated(s.store, t);
    await s.store.updateDestinationProbeMode(
      rows.map((r) => r.id),
      probing ? 1 : 0,
    );
    s.log({ msg: `destination probing ${probing ? "on" : "off"}`, uri: t.uri, ids: rows.map((r) => r.id) });
    return c.json({ destinations: rows.map((r) => ({ ...destinationView(r), probing })) });
  });

  return app;
}
