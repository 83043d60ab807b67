/**
 * `npm run bench`: our system and the Kamailio reference proxy-registrar (bench/kamailio/reference-proxy.cfg)
 * side by side on this machine, under the same sipp load (bench/scenarios/), plus a direct baseline (sipp
 * straight to the stand-in registrar / the phone). Prints one table per system, ratios ours / Kamailio, the
 * latency each proxy adds over the direct path, and what one REGISTER / OPTIONS costs us in worker calls
 * and store round trips. See docs/benchmarks.md; `npm run bench -- --help` for the knobs.
 *
 * Systems are loaded one at a time (both stay up, idle when not measured), step by step at fixed rates:
 * for each rate, direct (lowest rate only unless --direct-all), then Kamailio, then ours.
 *
 * Addresses (loopback only, the same layout on two networks of their own): ours on 127.0.20.x, the
 * reference on 127.0.21.x: proxy .1:5060, its stand-in registrar .11/.12:5080, REGISTER client .31:5090,
 * phone .21:5070, PBX client .11:5082; the direct REGISTER client on 127.0.21.32:5090.
 */
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startUpstream, TENANT_A_DOMAIN, TENANT_B_DOMAIN, UPSTREAM_PASSWORD, type Upstream } from "../test/support/kamailio-upstream";
import { REPO_ROOT, scenarioPath } from "../test/support/paths";
import { findExecutable, isUdpPortBound, TIMED_OUT, waitAtMost } from "../test/support/processes";
import { runSipp, startSippUas, type SippUas } from "../test/support/sipp";
import { startKamailioProxy, type KamailioProxy } from "./kamailio-proxy";
import { descendants, sampleGroups, settle, type CpuGroup } from "./procs";
import { fmt, fmtMs, ratio, renderMarkdown, renderText, type Table } from "./report";
import { runLoad, type LoadResult } from "./sipp-load";
import type { StackProcConfig, StackProcMessage } from "./stack-proc";

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
/** The load scenarios (bench/scenarios/); phones register with the end-to-end tests' digest scenario. */
const SCENARIOS = {
  register: path.join(BENCH_DIR, "scenarios", "register-load.xml"),
  options: path.join(BENCH_DIR, "scenarios", "pbx-options-load.xml"),
  phoneUas: path.join(BENCH_DIR, "scenarios", "phone-options-uas.xml"),
  phoneRegister: scenarioPath("phone-register-digest-200"),
} as const;

type SystemId = "direct" | "kamailio" | "ours";
type TestId = "register" | "options";
const SYSTEM_NAMES: Record<SystemId, string> = { direct: "direct (no proxy)", kamailio: "Kamailio reference", ours: "ours (edge-registrar)" };

interface Addr {
  readonly ip: string;
  readonly port: number;
}
const hp = (a: Addr): string => `${a.ip}:${a.port}`;

/** Per-system addresses. `target` is where the load goes (the proxy). */
interface Site {
  readonly target: Addr;
  readonly upA: string;
  readonly upB: string;
  readonly upPort: number;
  readonly regClient: Addr;
  readonly regContact: string;
  readonly phone: Addr;
  readonly phoneContact: string;
  readonly pbx: Addr;
}
const OURS: Site = {
  target: { ip: "127.0.20.1", port: 5060 },
  upA: "127.0.20.11",
  upB: "127.0.20.12",
  upPort: 5080,
  regClient: { ip: "127.0.20.31", port: 5090 },
  regContact: "127.0.20.131:5070",
  phone: { ip: "127.0.20.21", port: 5070 },
  phoneContact: "127.0.20.121:5070",
  pbx: { ip: "127.0.20.11", port: 5082 },
};
const KAM: Site = {
  target: { ip: "127.0.21.1", port: 5060 },
  upA: "127.0.21.11",
  upB: "127.0.21.12",
  upPort: 5080,
  regClient: { ip: "127.0.21.31", port: 5090 },
  regContact: "127.0.21.131:5070",
  phone: { ip: "127.0.21.21", port: 5070 },
  phoneContact: "127.0.21.121:5070",
  pbx: { ip: "127.0.21.11", port: 5082 },
};
/** Direct baseline: REGISTER straight to the reference's stand-in, OPTIONS straight to the reference's phone. */
const DIRECT_REG_CLIENT: Addr = { ip: "127.0.21.32", port: 5090 };
const DIRECT_REG_CONTACT = "127.0.21.132:5070";

// ---- options ----------------------------------------------------------------------------------------------

interface Options {
  readonly regRates: number[];
  readonly optRates: number[];
  readonly dur: number;
  readonly warmup: number;
  readonly tests: TestId[];
  readonly systems: SystemId[];
  readonly directAll: boolean;
  readonly trace: boolean;
  readonly keepTraces: boolean;
  readonly skipSaturated: boolean;
  readonly proxyChildren: number;
  readonly shmMb: number;
  readonly outDir: string;
}

