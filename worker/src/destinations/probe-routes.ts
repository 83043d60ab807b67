/**
 * The gateway's probing endpoints, mounted inside the signed `/v1` routes (gateway-routes.ts):
 *   POST /v1/probe-targets      -> the destinations with probing enabled and not disabled, with their state
 *   POST /v1/destination-state  -> apply what a gateway's probes concluded, as guarded transitions
 * A report changes a row only from active to inactive or back (never a `disabled` one), so reports from
 * several gateways, late or repeated, cannot undo an operator's decision (docs/operations.md).
 */
import type { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import {
  parseDestinationStateReport,
  parseProbeTargetsRequest,
  type DestinationStateAnswer,
  type ProbeTarget,
} from "../../../contract/destinations";
import { ContractError } from "../../../contract/v1";
import type { Env } from "../config/env";
import type { GatewayVars } from "../gateway/gateway-auth";
import { getServices } from "../services";
import { parseDestination } from "../tenants/destination-uri";
import { invalidateTenantDirectory } from "../tenants/tenant-directory";
import { probeTransition, stateName, STATE_ACTIVE, STATE_PROBE_INACTIVE } from "./destination-state";

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
    const rows = await getServices(c.env).store.listDestinationRecords();
    const targets: ProbeTarget[] = [];
    for (const r of rows) {
      if (r.probeMode === 0 || (r.state !== STATE_ACTIVE && r.state !== STATE_PROBE_INACTIVE)) continue;
      const address = parseDestination(r.uri);
      if (!address) continue;
      targets.push({ id: r.id, uri: r.uri, ip: address.ip, port: address.port, state: r.state === STATE_ACTIVE ? "active" : "inactive" });
    }
    return c.json({ targets });
  });

  app.post("/destination-state", async (c) => {
    const report = body(c.get("rawBody"), parseDestinationStateReport);
    const s = getServices(c.env);
    const rows = new Map((await s.store.listDestinationRecords()).map((r) => [r.id, r]));
    // A row whose URI is no longer the reported one (deleted, or its id reused) is left alone.
    const valid = report.changes.filter((ch) => rows.get(ch.id)?.uri === ch.uri);
    const changed = new Map<number, number>();
    for (const state of ["inactive", "active"] as const) {
      const ids = valid.filter((ch) => ch.state === state).map((ch) => ch.id);
      if (ids.length === 0) continue;
      const { to, from } = probeTransition(state);
      for (const id of await s.store.updateDestinationStates(ids, to, from)) changed.set(id, to);
    }
    const results: DestinationStateAnswer["results"] = [];
    for (const ch of report.changes) {
      const row = rows.get(ch.id);
      const code = changed.get(ch.id) ?? row?.state;
      const known = row !== undefined && row.uri === ch.uri && code !== undefined;
      results.push({ id: ch.id, ...(known ? { state: stateName(code) } : {}), changed: changed.has(ch.id) });
      if (changed.has(ch.id)) {
        s.log({
          msg: "destination state changed by probe",
          gateway: report.gateway,
          id: ch.id,
          uri: ch.uri,
          domains: row?.domains ?? [],
          state: ch.state,
        });
      }
    }
    if (changed.size > 0) invalidateTenantDirectory();
    return c.json({ results });
  });
}
