/**
 * Settings of the dispatcher prober, Kamailio's dispatcher parameters by another name:
 * PROBE_INTERVAL_MS ~ ds_ping_interval, PROBE_FAILURE_THRESHOLD ~ ds_probing_threshold,
 * PROBE_SUCCESS_THRESHOLD ~ ds_inactive_threshold, PROBE_REPLY_CODES ~ ds_ping_reply_codes.
 * The defaults mark a dead box inactive within 25 s (two failed probes 10 s apart, each given 5 s) and
 * active again within 20 s of it answering (two answered probes); see docs/operations.md.
 */

export interface ProbeSettings {
  /** Time between two probes of one destination. */
  readonly intervalMs: number;
  /** A probe without a final response within this bound failed (shorter than Timer F's 64*T1). */
  readonly timeoutMs: number;
  /** Consecutive failed probes that make an active destination inactive. */
  readonly failureThreshold: number;
  /** Consecutive answered probes that make an inactive destination active. */
  readonly successThreshold: number;
  /** Time between two fetches of the destination list from the worker. */
  readonly refreshMs: number;
  /** Final responses that count as alive: `"any"`, or codes and classes (`200`, `4xx`). */
  readonly replyCodes: "any" | readonly string[];
  /** This gateway's name in the worker's logs. */
  readonly gatewayId: string;
}

export const DEFAULT_PROBE_SETTINGS: Omit<ProbeSettings, "gatewayId"> = {
  intervalMs: 10_000,
  timeoutMs: 5_000,
  failureThreshold: 2,
  successThreshold: 2,
  refreshMs: 30_000,
  replyCodes: "any",
};

/**
 * Parses PROBE_REPLY_CODES: `any`, or a comma-separated list of codes (`200`) and classes (`2xx`).
 * Undefined when malformed.
 */
export function parseReplyCodes(raw: string): ProbeSettings["replyCodes"] | undefined {
  const text = raw.trim().toLowerCase();
  if (text === "any") return "any";
  const items = text.split(",").map((s) => s.trim());
  if (items.length === 0 || items.some((s) => !/^[2-6](?:\d\d|xx)$/.test(s))) return undefined;
  return items;
}

/** True when a final response with `status` shows the destination alive. */
export function replyCountsAsAlive(status: number, codes: ProbeSettings["replyCodes"]): boolean {
  if (status < 200) return false;
  if (codes === "any") return true;
  const text = String(status);
  return codes.some((c) => c === text || (c.endsWith("xx") && c[0] === text[0]));
}