const HELP = `npm run bench [-- options]     (each option also as an environment variable)

  --reg-rates LIST   REGISTER rates per second          REG_RATES   default 100,300,600
  --opt-rates LIST   OPTIONS rates per second           OPT_RATES   default 100,300,600
  --dur S            seconds per measured step          DUR         default 10
  --warmup S         seconds of warm-up per system/test WARMUP      default 3
  --tests LIST       register,options                   TESTS       default both
  --systems LIST     direct,kamailio,ours               SYSTEMS     default all three
  --direct-all       direct baseline at every rate      DIRECT_ALL=1 (default: lowest rate only)
  --no-trace         no sipp -trace_msg: percentiles from -trace_rtt (whole ms)   TRACE=0
  --keep-traces      keep sipp message traces           KEEP_TRACES=1
  --no-skip          run higher rates after a system saturated (>10% failed)     NO_SKIP=1
  --proxy-children N Kamailio UDP workers (-n)          PROXY_CHILDREN default 4
  --shm-mb N         Kamailio shared memory (-m)        SHM_MB      default 1024
  --out DIR          results and sipp files             BENCH_OUT   default /tmp/edge-bench-<time>

Example: REG_RATES=1000,2000,3000 OPT_RATES=2000,4000 DUR=15 npm run bench`;

