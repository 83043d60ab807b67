/**
 * The rollback-trigger metrics: what the gateway exports on /metrics, and the arithmetic its readers (the
 * admin page in the worker, `edgectl rollback-check`) apply to it. One module, runtime-neutral, so that the
 * writer and the readers cannot disagree on a name, a label value or a formula (docs/migration.md,
 * "Rollback triggers").
 */

/** Metric names. */
export const ROLLBACK_METRICS = {
  /** Final responses to REGISTER sent to phones, by `tenant` and `outcome` ({@link RegisterOutcome}). */
  registers: "edge_gateway_register_outcomes_total",
  /** Final responses to other initial requests, by `tenant` and `outcome` ({@link RoutedOutcome}). */
  routed: "edge_gateway_routed_outcomes_total",
  /** Histogram (seconds) of arrival -> first relay of an initial request, by `tenant`. */
  addedLatency: "edge_gateway_added_latency_seconds",
} as const;

/** Label value of requests the worker attributed to no tenant (strangers, refusals, worker failures). */
export const NO_TENANT = "none";
/** Label value once the gateway has seen {@link MAX_TENANT_LABELS} tenants: the label set stays bounded. */
export const OTHER_TENANTS = "other";
/** At most this many distinct tenant label values per gateway process. */
export const MAX_TENANT_LABELS = 1000;

/**
 * REGISTER outcomes. "challenged" (401/407) is a step of a registration, neither success nor failure;
 * "refused" is a 3xx/4xx/6xx the edge wrote itself by policy (an unknown domain's 403, a 400, a 483): a
 * stranger's REGISTER, not a registration that broke. "failed" is everything else: a registrar's 403 or
 * 404, any 5xx (the worker unreachable, the Asterisk down: 408/503), a timeout.
 */
export type RegisterOutcome = "2xx" | "challenged" | "failed" | "refused";
/**
 * Outcomes of routed (non-REGISTER) initial requests: "delivered" is a 2xx or any other final answer from a
 * destination (486 Busy, 487, 603 ...); "refused" is a 3xx/4xx/6xx the edge wrote itself by policy (an
 * unknown source's 403, a 483, a 420) outside the failure classes; "404", "408_480" and "5xx" are the
 * failures, whoever wrote them (the worker's 404 for a user with no binding included).
 */
export type RoutedOutcome = "delivered" | "404" | "408_480" | "5xx" | "refused";
export const ROUTED_FAILURES: readonly RoutedOutcome[] = ["404", "408_480", "5xx"];

/** Buckets (seconds) of the added-latency histogram: 0.5 ms .. 5 s. */
export const ADDED_LATENCY_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** `local`: the edge (gateway or worker policy) wrote this response; it came from no registrar. */
export function registerOutcome(status: number, local: boolean): RegisterOutcome {
  if (status >= 200 && status < 300) return "2xx";
  if (status === 401 || status === 407) return "challenged";
  if (local && status < 500 && status !== 408) return "refused";
  return "failed";
}

/** `local`: the edge (gateway or worker policy) wrote this response; it came from no destination. */
export function routedOutcome(status: number, local: boolean): RoutedOutcome {
  if (status === 404) return "404";
  if (status === 408 || status === 480) return "408_480";
  if (status >= 500 && status < 600) return "5xx";
  if (status >= 300 && local) return "refused";
  return "delivered";
}

// ---- reading the Prometheus text ---------------------------------------------------------------------------

/** One sample: labels and value. */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}
/** Series of one scrape: metric name -> samples. */
export type Scrape = ReadonlyMap<string, readonly Sample[]>;

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/gy;

