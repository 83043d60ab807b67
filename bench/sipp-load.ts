/**
 * One fixed-rate sipp load step, run with the options the Kamailio lab's bench.sh used (-r RATE
 * -m RATE*DUR, big socket buffers, -max_recv_loops/-max_sched_loops 10000, -trace_stat), plus a free control
 * port (-cp) and, by default, -trace_msg: sipp's message trace has microsecond timestamps, while its
 * -trace_rtt response times are whole milliseconds (at 100/s on loopback they are all 0), too coarse for the
 * sub-millisecond differences being compared. With tracing off the percentiles fall back to -trace_rtt.
 */
import { createReadStream } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import {
  findExecutable,
  findFreeUdpPort,
  startProcess,
  TIMED_OUT,
  waitAtMost,
  waitForUdpPortFree,
} from "../test/support/processes";
import { reapedChildrenCpuSeconds } from "./procs";

export interface LoadSpec {
  /** Directory name of this step (under `parentDir`). */
  readonly label: string;
  readonly parentDir: string;
  readonly scenario: string;
  /** `ip:port` sipp sends to. */
  readonly target: string;
  readonly bindIp: string;
  readonly bindPort: number;
  /** Calls (transactions) per second. */
  readonly rate: number;
  /** Total calls (-m). */
  readonly calls: number;
  readonly service?: string;
  readonly keys?: Readonly<Record<string, string>>;
  /** -trace_msg (microsecond latencies); otherwise -trace_rtt only. */
  readonly traceMsg: boolean;
  /** Keep the message trace after it has been read. */
  readonly keepTrace: boolean;
  /** -timeout (s): sipp's own bound on the whole step. */
  readonly timeoutSec: number;
  /** -recv_timeout (ms): a call failing for want of its response. */
  readonly recvTimeoutMs?: number;
}

export interface LoadResult {
  readonly dir: string;
  readonly exitCode: number | null;
  /** sipp's OutgoingCall / SuccessfulCall / FailedCall / Retransmissions counters (cumulative). */
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  readonly retrans: number;
  /** Wall time of the sipp run, seconds. */
  readonly wallSec: number;
  /** Completed calls per second over the window from the first request sent to the last final response. */
  readonly achieved: number;
  /** Response time percentiles in ms: first transmission of the request to the final 2xx. */
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly maxMs: number | undefined;
  readonly latencySource: "msg" | "rtt" | "none";
  /** CPU seconds (user+system) of the sipp client. */
  readonly sippCpuSec: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/** Last row of sipp's -trace_stat CSV as column -> value. */
async function lastStatRow(file: string): Promise<Map<string, string>> {
  const text = await readFile(file, "utf8").catch(() => "");
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const head = (lines[0] ?? "").split(";");
  const last = (lines[lines.length - 1] ?? "").split(";");
  const out = new Map<string, string>();
  if (lines.length < 2) return out;
  head.forEach((h, i) => out.set(h, last[i] ?? ""));
  return out;
}

/** "2026-11-26 10:11:08.026031" -> microseconds (local wall clock; only differences are used). */
function traceTimeUs(s: string): number | undefined {
  const m = /(\d{4})-(\d{2})-(\d{2})\s+(\d{2}):(\d{2}):(\d{2})\.(\d{1,6})/.exec(s);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return ms * 1000 + Number(m[7]!.padEnd(6, "0"));
}

interface TraceTimes {
  /** Per call: response time in µs, first request sent -> first final 2xx received. */
  readonly latenciesUs: number[];
  readonly firstSendUs: number | undefined;
  readonly lastFinalUs: number | undefined;
}

/** Reads a sipp -trace_msg file (UDP) and pairs each call's first request with its first final response. */
export async function readTraceTimes(file: string): Promise<TraceTimes> {
  const firstSent = new Map<string, number>();
  const finals = new Map<string, number>();
  let firstSendUs: number | undefined;
  let lastFinalUs: number | undefined;
  let ts: number | undefined;
  let dir: "sent" | "received" | undefined;
  let startLine: string | undefined;
  let expectStart = false;
  const finish = (callId: string): void => {
    if (ts === undefined || dir === undefined || startLine === undefined) return;
    if (dir === "sent" && !startLine.startsWith("SIP/2.0")) {
      if (!firstSent.has(callId)) firstSent.set(callId, ts);
      if (firstSendUs === undefined || ts < firstSendUs) firstSendUs = ts;
    } else if (dir === "received" && startLine.startsWith("SIP/2.0")) {
      const status = Number(startLine.split(" ")[1]);
      if (status >= 200 && status < 300 && !finals.has(callId)) {
        finals.set(callId, ts);
        if (lastFinalUs === undefined || ts > lastFinalUs) lastFinalUs = ts;
      }
    }
  };
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.startsWith("----------------------------------------------- ")) {
      ts = traceTimeUs(line);
      dir = undefined;
      startLine = undefined;
      continue;
    }
    if (dir === undefined) {
      if (/message sent/.test(line)) dir = "sent";
      else if (/message received/.test(line)) dir = "received";
      expectStart = dir !== undefined;
      continue;
    }
    if (expectStart) {
      if (line.trim() === "") continue;
      startLine = line.trim();
      expectStart = false;
      continue;
    }
    const cid = /^(?:Call-ID|i)\s*:\s*(\S+)/i.exec(line);
    if (cid) finish(cid[1]!);
  }
  const latenciesUs: number[] = [];
  for (const [callId, end] of finals) {
    const start = firstSent.get(callId);
    if (start !== undefined) latenciesUs.push(end - start);
  }
  latenciesUs.sort((a, b) => a - b);
  return { latenciesUs, firstSendUs, lastFinalUs };
}

