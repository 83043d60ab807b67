/**
 * `edgectl rollback-check`: the cut-over's rollback triggers from two samples of the gateway's /metrics,
 * `--window` seconds apart. Per tenant and overall: the registration failure %, the routing failure %, and
 * the added-latency p99 against a saved baseline, each compared with its threshold. The formulas are
 * contract/metrics.ts's (docs/migration.md, "Rollback triggers"); this file adds the window, the baseline
 * file and the output.
 */
import { readFile, writeFile } from "node:fs/promises";
import {
  addedLatencyP99Ms,
  deltaScrape,
  parsePrometheusText,
  registrationFailure,
  routingFailure,
  tenantsOf,
} from "../contract/metrics";
import type { FailureFigure, Scrape } from "../contract/metrics";
import type { FetchLike } from "./admin-client";
import { cell, formatJson, renderTable } from "./format";

export const DEFAULT_WINDOW_S = 60;
export const DEFAULT_THRESHOLDS: Thresholds = { registrationFailurePct: 5, routingFailurePct: 5, latencyIncreasePct: 20 };
/** Bound on one scrape of /metrics. */
export const SCRAPE_TIMEOUT_MS = 5000;
/** Row name of the figures over every tenant label ("none" included). */
export const ALL = "all";

export interface Thresholds {
  /** A trigger fires when the figure is above (strictly) its threshold. */
  readonly registrationFailurePct: number;
  readonly routingFailurePct: number;
  /** p99 increase over the baseline's, in % of the baseline's. */
  readonly latencyIncreasePct: number;
}

/** A saved baseline: the added-latency p99 (ms) overall and per tenant, from one window. */
export interface Baseline {
  readonly version: 1;
  readonly savedAt: string;
  readonly windowS: number;
  readonly p99Ms: { readonly [ALL]: number | null; readonly tenants: Readonly<Record<string, number>> };
}

export interface RateCheck extends FailureFigure {
  readonly thresholdPct: number;
  readonly fired: boolean;
}

export interface LatencyCheck {
  readonly p99Ms: number | undefined;
  readonly baselineP99Ms: number | undefined;
  /** (p99 - baseline) / baseline, in %; undefined without both figures (or a zero baseline). */
  readonly increasePct: number | undefined;
  readonly thresholdPct: number;
  readonly fired: boolean;
}

export interface TenantReport {
  readonly tenant: string;
  readonly registration: RateCheck;
  readonly routing: RateCheck;
  readonly latency: LatencyCheck;
}

export interface Report {
  readonly windowS: number;
  /** "all" first, then each tenant label seen in the window, sorted. */
  readonly rows: readonly TenantReport[];
  /** One line per trigger that fired. */
  readonly fired: readonly string[];
}

/** Thrown for a problem the operator fixes locally (a baseline file that is missing or not one). */
export class RollbackCheckInputError extends Error {
  override readonly name = "RollbackCheckInputError";
}

/** The metrics endpoint did not answer, or answered an error. */
export class MetricsUnreachableError extends Error {
  override readonly name = "MetricsUnreachableError";
  constructor(
    readonly url: string,
    readonly reason: string,
    /** False when it answered, with an HTTP error. */
    readonly unreachable: boolean,
  ) {
    super(`${url}: ${reason}`);
  }
}

function rate(figure: FailureFigure, thresholdPct: number): RateCheck {
  return { ...figure, thresholdPct, fired: figure.pct !== undefined && figure.pct > thresholdPct };
}

function latency(p99Ms: number | undefined, baselineP99Ms: number | undefined, thresholdPct: number): LatencyCheck {
  const increasePct = p99Ms !== undefined && baselineP99Ms !== undefined && baselineP99Ms > 0 ? (100 * (p99Ms - baselineP99Ms)) / baselineP99Ms : undefined;
  return { p99Ms, baselineP99Ms, increasePct, thresholdPct, fired: increasePct !== undefined && increasePct > thresholdPct };
}

/**
 * The report of one window: `before` and `after` are the two scrapes. Zero traffic in the window gives no
 * figure and fires nothing.
 */
