/** Counters and gauges in the Prometheus text format, for the gateway's local metrics endpoint. */

export class Metrics {
  private readonly counters = new Map<string, number>();
  private readonly gauges = new Map<string, () => number>();

  /** Adds `by` to the counter `name{labels}`. */
  inc(name: string, labels: Record<string, string | number> = {}, by = 1): void {
    const key = Metrics.key(name, labels);
    this.counters.set(key, (this.counters.get(key) ?? 0) + by);
  }

  /** Registers a gauge read at scrape time. */
  gauge(name: string, read: () => number): void {
    this.gauges.set(name, read);
  }

  /** The current value of a counter (tests, health). */
  get(name: string, labels: Record<string, string | number> = {}): number {
    return this.counters.get(Metrics.key(name, labels)) ?? 0;
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
