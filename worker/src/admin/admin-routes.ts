/**
 * The admin API (docs/admin-api.md): tenants and their dispatcher sets, bindings per tenant and AoR,
 * health. Bearer token, its own secret. Bad input is a 4xx with a reason; nothing is half-written.
 */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { timingSafeEqual } from "hono/utils/buffer";
import { acceptedAdminTokens, type Env } from "../config/env";
import { maskToMethods } from "../registrar/methods";
import { getServices, getSharedServices } from "../services";
import type { Binding } from "../store/store";
import { StoreConflictError } from "../store/store";
import { destinationProblem } from "../tenants/destination-uri";
import { invalidateTenantDirectory } from "../tenants/tenant-directory";

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Why a tenant domain is not acceptable; undefined when it is fine. */
export function domainProblem(domain: unknown): string | undefined {
  if (typeof domain !== "string" || domain.length === 0) return "domain is required";
  if (!HOSTNAME.test(domain.toLowerCase())) return `domain ${JSON.stringify(domain)} is not a valid host name`;
  return undefined;
}

const adminAuth = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const { config } = getSharedServices(c.env);
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) throw new HTTPException(401, { message: "missing bearer token" });
  // ADMIN_TOKEN, or ADMIN_TOKEN_PREVIOUS during a rotation window (docs/operations.md). Each comparison is
  // constant-time; every accepted token is compared, so the time does not say which one matched.
  let ok = false;
  for (const token of acceptedAdminTokens(config)) if (await timingSafeEqual(match[1], token)) ok = true;
  if (!ok) throw new HTTPException(401, { message: "bad token" });
  await next();
});

function bindingJson(b: Binding): Record<string, unknown> {
  return { ...b, methods: maskToMethods(b.methods)?.join(",") ?? null };
}

interface DestinationInput {
  uri: string;
  weight: number;
  priority: number;
}

function parseDestinations(raw: unknown): DestinationInput[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new HTTPException(400, { message: "destinations must be a non-empty array of SIP URIs" });
  }
  return raw.map((d, i) => {
    const obj = typeof d === "string" ? { uri: d } : d;
    if (typeof obj !== "object" || obj === null || typeof (obj as { uri?: unknown }).uri !== "string") {
      throw new HTTPException(400, { message: `destinations[${i}] must be a SIP URI or {uri, weight?, priority?}` });
    }
    const { uri, weight = 1, priority = 0 } = obj as { uri: string; weight?: unknown; priority?: unknown };
    const problem = destinationProblem(uri);
    if (problem) throw new HTTPException(400, { message: problem });
    if (typeof weight !== "number" || !Number.isInteger(weight) || weight < 0 || weight > 1000) {
      throw new HTTPException(400, { message: `destinations[${i}].weight must be an integer 0..1000` });
    }
    if (typeof priority !== "number" || !Number.isInteger(priority) || priority < -1000 || priority > 1000) {
      throw new HTTPException(400, { message: `destinations[${i}].priority must be an integer -1000..1000` });
    }
    return { uri, weight, priority };
  });
}

function parseId(raw: string): number {
  if (!/^\d{1,15}$/.test(raw)) throw new HTTPException(400, { message: "binding id must be a positive integer" });
  return Number(raw);
}

/** Routes under `/admin/v1`. */
export function createAdminRoutes(): Hono<{ Bindings: Env }> {
  const app = new Hono<{ Bindings: Env }>();
  app.use("*", adminAuth);

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
    return c.json({ tenants });
  });

  app.post("/tenants", async (c) => {
    const body: unknown = await c.req.json().catch(() => {
      throw new HTTPException(400, { message: "body is not JSON" });
    });
    if (typeof body !== "object" || body === null) throw new HTTPException(400, { message: "body must be an object" });
    const { domain, destinations, attrs } = body as { domain?: unknown; destinations?: unknown; attrs?: unknown };
    const problem = domainProblem(domain);
    if (problem) throw new HTTPException(400, { message: problem });
    if (attrs !== undefined && attrs !== null && typeof attrs !== "string") {
      throw new HTTPException(400, { message: "attrs must be a string" });
    }
    const dests = parseDestinations(destinations);
    try {
      const tenant = await getServices(c.env).store.createTenant({
        domain: (domain as string).toLowerCase(),
        destinations: dests,
        attrs: (attrs as string | undefined) ?? null,
      });
      invalidateTenantDirectory();
      return c.json({ tenant }, 201);
    } catch (err) {
      if (err instanceof StoreConflictError) throw new HTTPException(409, { message: `tenant ${domain as string} exists` });
      throw err;
    }
  });

  app.get("/tenants/:domain", async (c) => {
    const name = c.req.param("domain").toLowerCase();
    const tenant = (await getServices(c.env).store.loadTenants()).find((t) => t.domain === name);
    if (!tenant) throw new HTTPException(404, { message: `no tenant ${name}` });
    return c.json({ tenant });
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
    const deleted = await getServices(c.env).store.deleteBinding(parseId(c.req.param("id")));
    if (!deleted) throw new HTTPException(404, { message: "no such binding" });
    return c.json({ deleted: 1 });
  });

  app.delete("/aors/:aor", async (c) => {
    const aor = c.req.param("aor");
    const at = aor.lastIndexOf("@");
    if (at <= 0 || at === aor.length - 1) throw new HTTPException(400, { message: "aor must be user@domain" });
    const n = await getServices(c.env).store.deleteAor(aor.slice(0, at), aor.slice(at + 1).toLowerCase());
    if (n === 0) throw new HTTPException(404, { message: `no bindings for ${aor}` });
    return c.json({ deleted: n });
  });

  return app;
}
