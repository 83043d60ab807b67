/**
 * Destination states: the names operators and the contract use, the OpenSIPS codes `dispatcher.state`
 * stores, and the transitions each actor may make. A probe moves a destination between active and
 * inactive only; an operator's `disabled` is left alone by probes and lifted only by an operator.
 */
import type { DestinationState, ProbedState } from "../../../contract/destinations";
import { normaliseIp } from "../routing/source-tenant";
import type { DestinationRecord } from "../store/store";
import { parseDestination } from "../tenants/destination-uri";

/** OpenSIPS `state` codes: 0 active, 1 inactive (an operator's: our `disabled`), 2 probing (our `inactive`). */
export const STATE_ACTIVE = 0;
export const STATE_DISABLED = 1;
export const STATE_PROBE_INACTIVE = 2;

/** The name of a stored code; any code other than 0 and 2 reads as disabled (not routable, not probed). */
export function stateName(code: number): DestinationState {
  if (code === STATE_ACTIVE) return "active";
  if (code === STATE_PROBE_INACTIVE) return "inactive";
  return "disabled";
}

/** The guarded transition a probe report makes: the target code and the codes it may move from. */
export function probeTransition(state: ProbedState): { readonly to: number; readonly from: readonly number[] } {
  return state === "inactive"
    ? { to: STATE_PROBE_INACTIVE, from: [STATE_ACTIVE] }
    : { to: STATE_ACTIVE, from: [STATE_PROBE_INACTIVE] };
}

/**
 * The guarded transition an operator makes: `disable` from any state that is not already disabled;
 * `enable` lifts a disable, and also clears a probe's `inactive` mark (a mark left by a gateway that no
 * longer probes; a gateway that still sees the destination down marks it again within a probe round).
 */
export function operatorTransition(action: "enable" | "disable"): { readonly to: number; readonly from: readonly number[] } {
  return action === "disable"
    ? { to: STATE_DISABLED, from: [STATE_ACTIVE, STATE_PROBE_INACTIVE] }
    : { to: STATE_ACTIVE, from: [STATE_DISABLED, STATE_PROBE_INACTIVE] };
}

/** A destination as the admin API shows it. */
export interface DestinationView {
  readonly id: number;
  readonly uri: string;
  readonly state: DestinationState;
  readonly probing: boolean;
  readonly domains: readonly string[];
  readonly setid: number;
  readonly weight: number;
  readonly priority: number;
}

export function destinationView(r: DestinationRecord): DestinationView {
  return {
    id: r.id,
    uri: r.uri,
    state: stateName(r.state),
    probing: r.probeMode !== 0,
    domains: r.domains,
    setid: r.setid,
    weight: r.weight,
    priority: r.priority,
  };
}

/**
 * The rows an operator's URI designates: the same parsed address (`sip:10.0.0.1` is `sip:10.0.0.1:5060`),
 * else the same text; restricted to one tenant's rows when `domain` is given.
 */
export function rowsForUri(rows: readonly DestinationRecord[], uri: string, domain?: string): DestinationRecord[] {
  const wanted = parseDestination(uri);
  return rows.filter((r) => {
    if (domain !== undefined && !r.domains.includes(domain)) return false;
    if (r.uri === uri) return true;
    const a = parseDestination(r.uri);
    return wanted !== undefined && a !== undefined && a.port === wanted.port && normaliseIp(a.ip) === normaliseIp(wanted.ip);
  });
}
