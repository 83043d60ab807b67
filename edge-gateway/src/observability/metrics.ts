/** Counters and gauges in the Prometheus text format, for the gateway's local metrics endpoint. */

export class Metrics {
  private readonly counters = new Map<string, number>();
  private readonly gauges = new Map<string, () => number>();

  /** Adds `by` to the counter `name{labels}`. */
  inc(name: string, labels: Record<string, string | number> = {}, by = 1): void {
    const key = Metrics.key(name, labels);
    this.counters.set(key, (this.counters.get(key) ?? 0) + by);
  }

  /**
   * Registers a series read at scrape time: a gauge, or a counter kept elsewhere as a plain number (the
   * per-datagram ingress counters, which would otherwise build a label key for every datagram of a flood).
   */
  gauge(name: string, read: () => number, labels: Record<string, string | number> = {}): void {
    this.gauges.set(Metrics.key(name, labels), read);
  }

  /** The current value of a counter (tests, health). */
  get(name: string, labels: Record<string, string | number> = {}): number {
    return this.counters.get(Metrics.key(name, labels)) ?? 0;
  }

  /** The current value of a counter or of a series read at scrape time; 0 when unknown. */
  value(name: string, labels: Record<string, string | number> = {}): number {
    const key = Metrics.key(name, labels);
    return this.gauges.get(key)?.() ?? this.counters.get(key) ?? 0;
  }

  /** Prometheus exposition text. */
  render(): string {
    const lines: string[] = [];
    for (const [k, v] of [...this.counters].sort(([a], [b]) => a.localeCompare(b))) lines.push(`${k} ${v}`);
    for (const [k, read] of this.gauges) lines.push(`${k} ${read()}`);
    return lines.join("\n") + "\n";
  }

  private static key(name: string, labels: Record<string, string | number>): string {
    const entries = Object.entries(labels);
    if (entries.length === 0) return name;
    return `${name}{${entries.map(([k, v]) => `${k}="${String(v).replace(/["\\\n]/g, "_")}"`).join(",")}}`;
  }
}
