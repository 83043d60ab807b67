/**
 * Admin API for dispatcher destinations (docs/admin-api.md, "Destinations"), mounted at
 * `/admin/v1/destinations`:
 *   GET  /                   ?domain=<d>   every destination with its state (active | inactive | disabled)
 *   POST /disable            {uri, domain?}          maintenance: never routed to, never changed by probes
 *   POST /enable             {uri, domain?}          back in service (also clears a probe's inactive mark)
 *   POST /probe              {uri, domain?, probing} turn OPTIONS probing of it on or off
 * A URI designates every row with that address (a box serving several tenants), or only the tenant's with
 * `domain`. Bearer token as for the other admin routes.
 */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { timingSafeEqual } from "hono/utils/buffer";
import type { Env } from "../config/env";
import { getServices, getSharedServices } from "../services";
import type { Store } from "../store/store";
import { destinationProblem } from "../tenants/destination-uri";
import { invalidateTenantDirectory } from "../tenants/tenant-directory";
import { destinationView, operatorTransition, rowsForUri, stateName } from "./destination-state";

const bearer = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const { config } = getSharedServices(c.env);
  const match = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
  if (!match?.[1]) throw new HTTPException(401, { message: "missing bearer token" });
  if (!(await timingSafeEqual(match[1], config.adminToken))) throw new HTTPException(401, { message: "bad token" });
  await next();
});

interface Target {
  readonly uri: string;
  readonly domain: string | undefined;
  readonly body: Record<string, unknown>;
}

async function target(req: { json(): Promise<unknown> }): Promise<Target> {
  const raw: unknown = await req.json().catch(() => {
    throw new HTTPException(400, { message: "body is not JSON" });
  });
  if (typeof raw !== "object" || raw === null) throw new HTTPException(400, { message: "body must be an object" });
  const body = raw as Record<string, unknown>;
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
export function createDestinationAdminRoutes(): Hono<{ Bindings: Env }> {
  const app = new Hono<{ Bindings: Env }>();
  app.use("*", bearer);

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
      const t = await target(c.req);
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
    const t = await target(c.req);
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
