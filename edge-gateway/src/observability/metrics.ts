/**
 * The gateway's metrics on a prom-client registry (one per gateway, never the global one: several gateways
 * in one process, as in the tests, keep their own). Call sites name a series and its labels; the series is
 * made on first use, with its help and label names from {@link DEFINITIONS} when it is listed there.
 *
 * Counters are plain numbers that prom-client reads at scrape time; histograms keep their prom-client child
 * per label set, found once. `get` / `value` (health, tests) read them synchronously.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { ADDED_LATENCY_BUCKETS, ROLLBACK_METRICS } from "../../../contract/metrics";

type Labels = Record<string, string | number>;

interface Definition {
  readonly help: string;
  readonly labels: readonly string[];
  /** Histograms only: bucket bounds in seconds. */
  readonly buckets?: readonly number[];
}

/**
 * Series whose label names differ between call sites (or that are histograms) must be listed: prom-client
 * fixes a metric's label names when it is made. Others may be listed for their help text.
 */
const DEFINITIONS: Readonly<Record<string, Definition>> = {
  [ROLLBACK_METRICS.registers]: { help: "Final responses to REGISTER sent to phones, by tenant and outcome (2xx, challenged, failed).", labels: ["tenant", "outcome"] },
  [ROLLBACK_METRICS.routed]: { help: "Final responses to other initial requests, by tenant and outcome (delivered, 404, 408_480, 5xx, refused).", labels: ["tenant", "outcome"] },
  [ROLLBACK_METRICS.addedLatency]: {
    help: "Seconds from an initial request's arrival to its relay (the worker's decision included), by tenant.",
    labels: ["tenant"],
    buckets: ADDED_LATENCY_BUCKETS,
  },
  edge_gateway_worker_call_seconds: { help: "Duration of the gateway's calls to the worker, by kind.", labels: ["kind"], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] },
  edge_gateway_retransmissions_absorbed_total: { help: "Retransmissions absorbed by a transaction or a pending 2xx decision.", labels: ["kind"] },
  edge_gateway_received_total: { help: "SIP messages received, by kind.", labels: ["kind"] },
  edge_gateway_sent_total: { help: "SIP messages sent, by kind.", labels: ["kind"] },
  edge_gateway_rejections_total: { help: "Requests rejected by the gateway or the worker, by reason.", labels: ["reason"] },
  edge_gateway_load_challenge_answers_total: { help: "Answers to a relayed 401/407 admitted while the load bound refused new requests.", labels: [] },
  edge_gateway_load_challenges_remembered: { help: "Relayed 401/407 challenges remembered so that their answers are admitted under load.", labels: [] },
  edge_gateway_dropped_total: { help: "Requests dropped without an answer, by reason.", labels: ["reason"] },
  edge_gateway_worker_calls_total: { help: "Calls to the worker, by kind.", labels: ["kind"] },
  edge_gateway_worker_failures_total: { help: "Failed calls to the worker, by reason.", labels: ["reason"] },
  edge_gateway_bad_messages_total: { help: "Unparseable datagrams, by the status they were answered with.", labels: ["status"] },
};

/**
 * A series' key within its metric. Most series have one label (kind, reason, status) and are counted per
 * datagram: that key is one string, built without an array of the keys; more labels are sorted first.
 */
const seriesKey = (labels: Labels): string => {
  let first: string | undefined;
  for (const k in labels) {
    if (first !== undefined) return sortedKey(labels);
    first = k;
  }
  return first === undefined ? "" : `${first}=${String(labels[first])}`;
};

