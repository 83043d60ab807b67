/**
 * The decisions behind the gateway's probing endpoints, without HTTP: which destinations to probe, and
 * applying a gateway's report as guarded transitions. probe-routes.ts serves them over `/v1`; an
 * in-process runtime can call them directly.
 */
import type { DestinationStateAnswer, DestinationStateReport, ProbeTarget, ProbeTargetsAnswer } from "../../../contract/destinations";
import type { Store } from "../store/store";
import { parseDestination } from "../tenants/destination-uri";
import { invalidateTenantDirectory } from "../tenants/tenant-directory";
import { probeTransition, stateName, STATE_ACTIVE, STATE_PROBE_INACTIVE } from "./destination-state";

/** Every destination with probing on and not disabled, with its stored state. */
export async function listProbeTargets(store: Store): Promise<ProbeTargetsAnswer> {
  const targets: ProbeTarget[] = [];
  for (const r of await store.listDestinationRecords()) {
    if (r.probeMode === 0 || (r.state !== STATE_ACTIVE && r.state !== STATE_PROBE_INACTIVE)) continue;
    const address = parseDestination(r.uri);
    if (!address) continue;
    targets.push({ id: r.id, uri: r.uri, ip: address.ip, port: address.port, state: r.state === STATE_ACTIVE ? "active" : "inactive" });
  }
  return { targets };
}

/**
 * Applies a gateway's report: `inactive` only from active, `active` only from inactive (never a
 * `disabled` row), rows whose URI is no longer the reported one left alone. Answers the state stored now.
 */
export async function applyDestinationStateReport(
  store: Store,
  report: { readonly gateway: string; readonly changes: Required<DestinationStateReport>["changes"] },
  log: (obj: Record<string, unknown>) => void,
): Promise<DestinationStateAnswer> {
  const rows = new Map((await store.listDestinationRecords()).map((r) => [r.id, r]));
  const valid = report.changes.filter((ch) => rows.get(ch.id)?.uri === ch.uri);
  const changed = new Map<number, number>();
  for (const state of ["inactive", "active"] as const) {
    const ids = valid.filter((ch) => ch.state === state).map((ch) => ch.id);
    if (ids.length === 0) continue;
    const { to, from } = probeTransition(state);
    for (const id of await store.updateDestinationStates(ids, to, from)) changed.set(id, to);
  }
  const results: DestinationStateAnswer["results"] = [];
  for (const ch of report.changes) {
    const row = rows.get(ch.id);
    const code = changed.get(ch.id) ?? row?.state;
    const known = row !== undefined && row.uri === ch.uri && code !== undefined;
    results.push({ id: ch.id, ...(known ? { state: stateName(code) } : {}), changed: changed.has(ch.id) });
    if (changed.has(ch.id)) {
      log({ msg: "destination state changed by probe", gateway: report.gateway, id: ch.id, uri: ch.uri, domains: row?.domains ?? [], state: ch.state });
    }
  }
  if (changed.size > 0) invalidateTenantDirectory();
  return { results };
}