/** Parses the Prometheus text exposition format (samples only; comments and malformed lines are skipped). */
export function parsePrometheusText(text: string): Scrape {
  const out = new Map<string, Sample[]>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const [, name = "", labelText = "", valueText = ""] = m;
    const value = valueText === "+Inf" ? Infinity : Number(valueText);
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

/**
 * `after - before`, series by series (same name and labels). A series that went down (the gateway
 * restarted between the samples) counts from zero: its delta is its value after.
 */
export function deltaScrape(before: Scrape, after: Scrape): Scrape {
  const key = (labels: Readonly<Record<string, string>>): string =>
    Object.entries(labels)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join("\n");
  const out = new Map<string, Sample[]>();
  for (const [name, samples] of after) {
    const earlier = new Map((before.get(name) ?? []).map((s) => [key(s.labels), s.value]));
    out.set(
      name,
      samples.map((s) => {
        const b = earlier.get(key(s.labels)) ?? 0;
        return { labels: s.labels, value: s.value >= b ? s.value - b : s.value };
      }),
    );
  }
  return out;
}

/** Tenant label values present in a scrape's rollback-trigger series, sorted. */
export function tenantsOf(scrape: Scrape): string[] {
  const seen = new Set<string>();
  for (const name of [ROLLBACK_METRICS.registers, ROLLBACK_METRICS.routed, `${ROLLBACK_METRICS.addedLatency}_count`]) {
    for (const s of scrape.get(name) ?? []) if (s.labels["tenant"] !== undefined) seen.add(s.labels["tenant"]);
  }
  return [...seen].sort();
}

/** A failure ratio: `failed` of `total`; pct undefined when total is 0 (no traffic: nothing to judge). */
export interface FailureFigure {
  readonly failed: number;
  readonly total: number;
  readonly pct: number | undefined;
}

const ratio = (failed: number, total: number): FailureFigure => ({ failed, total, pct: total > 0 ? (100 * failed) / total : undefined });

/**
 * Registration failure %: failed / (2xx + failed). A challenge (401/407) is in neither: a 401 followed by a
 * 200 is one registration that worked, a 401 followed by a 403 one that failed. Policy refusals are in
 * neither either. `tenant` undefined: every tenant label, "none" included.
 */
export function registrationFailure(scrape: Scrape, tenant?: string): FailureFigure {
  const t: Record<string, string> = tenant === undefined ? {} : { tenant };
  const ok = sumSeries(scrape, ROLLBACK_METRICS.registers, { ...t, outcome: "2xx" }) ?? 0;
  const failed = sumSeries(scrape, ROLLBACK_METRICS.registers, { ...t, outcome: "failed" }) ?? 0;
  return ratio(failed, ok + failed);
}

/**
 * Routing failure %: (404 + 408/480 + 5xx) / (delivered + 404 + 408/480 + 5xx). Policy refusals are in
 * neither, as challenges are not for registrations: a scanner's INVITE refused 403 is the edge working.
 */
export function routingFailure(scrape: Scrape, tenant?: string): FailureFigure {
  const t: Record<string, string> = tenant === undefined ? {} : { tenant };
  const delivered = sumSeries(scrape, ROLLBACK_METRICS.routed, { ...t, outcome: "delivered" }) ?? 0;
  const failed = ROUTED_FAILURES.reduce((acc, outcome) => acc + (sumSeries(scrape, ROLLBACK_METRICS.routed, { ...t, outcome }) ?? 0), 0);
  return ratio(failed, delivered + failed);
}

/**
 * The q-quantile (0 < q < 1) of a histogram from its cumulative `_bucket` series, interpolated linearly
 * inside the bucket that holds it (as PromQL's histogram_quantile does; the first bucket starts at 0). A
 * quantile in the +Inf bucket is the highest finite bound. Undefined when the histogram counted nothing.
 */
export function histogramQuantile(scrape: Scrape, name: string, q: number, match: Readonly<Record<string, string>> = {}): number | undefined {
  const byBound = new Map<number, number>();
  for (const s of scrape.get(`${name}_bucket`) ?? []) {
    if (!Object.entries(match).every(([k, v]) => s.labels[k] === v)) continue;
    const le = s.labels["le"];
    if (le === undefined) continue;
    const bound = le === "+Inf" ? Infinity : Number(le);
    if (Number.isNaN(bound)) continue;
    byBound.set(bound, (byBound.get(bound) ?? 0) + s.value);
  }
  const buckets = [...byBound].sort(([a], [b]) => a - b);
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (bound === Infinity) return lowerBound;
      const inBucket = count - lowerCount;
      return inBucket <= 0 ? bound : lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}

/** p99 of the added latency in milliseconds, for one tenant or all. */
export function addedLatencyP99Ms(scrape: Scrape, tenant?: string): number | undefined {
  const s = histogramQuantile(scrape, ROLLBACK_METRICS.addedLatency, 0.99, tenant === undefined ? {} : { tenant });
  return s === undefined ? undefined : s * 1000;
}