export function evaluate(before: Scrape, after: Scrape, windowS: number, thresholds: Thresholds, baseline?: Baseline): Report {
  const window = deltaScrape(before, after);
  const row = (tenant: string): TenantReport => {
    const t = tenant === ALL ? undefined : tenant;
    const base = baseline ? (t === undefined ? baseline.p99Ms[ALL] ?? undefined : baseline.p99Ms.tenants[t]) : undefined;
    return {
      tenant,
      registration: rate(registrationFailure(window, t), thresholds.registrationFailurePct),
      routing: rate(routingFailure(window, t), thresholds.routingFailurePct),
      latency: latency(addedLatencyP99Ms(window, t), base, thresholds.latencyIncreasePct),
    };
  };
  const rows = [row(ALL), ...tenantsOf(window).map(row)];
  const fired: string[] = [];
  for (const r of rows) {
    const who = r.tenant === ALL ? "overall" : `tenant ${r.tenant}`;
    if (r.registration.fired) fired.push(`${who}: registration failures ${pct(r.registration.pct)} > ${r.registration.thresholdPct} %`);
    if (r.routing.fired) fired.push(`${who}: routing failures ${pct(r.routing.pct)} > ${r.routing.thresholdPct} %`);
    if (r.latency.fired) fired.push(`${who}: added latency p99 ${ms(r.latency.p99Ms)} is ${signed(r.latency.increasePct)} over the baseline's ${ms(r.latency.baselineP99Ms)} (> +${r.latency.thresholdPct} %)`);
  }
  return { windowS, rows, fired };
}

/** The baseline of a window's latency figures. */
export function baselineOf(report: Report, savedAt: Date): Baseline {
  const tenants: Record<string, number> = {};
  let all: number | null = null;
  for (const r of report.rows) {
    if (r.latency.p99Ms === undefined) continue;
    if (r.tenant === ALL) all = r.latency.p99Ms;
    else tenants[r.tenant] = r.latency.p99Ms;
  }
  return { version: 1, savedAt: savedAt.toISOString(), windowS: report.windowS, p99Ms: { [ALL]: all, tenants } };
}

/** Checks that parsed JSON is a baseline file. */
export function parseBaseline(value: unknown, path: string): Baseline {
  const bad = (why: string) => new RollbackCheckInputError(`baseline ${path} is not a rollback-check baseline: ${why}`);
  if (typeof value !== "object" || value === null) throw bad("not a JSON object");
  const v = value as Record<string, unknown>;
  if (v["version"] !== 1) throw bad("version is not 1");
  const p = v["p99Ms"] as Record<string, unknown> | undefined;
  if (typeof p !== "object" || p === null) throw bad("no p99Ms");
  const all = p[ALL];
  if (all !== null && (typeof all !== "number" || !(all >= 0))) throw bad(`p99Ms.${ALL} is not a number or null`);
  const tenants = p["tenants"];
  if (typeof tenants !== "object" || tenants === null) throw bad("no p99Ms.tenants");
  for (const [k, x] of Object.entries(tenants)) if (typeof x !== "number" || !(x >= 0)) throw bad(`p99Ms.tenants.${k} is not a number`);
  return {
    version: 1,
    savedAt: typeof v["savedAt"] === "string" ? v["savedAt"] : "",
    windowS: typeof v["windowS"] === "number" ? v["windowS"] : 0,
    p99Ms: { [ALL]: all as number | null, tenants: tenants as Record<string, number> },
  };
}

