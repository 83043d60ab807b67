// edgectl rollback-check: the arithmetic over two samples (windows, thresholds, baselines, zero traffic)
// and the command's output and exit codes, with /metrics served from texts the test writes.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parsePrometheusText } from "../../contract/metrics";
import { main } from "../../cli/edgectl";
import { baselineOf, DEFAULT_THRESHOLDS, evaluate, parseBaseline } from "../../cli/rollback-check";
import type { Baseline } from "../../cli/rollback-check";

const REG = "edge_gateway_register_outcomes_total";
const ROUTED = "edge_gateway_routed_outcomes_total";
const LAT = "edge_gateway_added_latency_seconds";
const BOUNDS = ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "+Inf"];

interface Traffic {
  reg?: Record<string, Partial<Record<"2xx" | "challenged" | "failed" | "refused", number>>>;
  routed?: Record<string, Partial<Record<"delivered" | "404" | "408_480" | "5xx" | "refused", number>>>;
  /** Per tenant: the cumulative count at each bound of BOUNDS. */
  latency?: Record<string, number[]>;
}

/** Prometheus text as the gateway writes it. */
function text(t: Traffic): string {
  const lines: string[] = [];
  for (const [tenant, outcomes] of Object.entries(t.reg ?? {}))
    for (const [outcome, v] of Object.entries(outcomes)) lines.push(`${REG}{tenant="${tenant}",outcome="${outcome}"} ${v}`);
  for (const [tenant, outcomes] of Object.entries(t.routed ?? {}))
    for (const [outcome, v] of Object.entries(outcomes)) lines.push(`${ROUTED}{tenant="${tenant}",outcome="${outcome}"} ${v}`);
  for (const [tenant, counts] of Object.entries(t.latency ?? {})) {
    BOUNDS.forEach((le, i) => lines.push(`${LAT}_bucket{le="${le}",tenant="${tenant}"} ${counts[i]}`));
    lines.push(`${LAT}_count{tenant="${tenant}"} ${counts.at(-1)}`);
  }
  return lines.join("\n") + "\n";
}

const check = (before: Traffic, after: Traffic, baseline?: Baseline, thresholds = DEFAULT_THRESHOLDS) =>
  evaluate(parsePrometheusText(text(before)), parsePrometheusText(text(after)), 60, thresholds, baseline);

const baseline = (all: number | null, tenants: Record<string, number> = {}): Baseline => ({ version: 1, savedAt: "", windowS: 60, p99Ms: { all, tenants } });

