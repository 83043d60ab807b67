/**
 * Quick, bounded comparison of the two runtimes (EDGE_RUNTIME=workers | node) with sipp, on this repo's own
 * scenarios (bench/scenarios): REGISTER (saved on the registrar's 200: two decisions and one store write
 * each) and routed OPTIONS (Asterisk -> gateway -> the phone's binding: one decision and one store read each)
 * at 100/s for 10 s, then a short capacity probe per rate. The stack runs in this process as `npm start`
 * runs it; sipp plays the phones, the registrar and the phone answering OPTIONS.
 *
 *   npx tsx bench/runtimes.ts [workers|node ...] [--steady]   (addresses 127.0.60.x; about 90 s per runtime)
 *
 * The last column is the event loop delay of this process (the gateway's loop) during the step: what a SIP
 * timer or retransmission waited at worst.
 */
import { mkdirSync, mkdtempSync, createWriteStream } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { createLogger } from "../edge-gateway/src/observability/logger";
import type { EdgeRuntime } from "../node-runtime/runtime";
import { startLocalStack } from "../scripts/local-stack";
import { findExecutable, findFreeUdpPort, startProcess, waitForUdpPort, type ManagedProcess } from "../test/support/processes";
import { runLoad, type LoadResult } from "./sipp-load";

const SCN = path.join(path.dirname(fileURLToPath(import.meta.url)), "scenarios");
const GW = { ip: "127.0.60.1", port: 5060 };
const REGISTRAR = { ip: "127.0.60.11", port: 5080 };
const PHONE = { ip: "127.0.60.21", port: 5070 };
const LOADER = "127.0.60.31";
const DOMAIN = "bench-a.example";
const STEADY = { rate: 100, seconds: 10 };
const PROBE_RATES = [400, 800, 1600];
const PROBE_SECONDS = 3;
/** `--steady`: only the 100/s runs. */
const steadyOnly = process.argv.includes("--steady");

async function uas(dir: string, scenario: string, at: { ip: string; port: number }): Promise<ManagedProcess> {
  const proc = startProcess({
    name: path.basename(scenario, ".xml"),
    command: findExecutable("sipp", "sip-tester"),
    args: ["-sf", path.join(SCN, scenario), "-i", at.ip, "-p", String(at.port), "-nostdin", "-cp", String(await findFreeUdpPort()),
      "-buff_size", "8388608", "-max_recv_loops", "10000", "-timeout", "900"],
    logDir: dir,
  });
  await waitForUdpPort(at.ip, at.port, { timeoutMs: 5000, process: proc });
  return proc;
}

function row(runtime: string, what: string, r: LoadResult, loop: string): string {
  const f = (v: number | undefined): string => (v === undefined ? "-" : v.toFixed(2));
  return `| ${runtime} | ${what} | ${r.ok}/${r.sent} | ${r.failed} | ${r.retrans} | ${r.achieved.toFixed(0)} | ${f(r.p50Ms)} | ${f(r.p99Ms)} | ${f(r.maxMs)} | ${loop} |`;
}

/** Runs `fn` while sampling this process's event loop delay (the gateway's loop: the stack runs here). */
async function withLoopDelay<T>(fn: () => Promise<T>): Promise<[T, string]> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  try {
    const r = await fn();
    return [r, `${(h.percentile(99) / 1e6).toFixed(1)} / ${(h.max / 1e6).toFixed(1)}`];
  } finally {
    h.disable();
  }
}

async function measure(runtime: EdgeRuntime): Promise<string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), `edge-bench-${runtime}-`));
  const gatewayLog = createWriteStream(path.join(dir, "gateway.log"));
  const workerLog = createWriteStream(path.join(dir, "worker.log"));
  const stack = await startLocalStack({
    runtime,
    dbFile: path.join(dir, "store.db"),
    sipListen: GW,
    logLevel: "warn",
    logger: createLogger("warn", (l) => gatewayLog.write(l + "\n")),
    workerLog: (l) => workerLog.write(l + "\n"),
    workerVars: { TENANT_CACHE_TTL_MS: "5000" },
  });
  const procs: ManagedProcess[] = [];
  const rows: string[] = [];
  try {
    const res = await fetch(`${stack.workerUrl}/admin/v1/tenants`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ domain: DOMAIN, destinations: [`sip:${REGISTRAR.ip}:${REGISTRAR.port}`] }),
    });
    if (res.status !== 201) throw new Error(`tenant: ${res.status}`);
    procs.push(await uas(dir, "registrar-uas-200.xml", REGISTRAR));
    const load = (label: string, scenario: string, rate: number, seconds: number, bind: { ip: string; port: number }, service: string, traceMsg: boolean) =>
      runLoad({
        label, parentDir: dir, scenario: path.join(SCN, scenario), target: `${GW.ip}:${GW.port}`, bindIp: bind.ip, bindPort: bind.port,
        rate, calls: rate * seconds, service, keys: { domain: DOMAIN, contact: `${bind.ip}:${bind.port}` }, traceMsg, keepTrace: false,
        timeoutSec: seconds + 30, recvTimeoutMs: 4000,
      });
    // The phone that answers OPTIONS registers from its own address first (so its binding has no NAT `received`).
    const phoneReg = await load("phone-register", "phone-register-noauth.xml", 1, 1, PHONE, "p", false);
    if (phoneReg.ok !== 1) throw new Error(`phone registration failed: see ${phoneReg.dir}`);
    procs.push(await uas(dir, "phone-uas-options.xml", PHONE));
    const pbx = { ip: REGISTRAR.ip, port: 5071 };
    rows.push(row(runtime, `REGISTER ${STEADY.rate}/s`, ...(await withLoopDelay(() => load("reg-steady", "phone-register-noauth.xml", STEADY.rate, STEADY.seconds, { ip: LOADER, port: 5070 }, "s", true)))));
    rows.push(row(runtime, `routed OPTIONS ${STEADY.rate}/s`, ...(await withLoopDelay(() => load("opt-steady", "pbx-options.xml", STEADY.rate, STEADY.seconds, pbx, "p1", true)))));
    for (const rate of steadyOnly ? [] : PROBE_RATES) {
      rows.push(row(runtime, `REGISTER ${rate}/s probe`, ...(await withLoopDelay(() => load(`reg-${rate}`, "phone-register-noauth.xml", rate, PROBE_SECONDS, { ip: LOADER, port: 5070 }, `c${rate}x`, false)))));
      rows.push(row(runtime, `routed OPTIONS ${rate}/s probe`, ...(await withLoopDelay(() => load(`opt-${rate}`, "pbx-options.xml", rate, PROBE_SECONDS, pbx, "p1", false)))));
    }
  } finally {
    for (const p of procs) await p.stop({ graceMs: 1000 });
    await stack.close();
  }
  console.error(`${runtime}: work files in ${dir}`);
  return rows;
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a): a is EdgeRuntime => a === "workers" || a === "node");
  const runtimes: EdgeRuntime[] = wanted.length > 0 ? wanted : ["workers", "node"];
  mkdirSync(tmpdir(), { recursive: true });
  const rows: string[] = [];
  for (const r of runtimes) rows.push(...(await measure(r)));
  console.log("| runtime | load | ok/sent | failed | retrans | achieved/s | p50 ms | p99 ms | max ms | gateway loop delay p99 / max ms |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const r of rows) console.log(r);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