/** sipp's -trace_rtt CSV (whole ms): the response times, ascending. */
async function readRtt(dir: string): Promise<number[]> {
  const file = (await readdir(dir)).find((f) => f.endsWith("_rtt.csv"));
  if (!file) return [];
  const text = await readFile(path.join(dir, file), "utf8");
  const out: number[] = [];
  for (const line of text.split("\n").slice(1)) {
    const v = line.split(";")[1];
    if (v !== undefined && v !== "") out.push(Number(v));
  }
  return out.sort((a, b) => a - b);
}

/** Runs one load step to completion and reads what it measured. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const sipp = findExecutable("sipp", "sip-tester");
  const dir = path.join(spec.parentDir, spec.label);
  await mkdir(dir, { recursive: true });
  await waitForUdpPortFree(spec.bindIp, spec.bindPort, { timeoutMs: 5000 });
  const msgFile = path.join(dir, "messages.log");
  const args = [
    spec.target,
    "-sf", spec.scenario,
    "-i", spec.bindIp,
    "-p", String(spec.bindPort),
    "-r", String(spec.rate),
    "-m", String(spec.calls),
    "-nostdin",
    // A call that ends on an unexpected response (the 503 of an overload bound) is counted failed and left
    // there, as a phone leaves a refused REGISTER: by default sipp would also send a BYE with the 503's To
    // tag, an in-dialog request the proxy must read and refuse (404), which doubled every refusal's cost.
    "-default_behaviors", "all,-bye",
    "-cp", String(await findFreeUdpPort()),
    "-timeout", String(spec.timeoutSec),
    "-recv_timeout", String(spec.recvTimeoutMs ?? 8000),
    "-max_recv_loops", "10000",
    "-max_sched_loops", "10000",
    "-buff_size", "8388608",
    "-trace_stat", "-stf", path.join(dir, "stat.csv"), "-fd", "1",
    "-trace_rtt", "-rtt_freq", "500",
    "-trace_err", "-error_file", path.join(dir, "errors.log"),
  ];
  if (spec.traceMsg) args.push("-trace_msg", "-message_file", msgFile);
  if (spec.service !== undefined) args.push("-s", spec.service);
  for (const [k, v] of Object.entries(spec.keys ?? {})) args.push("-key", k, v);

  const cpu0 = reapedChildrenCpuSeconds();
  const t0 = performance.now();
  const proc = startProcess({ name: "sipp", command: sipp, args, logDir: dir, cwd: dir });
  if ((await waitAtMost(proc.exited, (spec.timeoutSec + 20) * 1000)) === TIMED_OUT) await proc.stop({ graceMs: 2000 });
  const exit = await proc.exited;
  const wallSec = (performance.now() - t0) / 1000;
  const sippCpuSec = reapedChildrenCpuSeconds() - cpu0;

  const stat = await lastStatRow(path.join(dir, "stat.csv"));
  const n = (k: string): number => Number(stat.get(k) ?? 0) || 0;
  const ok = n("SuccessfulCall(C)");
  let latencies: number[] = [];
  let source: LoadResult["latencySource"] = "none";
  let window = wallSec;
  if (spec.traceMsg) {
    const t = await readTraceTimes(msgFile).catch(() => undefined);
    if (t && t.latenciesUs.length > 0) {
      latencies = t.latenciesUs.map((us) => us / 1000);
      source = "msg";
      if (t.firstSendUs !== undefined && t.lastFinalUs !== undefined && t.lastFinalUs > t.firstSendUs) {
        window = (t.lastFinalUs - t.firstSendUs) / 1e6;
      }
    }
    if (!spec.keepTrace) await rm(msgFile, { force: true });
  }
  if (source === "none") {
    latencies = await readRtt(dir);
    if (latencies.length > 0) source = "rtt";
  }
  return {
    dir,
    exitCode: exit.code,
    sent: n("OutgoingCall(C)"),
    ok,
    failed: n("FailedCall(C)"),
    retrans: n("Retransmissions(C)"),
    wallSec,
    achieved: window > 0 ? ok / window : 0,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: percentile(latencies, 100),
    latencySource: source,
    sippCpuSec,
  };
}