function parseList(s: string): string[] {
  return s.split(/[\s,]+/).filter((x) => x !== "");
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      "reg-rates": { type: "string" },
      "opt-rates": { type: "string" },
      dur: { type: "string" },
      warmup: { type: "string" },
      tests: { type: "string" },
      systems: { type: "string" },
      "direct-all": { type: "boolean" },
      "no-trace": { type: "boolean" },
      "keep-traces": { type: "boolean" },
      "no-skip": { type: "boolean" },
      "proxy-children": { type: "string" },
      "shm-mb": { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const env = process.env;
  const str = (flag: string | undefined, envName: string, def: string): string => flag ?? (env[envName] || def);
  const posInt = (s: string, what: string): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${what} must be a positive integer, got "${s}"`);
    return n;
  };
  const rates = (s: string, what: string): number[] => parseList(s).map((r) => posInt(r, what)).sort((a, b) => a - b);
  const envFlag = (name: string): boolean => env[name] !== undefined && env[name] !== "" && env[name] !== "0";
  const tests = parseList(str(values.tests, "TESTS", "register,options"));
  for (const t of tests) if (t !== "register" && t !== "options") throw new Error(`unknown test "${t}"`);
  const systems = parseList(str(values.systems, "SYSTEMS", "direct,kamailio,ours"));
  for (const s of systems) if (!(s in SYSTEM_NAMES)) throw new Error(`unknown system "${s}"`);
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
  return {
    regRates: rates(str(values["reg-rates"], "REG_RATES", "100,300,600"), "REGISTER rate"),
    optRates: rates(str(values["opt-rates"], "OPT_RATES", "100,300,600"), "OPTIONS rate"),
    dur: posInt(str(values.dur, "DUR", "10"), "DUR"),
    warmup: Number(str(values.warmup, "WARMUP", "3")),
    tests: tests as TestId[],
    systems: (["direct", "kamailio", "ours"] as const).filter((s) => systems.includes(s)),
    directAll: values["direct-all"] ?? envFlag("DIRECT_ALL"),
    trace: !(values["no-trace"] ?? (env.TRACE === "0")),
    keepTraces: values["keep-traces"] ?? envFlag("KEEP_TRACES"),
    skipSaturated: !(values["no-skip"] ?? envFlag("NO_SKIP")),
    proxyChildren: posInt(str(values["proxy-children"], "PROXY_CHILDREN", "4"), "PROXY_CHILDREN"),
    shmMb: posInt(str(values["shm-mb"], "SHM_MB", "1024"), "SHM_MB"),
    outDir: path.resolve(str(values.out, "BENCH_OUT", path.join(os.tmpdir(), `edge-bench-${stamp}`))),
  };
}

// ---- our stack in its own process ------------------------------------------------------------------------

interface OurStack {
  readonly pid: number;
  readonly metricsUrl: string;
  readonly workerdPids: number[];
  storeRequests(): Promise<number>;
  stop(): Promise<void>;
}

async function startOurStack(dir: string): Promise<OurStack> {
  mkdirSync(dir, { recursive: true });
  const cfg: StackProcConfig = {
    dir,
    sip: OURS.target,
    tenants: [
      { domain: TENANT_A_DOMAIN, destinations: [`sip:${OURS.upA}:${OURS.upPort}`] },
      { domain: TENANT_B_DOMAIN, destinations: [`sip:${OURS.upB}:${OURS.upPort}`] },
    ],
  };
  const out = openSync(path.join(dir, "stack.stdout"), "w");
  const err = openSync(path.join(dir, "stack.stderr"), "w");
  let child: ChildProcess;
  try {
    child = fork(path.join(BENCH_DIR, "stack-proc.ts"), [JSON.stringify(cfg)], {
      cwd: REPO_ROOT,
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", out, err, "ipc"],
      // One sipp load generator sends everything from one address: the per-source flood limit would block it.
      env: { ...process.env, FLOOD_LIMIT: process.env.FLOOD_LIMIT ?? "off", WRANGLER_SEND_METRICS: "false", WRANGLER_SEND_ERROR_REPORTS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    });
  } finally {
    closeSync(out);
    closeSync(err);
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const waiters: ((m: StackProcMessage) => void)[] = [];
  child.on("message", (m: StackProcMessage) => {
    for (const w of waiters.splice(0)) w(m);
  });
  const next = (type: StackProcMessage["type"], ms: number): Promise<StackProcMessage> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`our stack: no "${type}" within ${ms} ms (see ${dir})`)), ms);
      const wait = (m: StackProcMessage): void => {
        if (m.type === type || m.type === "error") {
          clearTimeout(timer);
          if (m.type === "error") reject(new Error(`our stack failed: ${m.message}`));
          else resolve(m);
        } else waiters.push(wait);
      };
      waiters.push(wait);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`our stack exited (see ${dir}/stack.stderr)`));
      });
    });
  let workerd: number[] = [];
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.send({ type: "stop" });
      if ((await waitAtMost(exited, 15_000)) === TIMED_OUT) {
        child.kill("SIGKILL");
        await exited;
      }
    }
    // workerd is Miniflare's child: normally gone with mf.dispose(); only ours, by PID, if it outlived it.
    for (const pid of workerd) {
      try {
        process.kill(pid, 0);
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };
  let ready: Extract<StackProcMessage, { type: "ready" }>;
  try {
    ready = (await next("ready", 180_000)) as Extract<StackProcMessage, { type: "ready" }>;
  } catch (e) {
    await stop();
    throw e;
  }
  workerd = descendants(ready.pid).filter((p) => p.comm === "workerd").map((p) => p.pid);
  if (workerd.length === 0) {
    await stop();
    throw new Error("our stack: no workerd process found under the stack process");
  }
  return {
    pid: ready.pid,
    metricsUrl: ready.metricsUrl,
    workerdPids: workerd,
    async storeRequests() {
      const reply = next("counts", 5000);
      child.send({ type: "counts" });
      return ((await reply) as Extract<StackProcMessage, { type: "counts" }>).storeRequests;
    },
    stop,
  };
}

/** The gateway's counters, `name{labels}` -> value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(\S+)\s+(\S+)$/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

function metricSum(m: Map<string, number>, name: string): number {
  let s = 0;
  for (const [k, v] of m) if (k === name || k.startsWith(`${name}{`)) s += v;
  return s;
}

// ---- results -------------------------------------------------------------------------------------------

interface Cost {
  readonly workerRequest: number;
  readonly workerResponse: number;
  readonly workerFailures: number;
  readonly store: number;
  readonly datagramsIn: number;
  readonly datagramsOut: number;
}

interface Row {
  readonly system: SystemId;
  readonly test: TestId;
  readonly rate: number;
  readonly calls: number;
  readonly result?: LoadResult;
  readonly skipped?: string;
  /** % of one core per named process group, over the sipp run. */
  readonly cpu: Record<string, number>;
  /** CPU of the proxy's own processes per successful call, µs. */
  readonly cpuPerOpUs?: number;
  /** Totals over the step (ours only). */
  readonly cost?: Cost;
}

// ---- the run ----------------------------------------------------------------------------------------------

class Bench {
  private readonly rows: Row[] = [];
  private readonly saturated = new Map<string, number>();
  private prefix = 100;
  private ours: OurStack | undefined;
  private kam: KamailioProxy | undefined;
  private upOurs: Upstream | undefined;
  private upKam: Upstream | undefined;
  private readonly uas = new Map<"ours" | "kamailio", SippUas>();
  private readonly started = Date.now();
  /** How the reference proxy was run (for the report). */
  kamNote: string | undefined;
  /** Times our stack stopped answering and was restarted. */
  readonly incidents: string[] = [];
  private restarts = 0;
  private probes = 0;

  constructor(private readonly o: Options) {}

  private log(msg: string): void {
    const s = ((Date.now() - this.started) / 1000).toFixed(0).padStart(4);
    console.log(`[${s}s] ${msg}`);
  }

  private need(system: SystemId): boolean {
    return this.o.systems.includes(system);
  }

  async checkAddresses(): Promise<void> {
    const want: Addr[] = [];
    if (this.need("ours")) want.push(OURS.target, { ip: OURS.upA, port: OURS.upPort }, { ip: OURS.upB, port: OURS.upPort }, OURS.regClient, OURS.phone, OURS.pbx);
    if (this.need("kamailio") || this.need("direct")) {
      want.push({ ip: KAM.upA, port: KAM.upPort }, { ip: KAM.upB, port: KAM.upPort }, KAM.phone, KAM.pbx);
    }
    if (this.need("kamailio")) want.push(KAM.target, KAM.regClient);
    if (this.need("direct")) want.push(DIRECT_REG_CLIENT);
    const busy: string[] = [];
    for (const a of want) if (await isUdpPortBound(a.ip, a.port)) busy.push(hp(a));
    if (busy.length > 0) throw new Error(`UDP addresses in use, not starting: ${busy.join(", ")} (another bench running?)`);
  }

  async setup(): Promise<void> {
    const dir = this.o.outDir;
    if (this.need("kamailio") || this.need("direct")) {
      this.upKam = await startUpstream({ addrA: KAM.upA, addrB: KAM.upB, port: KAM.upPort, shmMb: 256, runDir: mkdir(dir, "upstream-kamailio") });
      this.log(`stand-in registrar (reference) pid ${this.upKam.process.pid} on ${KAM.upA}/${KAM.upB}:${KAM.upPort}`);
    }
    if (this.need("kamailio")) {
      this.kam = await startKamailioProxy({
        listen: KAM.target,
        tenants: [
          { domain: TENANT_A_DOMAIN, pbx: { ip: KAM.upA, port: KAM.upPort } },
          { domain: TENANT_B_DOMAIN, pbx: { ip: KAM.upB, port: KAM.upPort } },
        ],
        children: this.o.proxyChildren,
        shmMb: this.o.shmMb,
        logDir: mkdir(dir, "kamailio-proxy"),
      });
      this.kamNote = `Kamailio proxy: ${this.kam.version}, -n ${this.o.proxyChildren} -m ${this.o.shmMb}; ${this.kam.configNote}`;
      this.log(`Kamailio proxy pid ${this.kam.pid} (${this.o.proxyChildren} UDP workers) on ${hp(KAM.target)}`);
      this.log(`reference config: ${this.kam.configNote}`);
    }
    if (this.need("ours")) {
      this.upOurs = await startUpstream({ addrA: OURS.upA, addrB: OURS.upB, port: OURS.upPort, shmMb: 256, runDir: mkdir(dir, "upstream-ours") });
      this.log(`stand-in registrar (ours) pid ${this.upOurs.process.pid} on ${OURS.upA}/${OURS.upB}:${OURS.upPort}`);
      this.ours = await startOurStack(mkdir(dir, "ours"));
      this.log(`our stack: node pid ${this.ours.pid} (gateway + store endpoint), workerd pid ${this.ours.workerdPids.join(",")}, gateway ${hp(OURS.target)}`);
    }
  }

  /** Registers phone 201 through the system (digest), then starts its OPTIONS-answering UAS. */
  async startPhone(system: "ours" | "kamailio" | "direct"): Promise<void> {
    const key = system === "ours" ? "ours" : "kamailio";
    if (this.uas.has(key)) return;
    const site = system === "ours" ? OURS : KAM;
    const work = mkdir(this.o.outDir, `phone-${key}`);
    if (system !== "direct") {
      await runSipp({
        scenario: SCENARIOS.phoneRegister,
        target: hp(site.target),
        bindIp: site.phone.ip,
        bindPort: site.phone.port,
        service: "201",
        keys: { domain: TENANT_A_DOMAIN, contact: site.phoneContact, expires: "3600" },
        auth: { user: "201", pass: UPSTREAM_PASSWORD },
        workDir: work,
      });
    }
    const uas = await startSippUas({
      scenario: SCENARIOS.phoneUas,
      bindIp: site.phone.ip,
      bindPort: site.phone.port,
      timeoutSec: 3600,
      extraArgs: ["-max_recv_loops", "10000", "-buff_size", "8388608"],
      workDir: work,
      name: "phone-uas",
    });
    this.uas.set(key, uas);
    this.log(`phone 201 ${system === "direct" ? "" : `registered through ${system}, `}UAS pid ${uas.pid} on ${hp(site.phone)}`);
  }

  private groups(system: SystemId, test: TestId): { sys: CpuGroup[]; peer: CpuGroup } {
    const tree = (pid: number): number[] => [pid, ...descendants(pid).map((d) => d.pid)];
    const up = system === "ours" ? this.upOurs : this.upKam;
    const phone = this.uas.get(system === "ours" ? "ours" : "kamailio");
    const peer: CpuGroup =
      test === "register" ? { name: "peer", pids: up ? tree(up.process.pid) : [] } : { name: "peer", pids: phone ? [phone.pid] : [] };
    if (system === "ours" && this.ours) {
      return { sys: [{ name: "node", pids: [this.ours.pid] }, { name: "workerd", pids: this.ours.workerdPids }], peer };
    }
    if (system === "kamailio" && this.kam) return { sys: [{ name: "proxy", pids: tree(this.kam.pid) }], peer };
    return { sys: [], peer };
  }

  /** One measured (or warm-up) step; returns the row. */
  async step(system: SystemId, test: TestId, rate: number, seconds: number, warm: boolean): Promise<Row> {
    const calls = Math.max(1, Math.round(rate * seconds));
    const site = system === "ours" ? OURS : KAM;
    const { sys, peer } = this.groups(system, test);
    const all = [...sys, peer];
    const label = `${warm ? "warmup" : "step"}-${system}-${test}-${rate}`;
    const prefix = String(this.prefix++);
    const spec =
      test === "register"
        ? {
            scenario: SCENARIOS.register,
            target: system === "direct" ? `${KAM.upA}:${KAM.upPort}` : hp(site.target),
            bindIp: system === "direct" ? DIRECT_REG_CLIENT.ip : site.regClient.ip,
            bindPort: system === "direct" ? DIRECT_REG_CLIENT.port : site.regClient.port,
            keys: { domain: TENANT_A_DOMAIN, contact: system === "direct" ? DIRECT_REG_CONTACT : site.regContact, prefix },
          }
        : {
            scenario: SCENARIOS.options,
            target: system === "direct" ? hp(KAM.phone) : hp(site.target),
            bindIp: site.pbx.ip,
            bindPort: site.pbx.port,
            service: "201",
          };
    const m0 = system === "ours" && this.ours ? await scrape(this.ours.metricsUrl) : undefined;
    const s0 = system === "ours" && this.ours ? await this.ours.storeRequests() : 0;
    const c0 = sampleGroups(all);
    const result = await runLoad({
      ...spec,
      label,
      parentDir: this.o.outDir,
      rate,
      calls,
      traceMsg: this.o.trace,
      keepTrace: this.o.keepTraces,
      timeoutSec: seconds + 30,
      recvTimeoutMs: 8000,
    });
    const c1 = sampleGroups(all);
    const cpu: Record<string, number> = {};
    for (const g of all) cpu[g.name] = (((c1.get(g.name) ?? 0) - (c0.get(g.name) ?? 0)) / result.wallSec) * 100;
    cpu.sipp = (result.sippCpuSec / result.wallSec) * 100;
    const sysCpuSec = sys.reduce((s, g) => s + (c1.get(g.name) ?? 0) - (c0.get(g.name) ?? 0), 0);
    let cost: Cost | undefined;
    if (m0 && this.ours) {
      const m1 = await scrape(this.ours.metricsUrl);
      const s1 = await this.ours.storeRequests();
      const d = (k: string): number => (m1.get(k) ?? 0) - (m0.get(k) ?? 0);
      const dsum = (k: string): number => metricSum(m1, k) - metricSum(m0, k);
      cost = {
        workerRequest: d('edge_gateway_worker_calls_total{kind="request"}'),
        workerResponse: d('edge_gateway_worker_calls_total{kind="response"}'),
        workerFailures: dsum("edge_gateway_worker_failures_total"),
        store: s1 - s0,
        datagramsIn: dsum("edge_gateway_received_total"),
        datagramsOut: dsum("edge_gateway_sent_total"),
      };
    }
    const row: Row = {
      system,
      test,
      rate,
      calls,
      result,
      cpu,
      ...(sys.length > 0 && result.ok > 0 ? { cpuPerOpUs: (sysCpuSec / result.ok) * 1e6 } : {}),
      ...(cost ? { cost } : {}),
    };
    const r = result;
    this.log(
      `${warm ? "warm-up " : ""}${system} ${test} ${rate}/s: ok ${r.ok}/${calls} failed ${r.failed} retrans ${r.retrans}` +
        ` ach ${fmt(r.achieved)}/s p50 ${fmtMs(r.p50Ms)} p99 ${fmtMs(r.p99Ms)} max ${fmtMs(r.maxMs)} ms` +
        ` cpu ${Object.entries(cpu).map(([k, v]) => `${k} ${fmt(v)}%`).join(" ")}` +
        (cost && r.ok > 0 ? ` worker ${fmt((cost.workerRequest + cost.workerResponse) / r.ok, 2)}/op store ${fmt(cost.store / r.ok, 2)}/op` : "") +
        (cost && cost.workerFailures > 0 ? ` worker failures ${cost.workerFailures}` : ""),
    );
    // Let the system drain (worker backlog, retransmissions) before the next step.
    await settle(all.flatMap((g) => g.pids), { minMs: 1500, maxMs: 20_000 });
    if (system === "ours") await this.checkOurs(`${warm ? "warm-up " : ""}${test} ${rate}/s`);
    return row;
  }

  /**
   * After an overload our stack may stop answering for good (seen here: the worker's requests then end in
   * "Worker's code had hung" 500s or time out). A 5-REGISTER probe tells; if it fails, the incident is
   * recorded and the stack is restarted (fresh store) so that later steps measure the system, not the wedge.
   */
  private async checkOurs(after: string): Promise<void> {
    if (!this.ours) return;
    const probe = await runLoad({
      label: `probe-ours-${++this.probes}`,
      parentDir: this.o.outDir,
      scenario: SCENARIOS.register,
      target: hp(OURS.target),
      bindIp: OURS.regClient.ip,
      bindPort: OURS.regClient.port,
      rate: 20,
      calls: 5,
      keys: { domain: TENANT_A_DOMAIN, contact: OURS.regContact, prefix: String(this.prefix++) },
      traceMsg: false,
      keepTrace: false,
      timeoutSec: 15,
      recvTimeoutMs: 4000,
    });
    if (probe.ok === 5) return;
    const msg = `ours stopped answering after ${after}: health probe ${probe.ok}/5 REGISTER ok after the drain; stack restarted`;
    this.incidents.push(msg);
    this.log(msg);
    const uas = this.uas.get("ours");
    if (uas) {
      await uas.stop();
      this.uas.delete("ours");
    }
    await this.ours.stop();
    this.ours = await startOurStack(mkdir(this.o.outDir, `ours-restart-${++this.restarts}`));
    this.log(`our stack restarted: node pid ${this.ours.pid}, workerd pid ${this.ours.workerdPids.join(",")}`);
    if (this.o.tests.includes("options")) await this.startPhone("ours");
  }

  private isSaturated(r: LoadResult, calls: number): boolean {
    return r.failed > 0.1 * Math.max(1, r.ok + r.failed) || r.ok < 0.9 * calls;
  }

  async measure(): Promise<void> {
    if (this.o.tests.includes("options")) {
      // Phone 201 registered through each proxy before its UAS takes the phone's port; the direct
      // baseline uses the reference's phone (started unregistered when Kamailio itself is not measured).
      if (this.need("kamailio")) await this.startPhone("kamailio");
      else if (this.need("direct")) await this.startPhone("direct");
      if (this.need("ours")) await this.startPhone("ours");
    }
    if (this.o.warmup > 0) {
      for (const test of this.o.tests) {
        for (const system of this.o.systems) await this.step(system, test, 100, this.o.warmup, true);
      }
    }
    for (const test of this.o.tests) {
      const rates = test === "register" ? this.o.regRates : this.o.optRates;
      for (const [i, rate] of rates.entries()) {
        for (const system of this.o.systems) {
          if (system === "direct" && i > 0 && !this.o.directAll) continue;
          const key = `${system}/${test}`;
          const sat = this.saturated.get(key);
          if (sat !== undefined && this.o.skipSaturated) {
            this.rows.push({ system, test, rate, calls: rate * this.o.dur, cpu: {}, skipped: `saturated at ${sat}/s` });
            this.log(`${system} ${test} ${rate}/s skipped (saturated at ${sat}/s)`);
            continue;
          }
          const row = await this.step(system, test, rate, this.o.dur, false);
          this.rows.push(row);
          if (row.result && this.isSaturated(row.result, row.calls) && sat === undefined) this.saturated.set(key, rate);
        }
      }
    }
  }

  async teardown(): Promise<void> {
    for (const u of this.uas.values()) await u.stop().catch(() => undefined);
    await this.ours?.stop().catch(() => undefined);
    await this.kam?.stop().catch(() => undefined);
    await this.upOurs?.stop().catch(() => undefined);
    await this.upKam?.stop().catch(() => undefined);
  }

  // ---- tables -------------------------------------------------------------------------------------------

  tables(): Table[] {
    const out: Table[] = [];
    const byKey = (system: SystemId, test: TestId, rate: number): Row | undefined =>
      this.rows.find((r) => r.system === system && r.test === test && r.rate === rate);
    const peerName = (t: TestId): string => (t === "register" ? "stand-in" : "phone");
    for (const system of this.o.systems) {
      const rows = this.rows.filter((r) => r.system === system);
      if (rows.length === 0) continue;
      const sysCols = system === "ours" ? ["node%", "workerd%"] : system === "kamailio" ? ["proxy%"] : [];
      const headers = [
        "test", "rate/s", "sent", "ok", "failed", "fail%", "achvd/s", "p50 ms", "p99 ms", "max ms", "retrans",
        ...sysCols, "peer%", "sipp%",
        ...(system !== "direct" ? ["cpu µs/op"] : []),
        ...(system === "ours" ? ["worker/op", "store/op"] : []),
      ];
      const body = rows.map((row) => {
        const r = row.result;
        if (!r) return [row.test, String(row.rate), "skipped", ...new Array<string>(headers.length - 3).fill("-")];
        const fails = r.ok + r.failed > 0 ? (100 * r.failed) / (r.ok + r.failed) : 0;
        const c = row.cost;
        return [
          row.test, String(row.rate), String(r.sent), String(r.ok), String(r.failed), fmt(fails, 1), fmt(r.achieved),
          fmtMs(r.p50Ms), fmtMs(r.p99Ms), fmtMs(r.maxMs), String(r.retrans),
          ...(system === "ours" ? [fmt(row.cpu.node), fmt(row.cpu.workerd)] : system === "kamailio" ? [fmt(row.cpu.proxy)] : []),
          fmt(row.cpu.peer), fmt(row.cpu.sipp),
          ...(system !== "direct" ? [fmt(row.cpuPerOpUs)] : []),
          ...(system === "ours"
            ? [c && r.ok ? fmt((c.workerRequest + c.workerResponse) / r.ok, 2) : "-", c && r.ok ? fmt(c.store / r.ok, 2) : "-"]
            : []),
        ];
      });
      out.push({
        title: `${SYSTEM_NAMES[system]}`,
        headers,
        rows: body,
        notes: [
          `peer% = ${peerName("register")} registrar (register) or phone UAS (options); sipp% = load client; 100% = one core.`,
          ...rows.filter((r) => r.skipped).map((r) => `skipped ${r.test} ${r.rate}/s: ${r.skipped} (>10% failed; --no-skip runs it anyway).`),
          ...(system === "ours"
            ? [
                "node% = the one Node process running gateway + store endpoint; workerd% = the worker (Miniflare).",
                "worker/op, store/op = worker calls and store round trips per successful call (all calls of the step counted).",
                ...this.incidents.map((i) => `! ${i}`),
              ]
            : []),
        ],
      });
    }

    if (this.need("ours") && this.need("kamailio")) {
      const rows: string[][] = [];
      for (const test of this.o.tests) {
        for (const rate of test === "register" ? this.o.regRates : this.o.optRates) {
          const a = byKey("ours", test, rate)?.result;
          const b = byKey("kamailio", test, rate)?.result;
          const ao = byKey("ours", test, rate);
          const bo = byKey("kamailio", test, rate);
          rows.push([
            test, String(rate),
            fmt(a?.achieved), fmt(b?.achieved), ratio(a?.achieved, b?.achieved),
            fmtMs(a?.p50Ms), fmtMs(b?.p50Ms), ratio(a?.p50Ms, b?.p50Ms),
            fmtMs(a?.p99Ms), fmtMs(b?.p99Ms), ratio(a?.p99Ms, b?.p99Ms),
            fmt(ao?.cpuPerOpUs), fmt(bo?.cpuPerOpUs), ratio(ao?.cpuPerOpUs, bo?.cpuPerOpUs),
          ]);
        }
      }
      out.push({
        title: "ours / Kamailio",
        headers: ["test", "rate/s", "ours/s", "kam/s", "ratio", "p50 ours", "p50 kam", "ratio", "p99 ours", "p99 kam", "ratio", "µs/op ours", "µs/op kam", "ratio"],
        rows,
        notes: ["throughput ratio < 1: ours completed fewer; latency and CPU ratio > 1: ours slower / costlier (ms; CPU µs per successful call)."],
      });
    }

    if (this.need("direct")) {
      const rows: string[][] = [];
      for (const test of this.o.tests) {
        const rate = (test === "register" ? this.o.regRates : this.o.optRates)[0];
        if (rate === undefined) continue;
        const d = byKey("direct", test, rate)?.result;
        const k = byKey("kamailio", test, rate)?.result;
        const u = byKey("ours", test, rate)?.result;
        const add = (x: number | undefined, y: number | undefined): string => (x === undefined || y === undefined ? "-" : fmtMs(x - y));
        rows.push([
          test, String(rate), fmtMs(d?.p50Ms), fmtMs(d?.p99Ms),
          add(k?.p50Ms, d?.p50Ms), add(k?.p99Ms, d?.p99Ms),
          add(u?.p50Ms, d?.p50Ms), add(u?.p99Ms, d?.p99Ms),
        ]);
      }
      out.push({
        title: "latency added over the direct path (ms)",
        headers: ["test", "rate/s", "direct p50", "direct p99", "kam +p50", "kam +p99", "ours +p50", "ours +p99"],
        rows,
        notes: ["direct: sipp straight to the stand-in registrar (register) or to the phone UAS (options)."],
      });
    }

    if (this.need("ours")) {
      const rows: string[][] = [];
      for (const test of this.o.tests) {
        // The lowest rate at which every call went through without a retransmission; else the lowest at all.
        const measured = this.rows.filter((r) => r.system === "ours" && r.test === test && r.cost && r.result && r.result.ok > 0);
        const row = measured.find((r) => r.result!.failed === 0 && r.result!.retrans === 0) ?? measured[0];
        const c = row?.cost;
        const ok = row?.result?.ok ?? 0;
        if (!row || !c || ok === 0) continue;
        const per = (n: number): string => fmt(n / ok, 3);
        rows.push([
          test, `${row.rate}${row.result!.failed === 0 && row.result!.retrans === 0 ? "" : " (overloaded)"}`, String(ok), per(c.workerRequest), per(c.workerResponse), per(c.workerFailures),
          per(c.store), `${c.store}`, per(c.datagramsIn), per(c.datagramsOut),
        ]);
      }
      out.push({
        title: "what one call costs us (lowest clean rate; counters read before/after the step)",
        headers: ["test", "rate/s", "ok", "worker req/op", "worker resp/op", "worker fail/op", "store RT/op", "store RT", "dgrams in/op", "dgrams out/op"],
        rows,
        notes: [
          "worker calls: the gateway's edge_gateway_worker_calls_total{kind}; store RT: HTTP requests received by the store",
          "endpoint (one per Hrana pipeline call), counted in the stack process via Node's http.server.request.start",
          "diagnostics channel. Includes the worker's tenant-directory reloads (TENANT_CACHE_TTL_MS=1000 in the local",
          "stack: about one store round trip per second, whatever the rate). Kamailio: no external hop at all",
          "(usrloc in memory, db_mode 0; the domain table is cached in memory at start-up).",
        ],
      });
    }
    return out;
  }
}

function mkdir(parent: string, name: string): string {
  const d = path.join(parent, name);
  mkdirSync(d, { recursive: true });
  return d;
}

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (e) {
    const o = e as { stdout?: string };
    return (o.stdout ?? "").trim() || "?";
  }
}

/** First line of `kamailio -v`, or "kamailio ?" where it is not installed. */
function kamailioVersion(): string {
  let kamailio: string;
  try {
    kamailio = findExecutable("kamailio", "kamailio");
  } catch {
    return "kamailio ?";
  }
  return sh(kamailio, ["-v"]).split("\n")[0]?.replace(/^version:\s*/, "").trim() ?? "kamailio ?";
}

function machineFacts(kamVersion: string | undefined): string[] {
  const cpu = /model name\s*:\s*(.+)/.exec(sh("cat", ["/proc/cpuinfo"]))?.[1] ?? "?";
  const sipp = /SIPp v[^\s]+/.exec(sh("sipp", ["-v"]))?.[0] ?? "?";
  return [
    `machine: ${os.cpus().length} cores (nproc ${sh("nproc", [])}), ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}`,
    `node ${process.version}, ${kamVersion ?? kamailioVersion()}, ${sipp}`,
  ];
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  mkdirSync(o.outDir, { recursive: true });
  const bench = new Bench(o);
  const steps =
    o.tests.reduce((n, t) => {
      const rates = t === "register" ? o.regRates : o.optRates;
      return n + rates.length * o.systems.filter((s) => s !== "direct").length + (o.systems.includes("direct") ? (o.directAll ? rates.length : 1) : 0);
    }, 0);
  console.log(`edge-registrar bench: ${o.tests.join(" + ")}; REGISTER ${o.regRates.join("/")}/s, OPTIONS ${o.optRates.join("/")}/s; ${o.dur} s per step; ` +
    `systems ${o.systems.join(", ")}; ${steps} measured steps (~${Math.round((steps * (o.dur + 4) + o.tests.length * 2 * (o.warmup + 4) + 20) / 60)} min)`);
  console.log(`files: ${o.outDir}`);
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) return;
    interrupted = true;
    console.log("\ninterrupted: stopping what the bench started");
    void bench.teardown().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let kamVersion: string | undefined;
  try {
    await bench.checkAddresses();
    await bench.setup();
    kamVersion = kamailioVersion();
    await bench.measure();
  } finally {
    if (!interrupted) await bench.teardown();
  }
  const facts = machineFacts(kamVersion);
  const tables = bench.tables();
  const cmd = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  const envUsed = ["REG_RATES", "OPT_RATES", "DUR", "WARMUP", "TESTS", "SYSTEMS", "DIRECT_ALL", "TRACE", "NO_SKIP", "PROXY_CHILDREN", "SHM_MB"]
    .filter((k) => process.env[k])
    .map((k) => `${k}=${process.env[k]}`);
  const header = [
    `command: ${[...envUsed, cmd].join(" ")}`,
    ...facts,
    ...(bench.kamNote ? [bench.kamNote] : []),
    `${o.dur} s per step, warm-up ${o.warmup} s per system and test at 100/s; latency = first transmission of the request to the final 2xx, ` +
      (o.trace ? "from sipp's -trace_msg timestamps (µs)" : "from sipp's -trace_rtt (whole ms)") +
      `; achvd/s = ok / (last final 2xx - first request); total run ${((Date.now() - startedAt) / 1000).toFixed(0)} s`,
  ];
  const text = [...header, "", ...tables.map(renderText).flatMap((t) => [t, ""])].join("\n");
  console.log(`\n${text}`);
  writeFileSync(path.join(o.outDir, "results.txt"), text + "\n");
  writeFileSync(path.join(o.outDir, "results.md"), [...header.map((h) => `${h}  `), "", ...tables.map(renderMarkdown).flatMap((t) => [t, ""])].join("\n"));
  console.log(`results: ${path.join(o.outDir, "results.txt")} (and results.md)`);
}

const startedAt = Date.now();
main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
