/**
 * The gateway's two endpoints: `/v1/request` (an initial request -> a decision) and `/v1/response`
 * (a final response the worker asked to see -> a decision). Thin: validate, call a decision, answer JSON.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import {
  ContractError,
  parseRequestEvent,
  parseResponseEvent,
  type RequestDecisionInput,
  type RequestEvent,
} from "../../../contract/v1";
import type { Env } from "../config/env";
import { decideRegister } from "../registrar/register-request";
import { decideRegisterResponse } from "../registrar/register-response";
import { isRegisterContext, type RegisterContext } from "../registrar/register-context";
import { decideRoute } from "../routing/route-request";
import { getServices, type Services } from "../services";
import { getTenantDirectory } from "../tenants/tenant-directory";
import { gatewayAuth, type GatewayVars } from "./gateway-auth";
import { openContext, sealContext } from "./context-seal";

/** Contexts older than this are refused (longer than any transaction that carries one: Timer C is 3 min). */
const CONTEXT_MAX_AGE_MS = 300_000;

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new HTTPException(400, { message: "body is not JSON" });
  }
}

function validated<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ContractError) throw new HTTPException(400, { message: err.reason });
    throw err;
  }
}

async function decideRequest(ev: RequestEvent, s: Services, now: number): Promise<RequestDecisionInput> {
  const tenants = await getTenantDirectory(s.store, now, s.config.tenantCacheTtlMs);
  const key = await s.gatewayKey;
  if (ev.method === "REGISTER") {
    return decideRegister(ev, { tenants, seal: (ctx: RegisterContext) => sealContext(key, ctx, now) });
  }
  return decideRoute(ev, { tenants, store: s.store, now, anyDomainLookup: s.config.anyDomainLookup, log: s.log });
}

/** Routes under `/v1`, behind the gateway signature check. */
export function createGatewayRoutes(): Hono<{ Bindings: Env } & GatewayVars> {
  const app = new Hono<{ Bindings: Env } & GatewayVars>();
  app.use("*", gatewayAuth);

  app.post("/request", async (c) => {
    const ev = validated(() => parseRequestEvent(parseJson(c.get("rawBody"))));
    const s = getServices(c.env);
    return c.json(await decideRequest(ev, s, Date.now()));
  });

  // The gateway's readiness probe (contract PING_PATH): signature accepted (the middleware) and store reached.
  app.post("/ping", async (c) => {
    await getServices(c.env).store.ping();
    return c.json({ ok: true });
  });

  app.post("/response", async (c) => {
    const ev = validated(() => parseResponseEvent(parseJson(c.get("rawBody"))));
    const s = getServices(c.env);
    const now = Date.now();
    const ctx = await openContext(await s.gatewayKeys, ev.context, now, CONTEXT_MAX_AGE_MS);
    if (isRegisterContext(ctx)) {
      return c.json(
        await decideRegisterResponse(ev, ctx, {
          store: s.store,
          now,
          defaultExpires: s.config.defaultExpires,
          log: s.log,
        }),
      );
    }
    throw new HTTPException(400, { message: "context is invalid, expired or of an unknown kind" });
  });

  return app;
}
