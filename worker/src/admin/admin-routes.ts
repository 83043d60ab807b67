/**
 * The admin API (docs/admin-api.md): tenants and their dispatcher sets, bindings per tenant and AoR,
 * health. Bearer token, its own secret. Bodies are size-limited before authentication (413); an
 * unauthenticated caller gets a bare 401. Bad input is a 4xx with a reason; nothing is half-written.
 */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { isAdminToken, type Env } from "../config/env";
import { MAX_ADMIN_BODY, readLimited, unauthorized } from "../gateway/gateway-auth";
import { maskToMethods } from "../registrar/methods";
import { requiresPort, withRequirePort } from "../routing/destination-attrs";
import { normaliseIp } from "../routing/source-tenant";
import { getServices, getSharedServices } from "../services";
import type { Binding, Destination, Tenant } from "../store/store";
import { StoreConflictError } from "../store/store";
import { destinationProblem, parseDestination } from "../tenants/destination-uri";
import { invalidateTenantDirectory } from "../tenants/tenant-directory";
import { isIpAddress } from "../sip-uri";
import { jsonBody, objectBody } from "../json-body";
import type { AdminVars } from "./admin-body";
import { createDestinationAdminRoutes } from "../destinations/admin-destination-routes";
import { createLegacyRoutes } from "./legacy-routes";

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * Why a tenant domain is not acceptable; undefined when it is fine. An IP literal or a single-label name is
 * refused unless `allowUnusual`: the tenant is chosen from the Request-URI / To / From host, and a phone
 * that dials `sip:201@<gateway-ip>` or `sip:201@localhost` must not land in a tenant by accident.
 */
export function domainProblem(domain: unknown, allowUnusual = false): string | undefined {
  if (domain === undefined || domain === null || domain === "") return "domain is required";
  if (typeof domain !== "string") return "domain must be a string";
  const d = domain.toLowerCase();
  const bare = d.startsWith("[") && d.endsWith("]") ? d.slice(1, -1) : d;
  if (isIpAddress(bare)) {
    if (!allowUnusual) return `domain ${d} is an IP address: set allowUnusualDomain to use it as a tenant domain`;
    return undefined;
  }
  if (!HOSTNAME.test(d)) return `domain ${JSON.stringify(domain)} is not a valid host name`;
  if (!d.includes(".") && !allowUnusual) {
    return `domain ${d} is a single label: set allowUnusualDomain to use it as a tenant domain`;
  }
  return undefined;
}

const adminAuth = createMiddleware<{ Bindings: Env } & AdminVars>(async (c, next) => {
  const { config, log } = getSharedServices(c.env);
  // The body is bounded before the token is even looked at (413).
  c.set("body", c.req.method === "GET" || c.req.method === "HEAD" ? "" : await readLimited(c.req.raw, MAX_ADMIN_BODY));
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) throw unauthorized(log, "admin", "missing bearer token");
  // ADMIN_TOKEN, or ADMIN_TOKEN_PREVIOUS during a rotation window (docs/operations.md).
  if (!(await isAdminToken(config, match[1]))) throw unauthorized(log, "admin", "bad token");
  await next();
});



/** A destination as the API shows it: the row, plus `requirePort` read from its attrs. */
function destinationJson(d: Destination): Record<string, unknown> {
  return { ...d, requirePort: requiresPort(d) };
}

function tenantJson(t: Tenant): Record<string, unknown> {
  return { ...t, destinations: t.destinations.map(destinationJson) };
}

/**
 * Why a tenant's destinations would make some source ambiguous; undefined when they do not. Two tenants
 * may share an Asterisk IP only when every destination on that IP, theirs and ours, is matched by IP and
 * port (`requirePort`) and the ports differ: otherwise a request from that IP (from any port, as Asterisk
 * sends) could belong to either tenant and would be refused at run time (docs/routing.md).
 */
export function ambiguityProblem(
  domain: string,
  mine: readonly { uri: string; attrs: string | null }[],
  others: readonly Tenant[],
): string | undefined {
  for (const d of mine) {
    const a = parseDestination(d.uri);
    if (!a) continue;
    for (const t of others) {
      if (t.domain === domain) continue;
      for (const e of t.destinations) {
        const b = parseDestination(e.uri);
        if (!b || normaliseIp(b.ip) !== normaliseIp(a.ip)) continue;
        if (a.port === b.port) {
          return `destination ${d.uri} is tenant ${t.domain}'s ${e.uri}: one address cannot belong to two tenants`;
        }
        if (!requiresPort(d) || !requiresPort(e)) {
          return (
            `destination ${d.uri} shares its IP with tenant ${t.domain}'s ${e.uri}: requests from that IP could ` +
            `belong to either tenant; set requirePort on both destinations (tenant ${t.domain}: ` +
            `PATCH /tenants/${t.domain}/destinations/${e.id}) or use another address`
          );
        }
      }
    }
  }
  return undefined;
}

