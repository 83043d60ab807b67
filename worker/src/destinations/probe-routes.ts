/**
 * The gateway's probing endpoints, mounted inside the signed `/v1` routes (gateway-routes.ts):
 *   POST /v1/probe-targets      -> the destinations with probing enabled and not disabled, with their state
 *   POST /v1/destination-state  -> apply what a gateway's probes concluded, as guarded transitions
 * A report changes a row only from active to inactive or back (never a `disabled` one), so reports from
 * several gateways, late or repeated, cannot undo an operator's decision (docs/operations.md). The
 * decisions are in probe-service.ts.
 */
import type { Hono } from "hono";
import { parseDestinationStateReport, parseProbeTargetsRequest } from "../../../contract/destinations";
import type { Env } from "../config/env";
import type { GatewayVars } from "../gateway/gateway-auth";
import { jsonBody, validated } from "../json-body";
import { getServices } from "../services";
import { applyDestinationStateReport, listProbeTargets } from "./probe-service";

/** The body as the contract value `parse` validates (400 when it is not JSON or not valid). */
function body<T>(raw: string, parse: (v: unknown) => T): T {
  return validated(() => parse(jsonBody(raw)));
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
