/**
 * The gateway's probing endpoints, mounted inside the signed `/v1` routes (gateway-routes.ts):
 *   POST /v1/probe-targets      -> the destinations with probing enabled and not disabled, with their state
 *   POST /v1/destination-state  -> apply what a gateway's probes concluded, as guarded transitions
 * A report changes a row only from active to inactive or back (never a `disabled` one), so reports from
 * several gateways, late or repeated, cannot undo an operator's decision (docs/operations.md). The
 * decisions are in probe-service.ts.
 */
import type { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { parseDestinationStateReport, parseProbeTargetsRequest } from "../../../contract/destinations";
import { ContractError } from "../../../contract/v1";
import type { Env } from "../config/env";
import type { GatewayVars } from "../gateway/gateway-auth";
import { getServices } from "../services";
import { applyDestinationStateReport, listProbeTargets } from "./probe-service";

function body<T>(raw: string, parse: (v: unknown) => T): T {
  try {
    return parse(JSON.parse(raw));
  } catch (err) {
    if (err instanceof ContractError) throw new HTTPException(400, { message: err.reason });
    if (err instanceof SyntaxError) throw new HTTPException(400, { message: "body is not JSON" });
    throw err;
  }
}

/** Adds the two routes to the gateway's `/v1` app (after its signature check). */
export function mountProbeRoutes(app: Hono<{ Bindings: Env } & GatewayVars>): void {
  app.post("/probe-targets", async (c) => {
    body(c.get("rawBody"), parseProbeTargetsRequest);
    return c.json(await listProbeTargets(getServices(c.env).store));
  });

  app.post("/destination-state", async (c) => {
    const report = body(c.get("rawBody"), parseDestinationStateReport);
    const s = getServices(c.env);
    return c.json(await applyDestinationStateReport(s.store, report, s.log));
  });
}
