/**
 * The gateway's two endpoints in the Workers runtime: `/v1/request` (an initial request -> a decision) and
 * `/v1/response` (a final response the worker asked to see -> a decision). Thin: authenticate, validate,
 * call the decision (decisions/decide.ts, shared with the Node runtime), answer JSON.
 */
import { Hono, type Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { parseRequestEvent, parseResponseEvent } from "../../../contract/v1";
import type { Env } from "../config/env";
import { decideRequest, decideResponse, InvalidContextError } from "../decisions/decide";
import { mountProbeRoutes } from "../destinations/probe-routes";
import type { Defer } from "../tenants/tenant-directory";
import { jsonBody, validated } from "../json-body";
import { getServices } from "../services";
import { gatewayAuth, type GatewayVars } from "./gateway-auth";

/**
 * The request's `waitUntil`, for work that outlives the answer (a tenant cache refresh); none when the app
 * runs without an execution context (Hono's `app.request` in the Node runtime's tests).
 */
function deferOf(c: Context): Defer | undefined {
  try {
    const ctx = c.executionCtx;
    return (work) => ctx.waitUntil(work);
  } catch {
    return undefined;
  }
}

/** Routes under `/v1`, behind the gateway signature check. */
export function createGatewayRoutes(): Hono<{ Bindings: Env } & GatewayVars> {
  const app = new Hono<{ Bindings: Env } & GatewayVars>();
  app.use("*", gatewayAuth);
  mountProbeRoutes(app);

  app.post("/request", async (c) => {
    const ev = validated(() => parseRequestEvent(jsonBody(c.get("rawBody"))));
    const defer = deferOf(c);
    const services = getServices(c.env);
    return c.json(await decideRequest(ev, defer ? { ...services, defer } : services, Date.now()));
  });

  // The gateway's readiness probe (contract PING_PATH): signature accepted (the middleware) and store reached.
  app.post("/ping", async (c) => {
    await getServices(c.env).store.ping();
    return c.json({ ok: true });
  });

  app.post("/response", async (c) => {
    const ev = validated(() => parseResponseEvent(jsonBody(c.get("rawBody"))));
    try {
      return c.json(await decideResponse(ev, getServices(c.env), Date.now()));
    } catch (err) {
      if (err instanceof InvalidContextError) throw new HTTPException(400, { message: err.message });
      throw err;
    }
  });

  return app;
}
