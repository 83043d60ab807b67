/**
 * The rollback-trigger figures on the admin page, read from the gateway's Prometheus text at
 * GATEWAY_METRICS_URL. Small on purpose: a figure whose counters the gateway does not export is "not
 * available", never estimated. The figures are cumulative since the gateway started (the worker keeps no
 * history to compute a window from; `edgectl rollback-check` measures a window). Which series each figure
 * reads is the table below (docs/admin-ui.md).
 */
import { addedLatencyP99Ms, parsePrometheusText, registrationFailure, ROLLBACK_METRICS, routingFailure, sumSeries } from "../../../contract/metrics";
import type { FailureFigure, Scrape } from "../../../contract/metrics";

export { parsePrometheusText, sumSeries } from "../../../contract/metrics";
export type { Scrape } from "../../../contract/metrics";

/** One figure: a value with its unit, or why there is none. */
export type Figure =
  | { readonly available: true; readonly value: number; readonly unit: "%" | "ms"; readonly basis: string }
  | { readonly available: false; readonly why: string };

export interface TriggerFigures {
  readonly registrationFailurePct: Figure;
  readonly routingFailurePct: Figure;
  readonly addedLatencyMs: Figure;
}

/**
 * The series each figure reads, the gateway's per-tenant rollback-trigger metrics (contract/metrics.ts, whose
 * formulas `edgectl rollback-check` applies too), summed over every tenant label:
 * - registrations: failed / (2xx + failed), challenges (401/407) and policy refusals left out;
 * - routed: (404 + 408/480 + 5xx) / (delivered + those), policy refusals left out;
 * - addedLatency: the p99 of the histogram of arrival -> relay, the worker's decision included.
 */
export const TRIGGER_METRICS = {
  registrations: ROLLBACK_METRICS.registers,
  routed: ROLLBACK_METRICS.routed,
  addedLatency: ROLLBACK_METRICS.addedLatency,
} as const;

function failurePct(figure: FailureFigure, what: string, left: string): Figure {
  if (figure.pct === undefined) return { available: false, why: `not available: no ${what} counted yet` };
  return { available: true, value: figure.pct, unit: "%", basis: `${figure.failed} of ${figure.total} ${what}; ${left} not counted` };
}

/** The three rollback-trigger figures from one scrape. */
export function triggerFigures(scrape: Scrape): TriggerFigures {
  const p99 = addedLatencyP99Ms(scrape);
  const count = sumSeries(scrape, `${TRIGGER_METRICS.addedLatency}_count`) ?? 0;
  return {
    registrationFailurePct: failurePct(registrationFailure(scrape), "registrations", "challenges and refusals"),
    routingFailurePct: failurePct(routingFailure(scrape), "routed requests", "refusals"),
    addedLatencyMs:
      p99 === undefined
        ? { available: false, why: "not available: no relayed request timed yet" }
        : { available: true, value: p99, unit: "ms", basis: `p99 of ${count} relayed requests, arrival to relay` },
  };
}

/** What the page shows about the gateway's metrics. */
export type GatewayMetricsView =
  | { readonly state: "not-configured" }
  | { readonly state: "unreachable"; readonly why: string }
  | { readonly state: "ok"; readonly figures: TriggerFigures };

/** Bound on the scrape, so that an unreachable gateway never holds the page. */
export const SCRAPE_TIMEOUT_MS = 1500;

/**
 * Scrapes the gateway once. `url` is GATEWAY_METRICS_URL (undefined or empty: not configured); `token`, when
 * set, is sent as a bearer token (for a metrics endpoint behind an authenticating proxy). Never throws.
 */
export async function readGatewayMetrics(url: string | undefined, token: string | undefined): Promise<GatewayMetricsView> {
  if (!url) return { state: "not-configured" };
  try {
    const res = await fetch(url, {
      headers: token ? { authorization: `Bearer ${token}`, accept: "text/plain" } : { accept: "text/plain" },
      signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS),
    });
    if (!res.ok) {
      await res.body?.cancel();
      return { state: "unreachable", why: `HTTP ${res.status}` };
    }
    return { state: "ok", figures: triggerFigures(parsePrometheusText(await res.text())) };
  } catch (err) {
    const name = err instanceof Error ? err.name : "";
    return { state: "unreachable", why: name === "TimeoutError" || name === "AbortError" ? `no answer within ${SCRAPE_TIMEOUT_MS} ms` : "connection failed" };
  }
}