const sortedKey = (labels: Labels): string =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}=${String(labels[k])}`)
    .join(",");

const stringLabels = (labels: Labels): Record<string, string> => Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)]));

/** One counter series: its labels and value, added to in place (prom-client reads it at scrape time). */
interface CounterSeries {
  readonly labels: Record<string, string>;
  value: number;
}

/** One histogram series: prom-client's child for its labels (found once), and its sum and count. */
interface HistogramSeries {
  readonly child: { observe(value: number): void };
  sum: number;
  count: number;
}

export class Metrics {
  /** The prom-client registry behind /metrics. */
  readonly registry = new Registry();
  /** Counter series by name, then by series key. */
  private readonly counters = new Map<string, Map<string, CounterSeries>>();
  private readonly histograms = new Map<string, { readonly metric: Histogram; readonly series: Map<string, HistogramSeries> }>();
  /** Series read at scrape time, by name: their readers by label set. */
  private readonly readers = new Map<string, Map<string, { labels: Record<string, string>; read: () => number }>>();

  /**
   * Adds `by` to the counter `name{labels}`. Per call: one series key and two map lookups; prom-client
   * builds its label hashes only at scrape time (its own `inc` did that on every call).
   */
  inc(name: string, labels: Labels = {}, by = 1): void {
    let series = this.counters.get(name);
    if (!series) {
      const own = new Map<string, CounterSeries>();
      series = own;
      this.counters.set(name, own);
      const def = DEFINITIONS[name];
      new Counter({
        name,
        help: def?.help ?? name,
        labelNames: [...(def?.labels ?? Object.keys(labels))],
        registers: [this.registry],
        collect(this: Counter) {
          this.reset();
          for (const s of own.values()) this.inc(s.labels, s.value);
        },
      });
    }
    const key = seriesKey(labels);
    const one = series.get(key);
    if (one) one.value += by;
    else series.set(key, { labels: stringLabels(labels), value: by });
  }

  /** Adds one observation to the histogram `name{labels}` (its buckets are in {@link DEFINITIONS}). */
  observe(name: string, labels: Labels, value: number): void {
    let histogram = this.histograms.get(name);
    if (!histogram) {
      const def = DEFINITIONS[name];
      const metric = new Histogram({
        name,
        help: def?.help ?? name,
        labelNames: [...(def?.labels ?? Object.keys(labels))],
        ...(def?.buckets ? { buckets: [...def.buckets] } : {}),
        registers: [this.registry],
      });
      histogram = { metric, series: new Map() };
      this.histograms.set(name, histogram);
    }
    const key = seriesKey(labels);
    let one = histogram.series.get(key);
    if (!one) {
      one = { child: histogram.metric.labels(stringLabels(labels)), sum: 0, count: 0 };
      histogram.series.set(key, one);
    }
    one.child.observe(value);
    one.sum += value;
    one.count++;
  }

  /**
   * Registers a series read at scrape time: a gauge, or a counter kept elsewhere as a plain number (the
   * per-datagram ingress counters, which would otherwise build a label key for every datagram of a flood).
   * A name ending in `_total` is exported as a counter. Every registration of one name must use the same
   * label names (the first one fixes them).
   */
  gauge(name: string, read: () => number, labels: Labels = {}): void {
    let series = this.readers.get(name);
    if (!series) {
      const own = new Map<string, { labels: Record<string, string>; read: () => number }>();
      series = own;
      this.readers.set(name, own);
      const config = { name, help: DEFINITIONS[name]?.help ?? name, labelNames: Object.keys(labels), registers: [this.registry] };
      if (name.endsWith("_total")) {
        new Counter({
          ...config,
          collect(this: Counter) {
            this.reset();
            for (const s of own.values()) this.inc(s.labels, Math.max(0, s.read()));
          },
        });
      } else {
        new Gauge({
          ...config,
          collect(this: Gauge) {
            this.reset();
            for (const s of own.values()) this.set(s.labels, s.read());
          },
        });
      }
    }
    series.set(seriesKey(labels), { labels: stringLabels(labels), read });
  }

  /** The current value of a counter, or of a histogram's `_sum` / `_count` (tests, health). */
  get(name: string, labels: Labels = {}): number {
    const counter = this.counters.get(name)?.get(seriesKey(labels));
    if (counter) return counter.value;
    const m = /^(.*)_(sum|count)$/.exec(name);
    const h = m ? this.histograms.get(m[1]!)?.series.get(seriesKey(labels)) : undefined;
    if (!h) return 0;
    return m![2] === "sum" ? h.sum : h.count;
  }

  /** The current value of a counter or of a series read at scrape time; 0 when unknown. */
  value(name: string, labels: Labels = {}): number {
    return this.readers.get(name)?.get(seriesKey(labels))?.read() ?? this.get(name, labels);
  }

  /** Prometheus exposition text. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content-Type of {@link render}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