describe("rollback-check arithmetic", () => {
  it("counts only the window: what happened before the first sample is not judged", () => {
    const r = check({ reg: { a: { "2xx": 100, failed: 50 } } }, { reg: { a: { "2xx": 200, failed: 51 } } });
    expect(r.rows.find((x) => x.tenant === "a")?.registration).toMatchObject({ failed: 1, total: 101, fired: false });
    expect(r.fired).toEqual([]);
  });

  it("challenges are neither success nor failure; policy refusals neither", () => {
    const r = check({}, { reg: { a: { "2xx": 19, challenged: 40, failed: 1, refused: 500 } } });
    expect(r.rows[0]?.registration.pct).toBeCloseTo(5);
  });

  it("per tenant and overall; a tenant above 5 % fires, exactly 5 % does not", () => {
    const r = check({}, { reg: { a: { "2xx": 95, failed: 5 }, b: { "2xx": 10, failed: 10 } } });
    const [all, a, b] = r.rows;
    expect([all?.tenant, a?.tenant, b?.tenant]).toEqual(["all", "a", "b"]);
    expect(a?.registration).toMatchObject({ pct: 5, fired: false });
    expect(b?.registration).toMatchObject({ pct: 50, fired: true });
    expect(all?.registration).toMatchObject({ failed: 15, total: 120, fired: true });
    expect(r.fired).toEqual(["overall: registration failures 12.5 % > 5 %", "tenant b: registration failures 50.0 % > 5 %"]);
  });

  it("routing failures: 404, 408/480 and 5xx over delivered plus those; refusals left out", () => {
    const r = check({}, { routed: { a: { delivered: 90, "404": 4, "408_480": 3, "5xx": 3, refused: 1000 } } });
    expect(r.rows[1]?.routing).toMatchObject({ failed: 10, total: 100, pct: 10, fired: true });
  });

  it("thresholds are configurable", () => {
    const r = check({}, { routed: { a: { delivered: 90, "404": 10 } } }, undefined, { ...DEFAULT_THRESHOLDS, routingFailurePct: 10 });
    expect(r.rows[1]?.routing.fired).toBe(false);
  });

  it("zero traffic in the window: no figure, nothing fires", () => {
    const same: Traffic = { reg: { a: { "2xx": 5, failed: 5 } }, routed: { a: { "404": 3 } }, latency: { a: [0, 0, 1, 1, 1, 1, 1] } };
    const r = check(same, same, baseline(0.1, { a: 0.1 }));
    expect(r.rows[1]).toMatchObject({ registration: { pct: undefined, fired: false }, routing: { pct: undefined }, latency: { p99Ms: undefined, fired: false } });
    expect(r.fired).toEqual([]);
    expect(check({}, {}).rows.map((x) => x.tenant)).toEqual(["all"]);
  });

  it("a gateway restarted within the window counts from zero (a counter that went down)", () => {
    const r = check({ reg: { a: { "2xx": 1000, failed: 0 } } }, { reg: { a: { "2xx": 3, failed: 1 } } });
    expect(r.rows[1]?.registration).toMatchObject({ failed: 1, total: 4 });
  });

  it("latency: the p99 from the window's buckets against the baseline, +20 % by default", () => {
    // 100 requests in the window, all within (2.5 ms, 5 ms]: p99 = 2.5 + 2.5 * 0.99 = 4.975 ms.
    const before: Traffic = { latency: { a: [10, 10, 10, 10, 10, 10, 10] } };
    const after: Traffic = { latency: { a: [10, 10, 110, 110, 110, 110, 110] } };
    const slow = check(before, after, baseline(4, { a: 4 }));
    expect(slow.rows[1]?.latency.p99Ms).toBeCloseTo(4.975);
    expect(slow.rows[1]?.latency.increasePct).toBeCloseTo(24.375);
    expect(slow.rows[1]?.latency.fired).toBe(true);
    expect(slow.fired[0]).toMatch(/^overall: added latency p99 4\.98 ms is \+24\.4 % over the baseline's 4\.00 ms/);
    const fine = check(before, after, baseline(4.5, { a: 4.5 }));
    expect(fine.rows[1]?.latency).toMatchObject({ fired: false });
    expect(fine.rows[1]?.latency.increasePct).toBeCloseTo(10.56, 1);
  });

  it("latency: no baseline, or none for this tenant, or a zero one: shown, not compared", () => {
    const after: Traffic = { latency: { a: [0, 0, 100, 100, 100, 100, 100] } };
    expect(check({}, after).rows[1]?.latency).toMatchObject({ baselineP99Ms: undefined, increasePct: undefined, fired: false });
    expect(check({}, after, baseline(1)).rows[1]?.latency).toMatchObject({ increasePct: undefined, fired: false });
    expect(check({}, after, baseline(1)).rows[0]?.latency.fired).toBe(true);
    expect(check({}, after, baseline(0, { a: 0 })).rows[1]?.latency.fired).toBe(false);
  });

  it("a quantile in the +Inf bucket is the highest finite bound", () => {
    const r = check({}, { latency: { a: [0, 0, 0, 0, 0, 0, 10] } });
    expect(r.rows[1]?.latency.p99Ms).toBeCloseTo(50);
  });

  it("a baseline saved from a report reads back; a file that is not one is refused", () => {
    const r = check({}, { latency: { a: [0, 100, 100, 100, 100, 100, 100], b: [0, 0, 0, 0, 0, 0, 0] } });
    const saved = baselineOf(r, new Date("2026-12-04T10:00:00Z"));
    // 100 in (1 ms, 2.5 ms]: p99 = 1 + 1.5 * 0.99 = 2.485 ms; b counted nothing and has no figure.
    expect(saved.p99Ms.tenants).toEqual({ a: expect.closeTo(2.485, 5) });
    expect(parseBaseline(JSON.parse(JSON.stringify(saved)), "x")).toEqual(saved);
    expect(() => parseBaseline({ version: 2 }, "x")).toThrow(/not a rollback-check baseline: version/);
    expect(() => parseBaseline({ version: 1, p99Ms: { all: "1", tenants: {} } }, "x")).toThrow(/p99Ms.all/);
  });
});

describe("edgectl rollback-check", () => {
  let dir = "";
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function run(argv: string[], samples: (string | Error)[]) {
    let stdout = "";
    let stderr = "";
    const urls: string[] = [];
    const slept: number[] = [];
    const code = await main(["rollback-check", ...argv], {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
      env: { EDGE_ADMIN_URL: "not a url" },
      fetch: async (url) => {
        urls.push(url);
        const s = samples.shift();
        if (s === undefined) throw new Error("no more samples");
        if (s instanceof Error) throw s;
        return new Response(s, { status: 200 });
      },
      sleep: async (ms) => void slept.push(ms),
    });
    return { code, stdout, stderr, urls, slept };
  }

  const quiet = text({ reg: { "tenant-a.example": { "2xx": 10 }, "tenant-b.example": { "2xx": 10 } } });
  const bFails = text({ reg: { "tenant-a.example": { "2xx": 20 }, "tenant-b.example": { "2xx": 10, failed: 10 } } });

  it("exits 7 when a trigger fires, naming the tenant; the window is waited between two samples of /metrics", async () => {
    const r = await run(["--metrics", "http://127.0.0.1:9060", "--window", "30"], [quiet, bFails]);
    expect(r.code).toBe(7);
    expect(r.urls).toEqual(["http://127.0.0.1:9060/metrics", "http://127.0.0.1:9060/metrics"]);
    expect(r.slept).toEqual([30_000]);
    expect(r.stdout).toMatch(/^tenant-a\.example +0\.0 % \(0\/10\) +ok /m);
    expect(r.stdout).toMatch(/^tenant-b\.example +100\.0 % \(10\/10\) +FIRED /m);
    expect(r.stdout).toContain("ROLLBACK TRIGGERS FIRED:\n  overall: registration failures 50.0 % > 5 %\n  tenant tenant-b.example: registration failures 100.0 % > 5 %\n");
  });

  it("exits 0 when nothing fired; --json for scripts; thresholds from the options", async () => {
    const r = await run(["--metrics", "http://127.0.0.1:9060/metrics", "--window", "1", "--json", "--max-registration-failures", "100"], [quiet, bFails]);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { fired: boolean; tenants: { tenant: string; registrationFailures: { pct: number; thresholdPct: number } }[] };
    expect(json.fired).toBe(false);
    expect(json.tenants.map((t) => [t.tenant, t.registrationFailures.pct, t.registrationFailures.thresholdPct])).toEqual([
      ["all", 50, 100],
      ["tenant-a.example", 0, 100],
      ["tenant-b.example", 100, 100],
    ]);
  });

  it("--save-baseline writes the window's p99, --baseline compares with it", async () => {
    dir = await mkdtemp(join(tmpdir(), "edgectl-rollback-"));
    const file = join(dir, "baseline.json");
    const lat = (n: number[]) => text({ latency: { "tenant-a.example": n } });
    const saved = await run(["--metrics", "http://gw/metrics", "--save-baseline", file], [lat([0, 0, 0, 0, 0, 0, 0]), lat([0, 100, 100, 100, 100, 100, 100])]);
    expect(saved.code).toBe(0);
    expect(saved.stderr).toContain(`baseline written to ${file}`);
    expect(JSON.parse(await readFile(file, "utf8"))).toMatchObject({ version: 1, windowS: 60, p99Ms: { tenants: { "tenant-a.example": expect.closeTo(2.485, 5) } } });
    const slower = await run(["--metrics", "http://gw/metrics", "--baseline", file], [lat([0, 0, 0, 0, 0, 0, 0]), lat([0, 0, 100, 100, 100, 100, 100])]);
    expect(slower.code).toBe(7);
    expect(slower.stdout).toMatch(/tenant tenant-a\.example: added latency p99 4\.98 ms is \+100\.2 % over the baseline's 2\.49 ms/);
  });

  it("usage errors exit 2 before any scrape: bad window, bad percentage, missing or broken baseline", async () => {
    for (const argv of [
      ["--metrics", "http://gw", "--window", "0"],
      ["--metrics", "http://gw", "--max-routing-failures", "-1"],
      ["--metrics", "ftp://gw"],
      ["--window", "5"],
      ["--metrics", "http://gw", "--baseline", "/nonexistent/edgectl-baseline.json"],
    ]) {
      const r = await run(argv, []);
      expect([argv.join(" "), r.code, r.urls]).toEqual([argv.join(" "), 2, []]);
    }
    dir ||= await mkdtemp(join(tmpdir(), "edgectl-rollback-"));
    await writeFile(join(dir, "bad.json"), "{}");
    const bad = await run(["--metrics", "http://gw", "--baseline", join(dir, "bad.json")], []);
    expect([bad.code, bad.stderr]).toEqual([2, `edgectl: baseline ${join(dir, "bad.json")} is not a rollback-check baseline: version is not 1\n`]);
  });

  it("an unreachable /metrics exits 5; an HTTP error exits 1", async () => {
    const down = await run(["--metrics", "http://127.0.0.1:9"], [new TypeError("fetch failed")]);
    expect([down.code, down.stderr]).toEqual([5, "edgectl: cannot reach the gateway metrics at http://127.0.0.1:9/metrics: connection failed\n"]);
    let stdout = "";
    const code = await main(["rollback-check", "--metrics", "http://gw"], {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: () => undefined },
      env: {},
      fetch: async () => new Response("no", { status: 503 }),
      sleep: async () => undefined,
    });
    expect([code, stdout]).toEqual([1, ""]);
  });
});