function bindingJson(b: Binding): Record<string, unknown> {
  return { ...b, methods: maskToMethods(b.methods)?.join(",") ?? null };
}

interface DestinationInput {
  uri: string;
  weight: number;
  priority: number;
  attrs: string | null;
}

function parseDestinations(raw: unknown): DestinationInput[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new HTTPException(400, { message: "destinations must be a non-empty array of SIP URIs" });
  }
  return raw.map((d, i) => {
    const obj = typeof d === "string" ? { uri: d } : d;
    if (typeof obj !== "object" || obj === null || typeof (obj as { uri?: unknown }).uri !== "string") {
      throw new HTTPException(400, { message: `destinations[${i}] must be a SIP URI or {uri, weight?, priority?, requirePort?}` });
    }
    const { uri, weight = 1, priority = 0, requirePort = false } = obj as { uri: string; weight?: unknown; priority?: unknown; requirePort?: unknown };
    const problem = destinationProblem(uri);
    if (problem) throw new HTTPException(400, { message: problem });
    if (typeof weight !== "number" || !Number.isInteger(weight) || weight < 0 || weight > 1000) {
      throw new HTTPException(400, { message: `destinations[${i}].weight must be an integer 0..1000` });
    }
    if (typeof priority !== "number" || !Number.isInteger(priority) || priority < -1000 || priority > 1000) {
      throw new HTTPException(400, { message: `destinations[${i}].priority must be an integer -1000..1000` });
    }
    if (typeof requirePort !== "boolean") throw new HTTPException(400, { message: `destinations[${i}].requirePort must be a boolean` });
    return { uri, weight, priority, attrs: withRequirePort(null, requirePort) };
  });
}

function parseId(raw: string, what = "binding"): number {
  if (!/^\d{1,15}$/.test(raw)) throw new HTTPException(400, { message: `${what} id must be a positive integer` });
  return Number(raw);
}

/** Unix seconds until which an operator's removal is remembered against late 2xx. */
const tombstoneUntil = (ttlS: number): number => Math.floor(Date.now() / 1000) + ttlS;