export async function readBaseline(path: string): Promise<Baseline> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new RollbackCheckInputError(`cannot read baseline ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RollbackCheckInputError(`baseline ${path} is not JSON`);
  }
  return parseBaseline(json, path);
}

export async function writeBaseline(path: string, baseline: Baseline): Promise<void> {
  try {
    await writeFile(path, formatJson(baseline));
  } catch (err) {
    throw new RollbackCheckInputError(`cannot write baseline ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** One scrape of the gateway's /metrics. */
export async function scrape(url: string, fetchFn: FetchLike): Promise<Scrape> {
  let res: Response;
  try {
    res = await fetchFn(url, { headers: { accept: "text/plain" }, signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
  } catch (err) {
    const name = err instanceof Error ? err.name : "";
    throw new MetricsUnreachableError(url, name === "TimeoutError" || name === "AbortError" ? `no answer within ${SCRAPE_TIMEOUT_MS / 1000} s` : "connection failed", true);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new MetricsUnreachableError(url, `HTTP ${res.status}`, false);
  }
  return parsePrometheusText(await res.text());
}

const pct = (v: number | undefined): string => (v === undefined ? "n/a" : `${v.toFixed(1)} %`);
const ms = (v: number | undefined): string => (v === undefined ? "n/a" : `${v.toFixed(2)} ms`);
const signed = (v: number | undefined): string => (v === undefined ? "n/a" : `${v >= 0 ? "+" : ""}${v.toFixed(1)} %`);
const verdict = (fired: boolean, known: boolean): string => (fired ? "FIRED" : known ? "ok" : "-");

/** The report as a table for people. */
export function formatReport(report: Report, source: { url: string; baseline?: string | undefined }): string {
  const rows = report.rows.map((r) => [
    cell(r.tenant),
    `${pct(r.registration.pct)} (${r.registration.failed}/${r.registration.total})`,
    verdict(r.registration.fired, r.registration.pct !== undefined),
    `${pct(r.routing.pct)} (${r.routing.failed}/${r.routing.total})`,
    verdict(r.routing.fired, r.routing.pct !== undefined),
    ms(r.latency.p99Ms),
    r.latency.baselineP99Ms === undefined ? "-" : `${ms(r.latency.baselineP99Ms)} (${signed(r.latency.increasePct)})`,
    verdict(r.latency.fired, r.latency.increasePct !== undefined),
  ]);
  const thresholds = report.rows[0]!;
  const lines = [
    `window ${report.windowS} s of ${cell(source.url)}; thresholds: registration failures > ${thresholds.registration.thresholdPct} %, ` +
      `routing failures > ${thresholds.routing.thresholdPct} %, added latency p99 > +${thresholds.latency.thresholdPct} % ` +
      (source.baseline ? `over baseline ${cell(source.baseline)}` : "(no baseline: latency not compared)"),
    "",
    renderTable(["TENANT", "REG FAILURES", "", "ROUTING FAILURES", "", "LATENCY P99", "BASELINE", ""], rows).trimEnd(),
    "",
    report.fired.length === 0 ? "no rollback trigger fired" : `ROLLBACK TRIGGERS FIRED:\n${report.fired.map((f) => `  ${cell(f)}`).join("\n")}`,
    "",
  ];
  return lines.join("\n");
}

/** The report for scripts. */
export function reportJson(report: Report): unknown {
  const n = (v: number | undefined): number | null => (v === undefined ? null : v);
  return {
    windowS: report.windowS,
    fired: report.fired.length > 0,
    triggers: report.fired,
    tenants: report.rows.map((r) => ({
      tenant: r.tenant,
      registrationFailures: { pct: n(r.registration.pct), failed: r.registration.failed, total: r.registration.total, thresholdPct: r.registration.thresholdPct, fired: r.registration.fired },
      routingFailures: { pct: n(r.routing.pct), failed: r.routing.failed, total: r.routing.total, thresholdPct: r.routing.thresholdPct, fired: r.routing.fired },
      addedLatencyP99: { ms: n(r.latency.p99Ms), baselineMs: n(r.latency.baselineP99Ms), increasePct: n(r.latency.increasePct), thresholdPct: r.latency.thresholdPct, fired: r.latency.fired },
    })),
  };
}

/** The `/metrics` URL: a bare origin gets `/metrics`. */
export function metricsUrl(text: string): string {
  const u = new URL(text);
  if (u.pathname === "/" || u.pathname === "") u.pathname = "/metrics";
  return u.toString();
}

export interface RollbackCheckCommand {
  readonly metrics: string;
  readonly windowS: number;
  readonly baseline?: string;
  readonly saveBaseline?: string;
  readonly thresholds: Thresholds;
  readonly json: boolean;
}

/**
 * Runs the check: scrape, wait the window, scrape, compare. Resolves to the report (the caller prints it
 * and chooses the exit code); throws {@link MetricsUnreachableError} or {@link RollbackCheckInputError}.
 */
export async function rollbackCheck(
  command: RollbackCheckCommand,
  io: { fetch: FetchLike; sleep: (ms: number) => Promise<void>; now: () => Date },
): Promise<Report> {
  // The baseline is read first: a typo in its path should not cost a whole window.
  const baseline = command.baseline === undefined ? undefined : await readBaseline(command.baseline);
  const first = await scrape(command.metrics, io.fetch);
  await io.sleep(command.windowS * 1000);
  const second = await scrape(command.metrics, io.fetch);
  const report = evaluate(first, second, command.windowS, command.thresholds, baseline);
  if (command.saveBaseline !== undefined) await writeBaseline(command.saveBaseline, baselineOf(report, io.now()));
  return report;
}
