/**
 * The rollback-trigger figures on the admin page, read from the gateway's Prometheus text at
 * GATEWAY_METRICS_URL. Small on purpose: a figure whose counters the gateway does not export is "not
 * available", never estimated. The figures are cumulative since the gateway started (the worker keeps no
 * history to compute a window from). Which counters each figure reads is the table below (docs/admin-ui.md).
 */

/** Series of one scrape: metric name -> [labels, value][]. */
export type Scrape = ReadonlyMap<string, readonly { readonly labels: Readonly<Record<string, string>>; readonly value: number }[]>;

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/gy;

/** Parses the Prometheus text exposition format (samples only; comments and malformed lines are skipped). */
export function parsePrometheusText(text: string): Scrape {
  const out = new Map<string, { labels: Record<string, string>; value: number }[]>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const [, name = "", labelText = "", valueText = ""] = m;
    const value = Number(valueText);
    if (Number.isNaN(value) && valueText !== "NaN") continue;
    const labels: Record<string, string> = {};
    LABEL.lastIndex = 0;
    let lm: RegExpExecArray | null;
    let consumed = 0;
    while ((lm = LABEL.exec(labelText)) !== null) {
      labels[lm[1] ?? ""] = (lm[2] ?? "").replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
      consumed = LABEL.lastIndex;
    }
    if (consumed !== labelText.length) continue;
    const list = out.get(name) ?? [];
    list.push({ labels, value });
    out.set(name, list);
  }
  return out;
}

/** Sum of every series of `name` whose labels include `match`; undefined when no such series exists. */
export function sumSeries(scrape: Scrape, name: string, match: Readonly<Record<string, string>> = {}): number | undefined {
  const series = scrape.get(name)?.filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v));
  if (!series || series.length === 0) return undefined;
  return series.reduce((acc, s) => acc + s.value, 0);
}

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
 * The counters each figure reads. Registration and routing outcomes are counted by the gateway as
 * `outcome="ok"` / `outcome="failed"` series (any further labels, such as a tenant, are summed over); the
 * added latency is the mean time the gateway waited for the worker's decisions.
 */
export const TRIGGER_METRICS = {
  registrations: "edge_gateway_registrations_total",
  routed: "edge_gateway_routed_requests_total",
  workerSecondsSum: "edge_gateway_worker_call_seconds_sum",
  workerSecondsCount: "edge_gateway_worker_call_seconds_count",
} as const;

function failurePct(scrape: Scrape, name: string, what: string): Figure {
  const ok = sumSeries(scrape, name, { outcome: "ok" });
  const failed = sumSeries(scrape, name, { outcome: "failed" });
  if (ok === undefined && failed === undefined) {
    return { available: false, why: `not available: the gateway exports no ${name}` };
  }
  const total = (ok ?? 0) + (failed ?? 0);
  if (total === 0) return { available: false, why: `not available: no ${what} counted yet` };
  return { available: true, value: (100 * (failed ?? 0)) / total, unit: "%", basis: `${failed ?? 0} of ${total} ${what}` };
}

/** The three rollback-trigger figures from one scrape. */
export function triggerFigures(scrape: Scrape): TriggerFigures {
  const sum = sumSeries(scrape, TRIGGER_METRICS.workerSecondsSum);
  const count = sumSeries(scrape, TRIGGER_METRICS.workerSecondsCount);
  let addedLatencyMs: Figure;
  if (sum === undefined || count === undefined) {
    addedLatencyMs = { available: false, why: `not available: the gateway exports no ${TRIGGER_METRICS.workerSecondsSum}` };
  } else if (count === 0) {
    addedLatencyMs = { available: false, why: "not available: no worker decision timed yet" };
  } else {
    addedLatencyMs = { available: true, value: (1000 * sum) / count, unit: "ms", basis: `mean of ${count} worker decisions` };
  }
  return {
    registrationFailurePct: failurePct(scrape, TRIGGER_METRICS.registrations, "registrations"),
    routingFailurePct: failurePct(scrape, TRIGGER_METRICS.routed, "routed requests"),
    addedLatencyMs,
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