/** Routes under `/admin/v1`. */
export function createAdminRoutes(): Hono<{ Bindings: Env } & AdminVars> {
  const app = new Hono<{ Bindings: Env } & AdminVars>();
  app.use("*", adminAuth);
  app.route("/legacy", createLegacyRoutes());
  app.route("/destinations", createDestinationAdminRoutes());

  app.get("/health", async (c) => {
    const { store } = getServices(c.env);
    try {
      await store.ping();
      return c.json({ status: "ok", store: "ok" });
    } catch (err) {
      return c.json({ status: "degraded", store: err instanceof Error ? err.message : String(err) }, 503);
    }
  });

  app.get("/tenants", async (c) => {
    const tenants = await getServices(c.env).store.loadTenants();
    return c.json({ tenants: tenants.map(tenantJson) });
  });

  app.post("/tenants", async (c) => {
    const { domain, destinations, attrs, allowUnusualDomain = false } = objectBody(c.get("body"));
    if (typeof allowUnusualDomain !== "boolean") throw new HTTPException(400, { message: "allowUnusualDomain must be a boolean" });
    const problem = domainProblem(domain, allowUnusualDomain);
    if (problem) throw new HTTPException(400, { message: problem });
    if (attrs !== undefined && attrs !== null && typeof attrs !== "string") {
      throw new HTTPException(400, { message: "attrs must be a string" });
    }
    const dests = parseDestinations(destinations);
    const name = (domain as string).toLowerCase();
    const store = getServices(c.env).store;
    const ambiguous = ambiguityProblem(name, dests, await store.loadTenants());
    if (ambiguous) throw new HTTPException(409, { message: ambiguous });
    try {
      const tenant = await store.createTenant({ domain: name, destinations: dests, attrs: (attrs as string | undefined) ?? null });
      invalidateTenantDirectory();
      return c.json({ tenant: tenantJson(tenant) }, 201);
    } catch (err) {
      if (err instanceof StoreConflictError) throw new HTTPException(409, { message: `tenant ${name} exists` });
      throw err;
    }
  });

  app.get("/tenants/:domain", async (c) => {
    const name = c.req.param("domain").toLowerCase();
    const tenant = (await getServices(c.env).store.loadTenants()).find((t) => t.domain === name);
    if (!tenant) throw new HTTPException(404, { message: `no tenant ${name}` });
    return c.json({ tenant: tenantJson(tenant) });
  });

  app.patch("/tenants/:domain/destinations/:id", async (c) => {
    const name = c.req.param("domain").toLowerCase();
    const id = parseId(c.req.param("id"), "destination");
    const body = jsonBody(c.get("body"));
    const requirePort = (body as { requirePort?: unknown } | null)?.requirePort;
    if (typeof requirePort !== "boolean") throw new HTTPException(400, { message: "requirePort must be a boolean" });
    const store = getServices(c.env).store;
    const tenants = await store.loadTenants();
    const dest = tenants.find((t) => t.domain === name)?.destinations.find((d) => d.id === id);
    if (!dest) throw new HTTPException(404, { message: `tenant ${name} has no destination ${id}` });
    const attrs = withRequirePort(dest.attrs, requirePort);
    const ambiguous = ambiguityProblem(name, [{ uri: dest.uri, attrs }], tenants);
    if (ambiguous) throw new HTTPException(409, { message: ambiguous });
    const updated = await store.setDestinationAttrs(name, id, attrs);
    invalidateTenantDirectory();
    if (!updated) throw new HTTPException(404, { message: `tenant ${name} has no destination ${id}` });
    return c.json({ destination: destinationJson(updated) });
  });

  app.delete("/tenants/:domain", async (c) => {
    const name = c.req.param("domain").toLowerCase();
    const result = await getServices(c.env).store.deleteTenant(name);
    invalidateTenantDirectory();
    if (!result) throw new HTTPException(404, { message: `no tenant ${name}` });
    return c.json({ deleted: name, bindingsRemoved: result.bindingsRemoved });
  });

  app.get("/bindings", async (c) => {
    const domain = c.req.query("domain")?.toLowerCase();
    const aor = c.req.query("aor");
    const limitRaw = c.req.query("limit") ?? "1000";
    const limit = Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new HTTPException(400, { message: "limit must be an integer 1..1000" });
    }
    let username: string | undefined;
    let dom = domain;
    if (aor !== undefined) {
      const at = aor.lastIndexOf("@");
      if (at <= 0 || at === aor.length - 1) throw new HTTPException(400, { message: "aor must be user@domain" });
      username = aor.slice(0, at);
      const aorDomain = aor.slice(at + 1).toLowerCase();
      if (dom !== undefined && dom !== aorDomain) throw new HTTPException(400, { message: "aor and domain disagree" });
      dom = aorDomain;
    }
    const bindings = await getServices(c.env).store.listBindings({ domain: dom, username, limit });
    return c.json({ bindings: bindings.map(bindingJson) });
  });

  app.get("/bindings/:id", async (c) => {
    const binding = await getServices(c.env).store.getBinding(parseId(c.req.param("id")));
    if (!binding) throw new HTTPException(404, { message: "no such binding" });
    return c.json({ binding: bindingJson(binding) });
  });

  app.delete("/bindings/:id", async (c) => {
    const s = getServices(c.env);
    const deleted = await s.store.deleteBinding(parseId(c.req.param("id")), tombstoneUntil(s.config.tombstoneTtlS));
    if (!deleted) throw new HTTPException(404, { message: "no such binding" });
    return c.json({ deleted: 1 });
  });

  app.delete("/aors/:aor", async (c) => {
    const aor = c.req.param("aor");
    const at = aor.lastIndexOf("@");
    if (at <= 0 || at === aor.length - 1) throw new HTTPException(400, { message: "aor must be user@domain" });
    const s = getServices(c.env);
    const n = await s.store.deleteAor(aor.slice(0, at), aor.slice(at + 1).toLowerCase(), tombstoneUntil(s.config.tombstoneTtlS));
    if (n === 0) throw new HTTPException(404, { message: `no bindings for ${aor}` });
    return c.json({ deleted: n });
  });

  return app;
}
