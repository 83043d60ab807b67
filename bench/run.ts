/**
 * `npm run bench`: our system in both runtimes (EDGE_RUNTIME=workers and EDGE_RUNTIME=node) and the Kamailio
 * reference proxy-registrar (bench/kamailio/reference-proxy.cfg) side by side on this machine, under the same
 * sipp load (bench/scenarios/), plus a direct baseline (sipp straight to the stand-in registrar / the phone).
 * Prints one table per system, the capacity of each (highest clean step) and its ratio to Kamailio, the
 * latency each proxy adds over the direct path, what one REGISTER / OPTIONS / keep-alive costs ours in
 * decision calls and store round trips, and an overload step at twice each system's measured capacity.
 * `--soak` runs the memory soak instead. See docs/benchmarks.md; `npm run bench -- --help` for the knobs.
 *
 * Systems are loaded one at a time (all stay up, idle when not measured), step by step at fixed rates:
 * for each rate, direct (lowest rate only unless --direct-all), then Kamailio, then workers, then node.
 *
 * Addresses (loopback only, the same layout on networks of their own): workers on 127.0.20.x, node on
 * 127.0.22.x, the reference on 127.0.21.x: proxy .1:5060, its stand-in registrar .11/.12:5080, REGISTER
 * client .31:5090, phone .21:5070, PBX client .11:5082; the direct REGISTER client on 127.0.21.32:5090.
 */
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startUpstream, TENANT_A_DOMAIN, TENANT_B_DOMAIN, UPSTREAM_PASSWORD, type Upstream } from "../test/support/kamailio-upstream";
import { REPO_ROOT, scenarioPath } from "../test/support/paths";
import { findExecutable, isUdpPortBound, TIMED_OUT, waitAtMost } from "../test/support/processes";
import { runSipp, startSippUas, type SippUas } from "../test/support/sipp";
import { startKamailioProxy, type KamailioProxy } from "./kamailio-proxy";
import { descendants, sampleGroups, settle, threadCpuSeconds, type CpuGroup } from "./procs";
import { fmt, fmtMs, ratio, renderMarkdown, renderText, type Table } from "./report";
import { runLoad, type LoadResult, type LoadSpec } from "./sipp-load";
import type { StackProcConfig, StackProcMessage } from "./stack-proc";

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
/** The load scenarios (bench/scenarios/); phones register with the end-to-end tests' digest scenario. */
const SCENARIOS = {
  register: path.join(BENCH_DIR, "scenarios", "register-load.xml"),
  registerDigest: path.join(BENCH_DIR, "scenarios", "register-digest-load.xml"),
  options: path.join(BENCH_DIR, "scenarios", "pbx-options-load.xml"),
  phoneUas: path.join(BENCH_DIR, "scenarios", "phone-options-uas.xml"),
  keepalive: path.join(BENCH_DIR, "scenarios", "keepalive-options.xml"),
  phoneRegister: scenarioPath("phone-register-digest-200"),
} as const;

type OursId = "workers" | "node";
type SystemId = "direct" | "kamailio" | OursId;
/** register and options are loaded step by step; keepalive (OPTIONS to the gateway itself) once at the lowest rate, ours only. */
type TestId = "register" | "options" | "keepalive";
const SYSTEM_NAMES: Record<SystemId, string> = {
  direct: "direct (no proxy)",
  kamailio: "Kamailio reference",
  workers: "ours, EDGE_RUNTIME=workers (gateway -> Miniflare worker -> store over HTTP)",
  node: "ours, EDGE_RUNTIME=node (decisions in the gateway's process, embedded libSQL in a store thread)",
};
const SHORT: Record<SystemId, string> = { direct: "direct", kamailio: "kam", workers: "workers", node: "node" };
const isOurs = (s: SystemId): s is OursId => s === "workers" || s === "node";

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
/** A system's addresses: the same layout in its own block 127.0.<block>.x (test/e2e/README.md). */
function site(block: number): Site {
  const ip = (host: number): string => `127.0.${block}.${host}`;
  return {
    target: { ip: ip(1), port: 5060 },
    upA: ip(11),
    upB: ip(12),
    upPort: 5080,
    regClient: { ip: ip(31), port: 5090 },
    regContact: `${ip(131)}:5070`,
    phone: { ip: ip(21), port: 5070 },
    phoneContact: `${ip(121)}:5070`,
    pbx: { ip: ip(11), port: 5082 },
  };
}
const WORKERS = site(20);
const KAM = site(21);
const NODE = site(22);
const SITES: Record<OursId | "kamailio", Site> = { workers: WORKERS, node: NODE, kamailio: KAM };
/** Direct baseline: REGISTER straight to the reference's stand-in, OPTIONS straight to the reference's phone. */
const DIRECT_REG_CLIENT: Addr = { ip: "127.0.21.32", port: 5090 };
const DIRECT_REG_CONTACT = "127.0.21.132:5070";

// ---- options ----------------------------------------------------------------------------------------------

interface Options {
  readonly regRates: number[];
  /** Each REGISTER challenged (401), then sent again with credentials: two transactions per call. */
  readonly regDigest: boolean;
  readonly optRates: number[];
  readonly dur: number;
  /** Seconds of the lowest-rate step, which gives the added latency: LAT_DUR, and at least `dur`. */
  readonly latDur: number;
  readonly warmup: number;
  readonly warmupRate: number;
  readonly tests: TestId[];
  readonly systems: SystemId[];
  readonly directAll: boolean;
  readonly trace: boolean;
  readonly keepTraces: boolean;
  readonly skipSaturated: boolean;
  readonly overload: boolean;
  readonly cpuProf: boolean;
  readonly traceLoad: boolean;
  readonly soak: boolean;
  readonly soakS: number;
  readonly soakWarmupS: number;
  readonly soakRegRate: number;
  readonly soakOptRate: number;
  readonly proxyChildren: number;
  readonly shmMb: number;
  readonly outDir: string;
}

const HELP = `npm run bench [-- options]     (each option also as an environment variable)

  --reg-rates LIST   REGISTER rates per second          REG_RATES   default 100,300,600
  --opt-rates LIST   OPTIONS rates per second           OPT_RATES   default 100,300,600
  --dur S            seconds per measured step          DUR         default 10
  --lat-dur S        seconds of the lowest-rate step, the one the added latency is read from (at
                     least DUR): 30 s gives 3,000 calls at 100/s, so p99 is the 30th worst   LAT_DUR default 30
  --warmup S         seconds of warm-up per system/test WARMUP      default 3
  --warmup-rate R    calls/s of the warm-up             WARMUP_RATE default 100
  --tests LIST       register,options,keepalive         TESTS       default all three
  --register-digest  each REGISTER is challenged by the stand-in registrar (401) and sent again with
                     credentials, as an Asterisk does: two transactions per call   REG_DIGEST=1
  --systems LIST     direct,kamailio,workers,node       SYSTEMS     default all four ("ours" = workers,node)
  --direct-all       direct baseline at every rate      DIRECT_ALL=1 (default: lowest rate only)
  --no-trace         no sipp -trace_msg: percentiles from -trace_rtt (whole ms)   TRACE=0
  --keep-traces      keep sipp message traces           KEEP_TRACES=1
  --no-skip          run higher rates after a system saturated (>10% failed)     NO_SKIP=1
  --no-overload      no overload step (2x each system's measured capacity)      OVERLOAD=0
  --cpu-prof         our stack processes run with node --cpu-prof (profiles in <out>/<system>/cpu-prof;
                     summarise with npx tsx bench/prof-top.ts FILE)   CPU_PROF=1
  --trace-load       during each step of ours, overload control's view every 250 ms (receive queue
                     delay, refused share, event loop utilization, decisions in flight) in
                     <out>/<step>/load-trace.tsv                                    TRACE_LOAD=1
  --soak             instead of the steps: a memory soak of ours (SYSTEMS), REGISTER and routed
                     OPTIONS together for SOAK_S seconds, gateway RSS sampled every 5 s
                     SOAK_S default 600, SOAK_WARMUP_S default 60, SOAK_REG_RATE default 300,
                     SOAK_OPT_RATE default 300 (give half the measured capacity)
  --proxy-children N Kamailio UDP workers (-n)          PROXY_CHILDREN default 4
  --shm-mb N         Kamailio shared memory (-m)        SHM_MB      default 1024
  --out DIR          results and sipp files             BENCH_OUT   default /tmp/edge-bench-<time>

Example: REG_RATES=100,400,800,1200 OPT_RATES=100,800,1600 DUR=8 npm run bench
         SYSTEMS=node SOAK_S=180 SOAK_REG_RATE=300 SOAK_OPT_RATE=400 npm run bench -- --soak`;

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
      "lat-dur": { type: "string" },
      warmup: { type: "string" },
      "warmup-rate": { type: "string" },
      tests: { type: "string" },
      systems: { type: "string" },
      "direct-all": { type: "boolean" },
      "no-trace": { type: "boolean" },
      "keep-traces": { type: "boolean" },
      "no-skip": { type: "boolean" },
      "no-overload": { type: "boolean" },
      "cpu-prof": { type: "boolean" },
      "trace-load": { type: "boolean" },
      "register-digest": { type: "boolean" },
      soak: { type: "boolean" },
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
  const tests = parseList(str(values.tests, "TESTS", "register,options,keepalive"));
  for (const t of tests) if (t !== "register" && t !== "options" && t !== "keepalive") throw new Error(`unknown test "${t}"`);
  const systems = parseList(str(values.systems, "SYSTEMS", "direct,kamailio,workers,node")).flatMap((s) => (s === "ours" ? ["workers", "node"] : [s]));
  for (const s of systems) if (!(s in SYSTEM_NAMES)) throw new Error(`unknown system "${s}"`);
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
  const soak = values.soak ?? false;
  const dur = posInt(str(values.dur, "DUR", "10"), "DUR");
  return {
    regRates: rates(str(values["reg-rates"], "REG_RATES", "100,300,600"), "REGISTER rate"),
    regDigest: values["register-digest"] ?? envFlag("REG_DIGEST"),
    optRates: rates(str(values["opt-rates"], "OPT_RATES", "100,300,600"), "OPTIONS rate"),
    dur,
    latDur: Math.max(dur, posInt(str(values["lat-dur"], "LAT_DUR", "30"), "LAT_DUR")),
    warmup: Number(str(values.warmup, "WARMUP", "3")),
    warmupRate: posInt(str(values["warmup-rate"], "WARMUP_RATE", "100"), "WARMUP_RATE"),
    tests: (["register", "options", "keepalive"] as const).filter((t) => tests.includes(t)),
    systems: (["direct", "kamailio", "workers", "node"] as const).filter((s) => systems.includes(s) && (!soak || isOurs(s))),
    directAll: values["direct-all"] ?? envFlag("DIRECT_ALL"),
    trace: !(values["no-trace"] ?? (env.TRACE === "0")),
    keepTraces: values["keep-traces"] ?? envFlag("KEEP_TRACES"),
    skipSaturated: !(values["no-skip"] ?? envFlag("NO_SKIP")),
    overload: !(values["no-overload"] ?? (env.OVERLOAD === "0")),
    cpuProf: values["cpu-prof"] ?? envFlag("CPU_PROF"),
    traceLoad: values["trace-load"] ?? envFlag("TRACE_LOAD"),
    soak,
    soakS: posInt(str(undefined, "SOAK_S", "600"), "SOAK_S"),
    soakWarmupS: posInt(str(undefined, "SOAK_WARMUP_S", "60"), "SOAK_WARMUP_S"),
    soakRegRate: posInt(str(undefined, "SOAK_REG_RATE", "300"), "SOAK_REG_RATE"),
    soakOptRate: posInt(str(undefined, "SOAK_OPT_RATE", "300"), "SOAK_OPT_RATE"),
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

async function startOurStack(dir: string, runtime: OursId, cpuProf = false): Promise<OurStack> {
  mkdirSync(dir, { recursive: true });
  const site = SITES[runtime];
  const cfg: StackProcConfig = {
    dir,
    runtime,
    sip: site.target,
    tenants: [
      { domain: TENANT_A_DOMAIN, destinations: [`sip:${site.upA}:${site.upPort}`] },
      { domain: TENANT_B_DOMAIN, destinations: [`sip:${site.upB}:${site.upPort}`] },
    ],
  };
  const out = openSync(path.join(dir, "stack.stdout"), "w");
  const err = openSync(path.join(dir, "stack.stderr"), "w");
  let child: ChildProcess;
  try {
    child = fork(path.join(BENCH_DIR, "stack-proc.ts"), [JSON.stringify(cfg)], {
      cwd: REPO_ROOT,
      // BENCH_NODE_FLAGS: extra V8/Node flags for our stack's process (say "--trace-gc"), output in stack.stdout.
      execArgv: [
        "--import",
        "tsx",
        ...(cpuProf ? ["--cpu-prof", "--cpu-prof-dir", path.join(dir, "cpu-prof")] : []),
        ...(process.env.BENCH_NODE_FLAGS ?? "").split(/\s+/).filter(Boolean),
      ],
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
  if (runtime === "workers" && workerd.length === 0) {
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

/**
 * Samples our gateway's overload gauges every 250 ms into a TSV file until stopped: how the LoadShedder
 * steered through a step (overload.ts).
 */
function traceLoad(metricsUrl: string, file: string): { stop(): Promise<void> } {
  mkdirSync(path.dirname(file), { recursive: true });
  const lines = ["t_s\tqueue_delay_ms\trefused_share\tloop_utilization\tpending_decisions\treceived\toverload_503"];
  const t0 = performance.now();
  let busy: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    busy = busy.then(async () => {
      const m = await scrape(metricsUrl).catch(() => undefined);
      if (!m) return;
      const g = (k: string): number => m.get(k) ?? 0;
      lines.push(
        [((performance.now() - t0) / 1000).toFixed(2), (g("edge_gateway_receive_queue_delay_seconds") * 1000).toFixed(1), g("edge_gateway_load_refused_share").toFixed(3),
          g("edge_gateway_event_loop_utilization").toFixed(3), String(g("edge_gateway_pending_decisions")), String(metricSum(m, "edge_gateway_received_total")), String(total(overloadRejections(m)))].join("\t"),
      );
    });
  }, 250);
  return {
    async stop() {
      clearInterval(timer);
      await busy;
      writeFileSync(file, lines.join("\n") + "\n");
    },
  };
}

/** The gateway's overload 503s by reason (`edge_gateway_rejections_total{reason="overload_*"}`). */
function overloadRejections(m: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of m) {
    const reason = /^edge_gateway_rejections_total\{reason="overload_([a-z_]+)"\}$/.exec(k)?.[1];
    if (reason !== undefined) out.set(reason, v);
  }
  return out;
}

const total = (m: Map<string, number>): number => [...m.values()].reduce((a, v) => a + v, 0);

/**
 * What a step's metrics tell beyond the tables, for its log line: the overload 503s by reason, the queue
 * probes lost (a probe the full socket buffer dropped reads as a queue up to 2 s long until it counts as
 * lost), and the decisions' slow tail by kind (a REGISTER's response decision includes its save): the share
 * over 2.5 ms and over 5 ms, from the gateway's histogram of decision call durations.
 */
function stepNotes(m0: Map<string, number>, m1: Map<string, number>): string {
  const d = (k: string): number => (m1.get(k) ?? 0) - (m0.get(k) ?? 0);
  const before = overloadRejections(m0);
  const overloadBy = [...overloadRejections(m1)]
    .map(([why, n]) => [why, n - (before.get(why) ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .map(([why, n]) => `${why} ${n}`)
    .join(", ");
  const probesLost = d("edge_gateway_receive_queue_probes_lost_total");
  const slowDecisions = (["request", "response"] as const)
    .map((kind) => {
      const bucket = (le: string): number => d(`edge_gateway_worker_call_seconds_bucket{le="${le}",kind="${kind}"}`);
      const all = bucket("+Inf");
      if (all === 0) return "";
      const pct = (le: string): string => `${fmt((100 * (all - bucket(le))) / all, 2)} %`;
      return `${kind} ${pct("0.0025")} / ${pct("0.005")}`;
    })
    .filter(Boolean)
    .join(", ");
  // The node runtime's store writer: saves that shared a commit (node-runtime/group-commit.ts).
  const groups = d("edge_store_commit_groups_total");
  const grouped = d("edge_store_grouped_saves_total");
  return (
    (overloadBy ? ` overload 503s by reason: ${overloadBy}` : "") +
    (probesLost > 0 ? ` queue probes lost ${probesLost}` : "") +
    (groups > 0 ? ` shared commits ${groups} (${grouped} saves, ${fmt(grouped / groups, 1)} each)` : "") +
    (slowDecisions ? ` decisions over 2.5 / 5 ms: ${slowDecisions}` : "")
  );
}

/**
 * Our gateway's threads over a step: its event loop apart (past the knee, is it the bottleneck, or does it
 * wait for a core?), then the busiest others (the store threads, V8's GC helpers). CPU seconds, to read
 * against the load's own length (rate x duration) rather than sipp's wall time with its tail.
 */
function threadSplit(pid: number, before: Map<number, number>, loadSec: number, wallSec: number): string {
  const used = [...threadCpuSeconds(pid)].map(([tid, sec]) => [tid, sec - (before.get(tid) ?? 0)] as const);
  const main = used.find(([tid]) => tid === pid)?.[1] ?? 0;
  const others = used.filter(([tid, sec]) => tid !== pid && sec >= 0.05).map(([, sec]) => sec).sort((a, b) => b - a);
  return ` (threads: event loop ${fmt(main, 1)} s CPU, others ${others.map((x) => fmt(x, 1)).join(" / ") || "-"} s; load ${fmt(loadSec, 1)} s, sipp wall ${fmt(wallSec, 1)} s)`;
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
  /** 503s the gateway sent because of its overload bounds (rejections reason overload_*). */
  readonly overload503: number;
  readonly store: number;
  readonly datagramsIn: number;
  readonly datagramsOut: number;
}

type Phase = "warmup" | "step" | "overload";

interface Row {
  readonly system: SystemId;
  readonly test: TestId;
  readonly rate: number;
  readonly calls: number;
  readonly phase: Phase;
  readonly result?: LoadResult;
  readonly skipped?: string;
  /** % of one core per named process group, over the sipp run. */
  readonly cpu: Record<string, number>;
  /** CPU of the proxy's own processes per successful call, µs. */
  readonly cpuPerOpUs?: number;
  /** Totals over the step (ours only). */
  readonly cost?: Cost;
}

/** The issue's clean step: at most 0.1 % failed and at least 95 % of the offered rate achieved. */
function isClean(r: LoadResult, rate: number): boolean {
  const done = r.ok + r.failed;
  return done > 0 && r.failed <= 0.001 * done && r.achieved >= 0.95 * rate;
}

/** VmRSS of a process, MB (undefined once it is gone). */
function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

interface SoakResult {
  readonly system: OursId;
  readonly reg: LoadResult;
  readonly opt: LoadResult;
  /** [seconds since start, gateway RSS MB, workerd RSS MB or undefined]. */
  readonly samples: [number, number, number | undefined][];
}

// ---- the run ----------------------------------------------------------------------------------------------

class Bench {
  private readonly rows: Row[] = [];
  readonly soaks: SoakResult[] = [];
  private readonly saturated = new Map<string, number>();
  private prefix = 100;
  private readonly ours = new Map<OursId, OurStack>();
  private kam: KamailioProxy | undefined;
  private readonly upOurs = new Map<OursId, Upstream>();
  private upKam: Upstream | undefined;
  private readonly uas = new Map<OursId | "kamailio", SippUas>();
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

  private oursSystems(): OursId[] {
    return this.o.systems.filter(isOurs);
  }

  async checkAddresses(): Promise<void> {
    const want: Addr[] = [];
    for (const id of this.oursSystems()) {
      const s = SITES[id];
      want.push(s.target, { ip: s.upA, port: s.upPort }, { ip: s.upB, port: s.upPort }, s.regClient, s.phone, s.pbx);
    }
    if (this.need("kamailio")) want.push(KAM.target, KAM.regClient);
    if (this.need("kamailio") || this.need("direct")) {
      want.push({ ip: KAM.upA, port: KAM.upPort }, { ip: KAM.upB, port: KAM.upPort }, KAM.phone, KAM.pbx);
    }
    if (this.need("direct")) want.push(DIRECT_REG_CLIENT);
    const busy: string[] = [];
    for (const a of want) if (await isUdpPortBound(a.ip, a.port)) busy.push(hp(a));
    if (busy.length > 0) throw new Error(`UDP addresses in use, not starting: ${busy.join(", ")} (another bench running?)`);
  }

  async setup(): Promise<void> {
    const dir = this.o.outDir;
    if (this.need("kamailio") || this.need("direct")) {
      this.upKam = await startUpstream({ addrA: KAM.upA, addrB: KAM.upB, port: KAM.upPort, shmMb: 1024, runDir: mkdir(dir, "upstream-kamailio") });
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
    for (const id of this.oursSystems()) {
      const s = SITES[id];
      const up = await startUpstream({ addrA: s.upA, addrB: s.upB, port: s.upPort, shmMb: 1024, runDir: mkdir(dir, `upstream-${id}`) });
      this.upOurs.set(id, up);
      this.log(`stand-in registrar (${id}) pid ${up.process.pid} on ${s.upA}/${s.upB}:${s.upPort}`);
      const stack = await startOurStack(mkdir(dir, id), id, this.o.cpuProf);
      this.ours.set(id, stack);
      this.log(`our stack (${id}): node pid ${stack.pid}${stack.workerdPids.length ? `, workerd pid ${stack.workerdPids.join(",")}` : ""}, gateway ${hp(s.target)}`);
    }
  }

  /** Registers phone 201 through the system (digest), then starts its OPTIONS-answering UAS. */
  async startPhone(system: OursId | "kamailio" | "direct"): Promise<void> {
    const key = system === "direct" ? "kamailio" : system;
    if (this.uas.has(key)) return;
    const site = SITES[key];
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
    const up = isOurs(system) ? this.upOurs.get(system) : this.upKam;
    const phone = this.uas.get(isOurs(system) ? system : "kamailio");
    const peer: CpuGroup =
      test === "register" ? { name: "peer", pids: up ? tree(up.process.pid) : [] } : test === "options" ? { name: "peer", pids: phone ? [phone.pid] : [] } : { name: "peer", pids: [] };
    const stack = isOurs(system) ? this.ours.get(system) : undefined;
    if (stack) {
      return { sys: [{ name: "node", pids: [stack.pid] }, ...(stack.workerdPids.length ? [{ name: "workerd", pids: stack.workerdPids }] : [])], peer };
    }
    if (system === "kamailio" && this.kam) return { sys: [{ name: "proxy", pids: tree(this.kam.pid) }], peer };
    return { sys: [], peer };
  }

  private loadSpec(system: SystemId, test: TestId): Pick<LoadSpec, "scenario" | "target" | "bindIp" | "bindPort" | "keys" | "service"> {
    const site = system === "direct" ? KAM : SITES[system];
    if (test === "register") {
      return {
        scenario: this.o.regDigest ? SCENARIOS.registerDigest : SCENARIOS.register,
        target: system === "direct" ? `${KAM.upA}:${KAM.upPort}` : hp(site.target),
        bindIp: system === "direct" ? DIRECT_REG_CLIENT.ip : site.regClient.ip,
        bindPort: system === "direct" ? DIRECT_REG_CLIENT.port : site.regClient.port,
        keys: { domain: TENANT_A_DOMAIN, contact: system === "direct" ? DIRECT_REG_CONTACT : site.regContact, prefix: String(this.prefix++) },
      };
    }
    if (test === "keepalive") return { scenario: SCENARIOS.keepalive, target: hp(site.target), bindIp: site.regClient.ip, bindPort: site.regClient.port };
    return { scenario: SCENARIOS.options, target: system === "direct" ? hp(KAM.phone) : hp(site.target), bindIp: site.pbx.ip, bindPort: site.pbx.port, service: "201" };
  }

  /** One measured (or warm-up, or overload) step; returns the row. */
  async step(system: SystemId, test: TestId, rate: number, seconds: number, phase: Phase): Promise<Row> {
    const calls = Math.max(1, Math.round(rate * seconds));
    const { sys, peer } = this.groups(system, test);
    const all = [...sys, peer];
    const label = `${phase}-${system}-${test}-${rate}`;
    const stack = isOurs(system) ? this.ours.get(system) : undefined;
    const m0 = stack ? await scrape(stack.metricsUrl) : undefined;
    const s0 = stack ? await stack.storeRequests() : 0;
    const c0 = sampleGroups(all);
    const threads0 = stack ? threadCpuSeconds(stack.pid) : undefined;
    const trace = stack && this.o.traceLoad ? traceLoad(stack.metricsUrl, path.join(this.o.outDir, label, "load-trace.tsv")) : undefined;
    const result = await runLoad({
      ...this.loadSpec(system, test),
      label,
      parentDir: this.o.outDir,
      rate,
      calls,
      traceMsg: this.o.trace,
      keepTrace: this.o.keepTraces,
      timeoutSec: seconds + 30,
      recvTimeoutMs: 8000,
    });
    await trace?.stop();
    const c1 = sampleGroups(all);
    const threads = stack && threads0 ? threadSplit(stack.pid, threads0, seconds, result.wallSec) : "";
    const cpu: Record<string, number> = {};
    for (const g of all) cpu[g.name] = (((c1.get(g.name) ?? 0) - (c0.get(g.name) ?? 0)) / result.wallSec) * 100;
    cpu.sipp = (result.sippCpuSec / result.wallSec) * 100;
    const sysCpuSec = sys.reduce((s, g) => s + (c1.get(g.name) ?? 0) - (c0.get(g.name) ?? 0), 0);
    let cost: Cost | undefined;
    let notes = "";
    if (m0 && stack) {
      const m1 = await scrape(stack.metricsUrl);
      const s1 = await stack.storeRequests();
      const d = (k: string): number => (m1.get(k) ?? 0) - (m0.get(k) ?? 0);
      const dsum = (k: string): number => metricSum(m1, k) - metricSum(m0, k);
      notes = stepNotes(m0, m1);
      cost = {
        workerRequest: d('edge_gateway_worker_calls_total{kind="request"}'),
        workerResponse: d('edge_gateway_worker_calls_total{kind="response"}'),
        workerFailures: dsum("edge_gateway_worker_failures_total"),
        overload503: total(overloadRejections(m1)) - total(overloadRejections(m0)),
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
      phase,
      result,
      cpu,
      ...(sys.length > 0 && result.ok > 0 ? { cpuPerOpUs: (sysCpuSec / result.ok) * 1e6 } : {}),
      ...(cost ? { cost } : {}),
    };
    const r = result;
    this.log(
      `${phase === "step" ? "" : `${phase} `}${system} ${test} ${rate}/s: ok ${r.ok}/${calls} failed ${r.failed} retrans ${r.retrans}` +
        ` ach ${fmt(r.achieved)}/s p50 ${fmtMs(r.p50Ms)} p99 ${fmtMs(r.p99Ms)} max ${fmtMs(r.maxMs)} ms` +
        ` cpu ${Object.entries(cpu).map(([k, v]) => `${k} ${fmt(v)}%`).join(" ")}` +
        threads +
        (cost && r.ok > 0 ? ` worker ${fmt((cost.workerRequest + cost.workerResponse) / r.ok, 2)}/op store ${fmt(cost.store / r.ok, 2)}/op` : "") +
        (cost && cost.workerFailures > 0 ? ` worker failures ${cost.workerFailures}` : "") +
        (cost && cost.overload503 > 0 ? ` overload 503s ${cost.overload503}` : "") +
        notes,
    );
    // Let the system drain (worker backlog, retransmissions) before the next step.
    await settle(all.flatMap((g) => g.pids), { minMs: 1500, maxMs: 20_000 });
    if (isOurs(system)) await this.checkOurs(system, `${phase} ${test} ${rate}/s`);
    return row;
  }

  /**
   * After an overload our stack may stop answering for good (seen before the overload bounds existed: the
   * worker's requests then ended in "Worker's code had hung" 500s or timed out). A 5-REGISTER probe tells;
   * if it fails, the incident is recorded and the stack is restarted (fresh store) so that later steps
   * measure the system, not the wedge.
   */
  private async checkOurs(id: OursId, after: string): Promise<void> {
    const stack = this.ours.get(id);
    if (!stack) return;
    const site = SITES[id];
    const probeOnce = (): Promise<LoadResult> =>
      runLoad({
        label: `probe-${id}-${++this.probes}`,
        parentDir: this.o.outDir,
        scenario: SCENARIOS.register,
        target: hp(site.target),
        bindIp: site.regClient.ip,
        bindPort: site.regClient.port,
        rate: 20,
        calls: 5,
        keys: { domain: TENANT_A_DOMAIN, contact: site.regContact, prefix: String(this.prefix++) },
        traceMsg: false,
        keepTrace: false,
        timeoutSec: 15,
        recvTimeoutMs: 4000,
      });
    const probe = await probeOnce();
    if (probe.ok === 5) return;
    // Refused (503) rather than wedged? Server transactions that answered linger in Completed for Timer J
    // (64*T1= 32 s, RFC 3261 17.2.2) and count against MAX_TRANSACTIONS: give them time to go.
    const t0 = Date.now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 4000));
      const again = await probeOnce();
      if (again.ok === 5) {
        const msg = `${id} refused new requests after ${after} for ${((Date.now() - t0) / 1000 + 1).toFixed(0)}-${((Date.now() - t0) / 1000 + 5).toFixed(0)} s after the drain (probe ${probe.ok}/5 first, then 5/5; no restart)`;
        this.incidents.push(msg);
        this.log(msg);
        return;
      }
      if (Date.now() - t0 > 40_000) break;
    }
    const msg = `${id} stopped answering after ${after}: health probe ${probe.ok}/5 REGISTER ok after the drain and still failing 40 s later; stack restarted`;
    this.incidents.push(msg);
    this.log(msg);
    const uas = this.uas.get(id);
    if (uas) {
      await uas.stop();
      this.uas.delete(id);
    }
    await stack.stop();
    const fresh = await startOurStack(mkdir(this.o.outDir, `${id}-restart-${++this.restarts}`), id, this.o.cpuProf);
    this.ours.set(id, fresh);
    this.log(`our stack (${id}) restarted: node pid ${fresh.pid}`);
    if (this.o.tests.includes("options")) await this.startPhone(id);
  }

  private isSaturated(r: LoadResult, calls: number): boolean {
    return r.failed > 0.1 * Math.max(1, r.ok + r.failed) || r.ok < 0.9 * calls;
  }

  /** Highest clean step (isClean) of a system and test; `top` when that is the highest rate measured. */
  capacity(system: SystemId, test: TestId): { rate: number; top: boolean } | undefined {
    const steps = this.rows.filter((r) => r.system === system && r.test === test && r.phase === "step" && r.result);
    const clean = steps.filter((r) => isClean(r.result!, r.rate)).map((r) => r.rate);
    if (clean.length === 0) return undefined;
    const rate = Math.max(...clean);
    return { rate, top: rate === Math.max(...steps.map((r) => r.rate)) };
  }

  private loadTests(): ("register" | "options")[] {
    return this.o.tests.filter((t): t is "register" | "options" => t !== "keepalive");
  }

  async measure(): Promise<void> {
    if (this.o.tests.includes("options")) {
      // Phone 201 registered through each proxy before its UAS takes the phone's port; the direct
      // baseline uses the reference's phone (started unregistered when Kamailio itself is not measured).
      if (this.need("kamailio")) await this.startPhone("kamailio");
      else if (this.need("direct")) await this.startPhone("direct");
      for (const id of this.oursSystems()) await this.startPhone(id);
    }
    if (this.o.warmup > 0) {
      for (const test of this.loadTests()) {
        for (const system of this.o.systems) await this.step(system, test, this.o.warmupRate, this.o.warmup, "warmup");
      }
    }
    for (const test of this.loadTests()) {
      const rates = test === "register" ? this.o.regRates : this.o.optRates;
      for (const [i, rate] of rates.entries()) {
        for (const system of this.o.systems) {
          if (system === "direct" && i > 0 && !this.o.directAll) continue;
          const key = `${system}/${test}`;
          const sat = this.saturated.get(key);
          if (sat !== undefined && this.o.skipSaturated) {
            this.rows.push({ system, test, rate, calls: rate * this.o.dur, phase: "step", cpu: {}, skipped: `saturated at ${sat}/s` });
            this.log(`${system} ${test} ${rate}/s skipped (saturated at ${sat}/s)`);
            continue;
          }
          // The lowest rate gives the added latency: a longer step, so that its p99 rests on more than a few calls.
          const row = await this.step(system, test, rate, i === 0 ? this.o.latDur : this.o.dur, "step");
          this.rows.push(row);
          if (row.result && this.isSaturated(row.result, row.calls) && sat === undefined) this.saturated.set(key, rate);
        }
      }
    }
    if (this.o.tests.includes("keepalive")) {
      // Keep-alive OPTIONS to the gateway itself: answered in the ingress, no decision (target 0 calls).
      for (const id of this.oursSystems()) this.rows.push(await this.step(id, "keepalive", 100, this.o.dur, "step"));
    }
    if (this.o.overload) {
      // Twice each system's measured capacity: goodput should stay >= 0.8x capacity, without a retransmission storm.
      for (const test of this.loadTests()) {
        for (const system of this.o.systems) {
          if (system === "direct") continue;
          const cap = this.capacity(system, test);
          if (!cap) continue;
          this.rows.push(await this.step(system, test, 2 * cap.rate, this.o.dur, "overload"));
        }
      }
    }
  }

  /** Memory soak: REGISTER and routed OPTIONS together through each of ours, gateway RSS every 5 s. */
  async soak(): Promise<void> {
    if (this.o.tests.includes("options")) for (const id of this.oursSystems()) await this.startPhone(id);
    for (const id of this.oursSystems()) {
      const stack = this.ours.get(id)!;
      const site = SITES[id];
      const samples: SoakResult["samples"] = [];
      const t0 = Date.now();
      const sample = (): void => {
        const g = rssMb(stack.pid);
        if (g !== undefined) samples.push([(Date.now() - t0) / 1000, g, stack.workerdPids.length ? stack.workerdPids.reduce((a, p) => a + (rssMb(p) ?? 0), 0) : undefined]);
      };
      sample();
      const timer = setInterval(sample, 5000);
      this.log(`soak ${id}: REGISTER ${this.o.soakRegRate}/s + OPTIONS ${this.o.soakOptRate}/s for ${this.o.soakS} s`);
      const common = { parentDir: this.o.outDir, traceMsg: false, keepTrace: false, timeoutSec: this.o.soakS + 60, recvTimeoutMs: 8000 };
      const [reg, opt] = await Promise.all([
        runLoad({ ...common, ...this.loadSpec(id, "register"), label: `soak-${id}-register`, rate: this.o.soakRegRate, calls: this.o.soakRegRate * this.o.soakS }),
        runLoad({ ...common, ...this.loadSpec(id, "options"), label: `soak-${id}-options`, rate: this.o.soakOptRate, calls: this.o.soakOptRate * this.o.soakS }),
      ]);
      clearInterval(timer);
      sample();
      this.soaks.push({ system: id, reg, opt, samples });
      this.log(`soak ${id}: register ok ${reg.ok} failed ${reg.failed}; options ok ${opt.ok} failed ${opt.failed}; RSS ${samples.map((s) => fmt(s[1])).join(" ")}`);
      writeFileSync(path.join(this.o.outDir, `soak-${id}-rss.csv`), ["t_s,gateway_rss_mb,workerd_rss_mb", ...samples.map((s) => s.map((v) => (v === undefined ? "" : v.toFixed(1))).join(","))].join("\n") + "\n");
    }
  }

  async teardown(): Promise<void> {
    for (const u of this.uas.values()) await u.stop().catch(() => undefined);
    for (const s of this.ours.values()) await s.stop().catch(() => undefined);
    await this.kam?.stop().catch(() => undefined);
    for (const u of this.upOurs.values()) await u.stop().catch(() => undefined);
    await this.upKam?.stop().catch(() => undefined);
  }

  // ---- tables -------------------------------------------------------------------------------------------

  tables(): Table[] {
    const out: Table[] = [];
    const stepRow = (system: SystemId, test: TestId, rate: number): Row | undefined =>
      this.rows.find((r) => r.system === system && r.test === test && r.rate === rate && r.phase === "step");
    const peerName = (t: TestId): string => (t === "register" ? "stand-in" : "phone");
    const proxies = this.o.systems.filter((s) => s !== "direct");
    for (const system of this.o.systems) {
      const rows = this.rows.filter((r) => r.system === system && r.phase !== "warmup");
      if (rows.length === 0) continue;
      const ours = isOurs(system);
      const sysCols = system === "workers" ? ["node%", "workerd%"] : system === "node" ? ["node%"] : system === "kamailio" ? ["proxy%"] : [];
      const headers = [
        "test", "rate/s", "sent", "ok", "failed", "fail%", "achvd/s", "p50 ms", "p99 ms", "max ms", "retrans",
        ...sysCols, "peer%", "sipp%",
        ...(system !== "direct" ? ["cpu µs/op"] : []),
        ...(ours ? ["worker/op", "store/op", "503 ovl"] : []),
      ];
      const body = rows.map((row) => {
        const r = row.result;
        const test = row.phase === "overload" ? `${row.test} (2x cap)` : row.test;
        if (!r) return [test, String(row.rate), "skipped", ...new Array<string>(headers.length - 3).fill("-")];
        const fails = r.ok + r.failed > 0 ? (100 * r.failed) / (r.ok + r.failed) : 0;
        const c = row.cost;
        return [
          test, String(row.rate), String(r.sent), String(r.ok), String(r.failed), fmt(fails, 1), fmt(r.achieved),
          fmtMs(r.p50Ms), fmtMs(r.p99Ms), fmtMs(r.maxMs), String(r.retrans),
          ...(system === "workers" ? [fmt(row.cpu.node), fmt(row.cpu.workerd)] : system === "node" ? [fmt(row.cpu.node)] : system === "kamailio" ? [fmt(row.cpu.proxy)] : []),
          fmt(row.cpu.peer), fmt(row.cpu.sipp),
          ...(system !== "direct" ? [fmt(row.cpuPerOpUs)] : []),
          ...(ours
            ? [c && r.ok ? fmt((c.workerRequest + c.workerResponse) / r.ok, 2) : "-", c && r.ok ? fmt(c.store / r.ok, 2) : "-", c ? String(c.overload503) : "-"]
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
          ...(system === "workers" ? ["node% = the Node process running gateway + store endpoint; workerd% = the worker (Miniflare)."] : []),
          ...(system === "node" ? ["node% = the one Node process: gateway, decisions, and the store thread."] : []),
          ...(ours
            ? [
                "worker/op, store/op = decision calls (request + response events) and store round trips per successful call (all calls of the step counted);",
                "503 ovl = 503s sent by the overload bounds (MAX_TRANSACTIONS, MAX_PENDING_DECISIONS, MAX_DECISION_WAIT_MS, MAX_QUEUE_DELAY_MS). keepalive = OPTIONS to the gateway itself.",
                ...this.incidents.filter((i) => i.startsWith(system)).map((i) => `! ${i}`),
              ]
            : []),
        ],
      });
    }

    // Capacity: the highest clean step, and the ratio to the reference in the same run.
    if (proxies.length > 0) {
      const rows: string[][] = [];
      const capStr = (c: { rate: number; top: boolean } | undefined): string => (c ? `${c.top ? ">= " : ""}${c.rate}` : "none clean");
      for (const test of this.loadTests()) {
        const kam = this.capacity("kamailio", test);
        rows.push([
          test,
          ...proxies.flatMap((s) => {
            const c = this.capacity(s, test);
            // Kamailio clean at the top rate: its capacity is a lower bound, so the ratio is an upper bound.
            return s === "kamailio" ? [capStr(c)] : [capStr(c), `${kam?.top && c ? "<= " : ""}${ratio(c?.rate, kam?.rate)}`];
          }),
        ]);
      }
      out.push({
        title: "capacity: highest clean step (<= 0.1 % failed and >= 95 % of the offered rate achieved), per second",
        headers: ["test", ...proxies.flatMap((s) => (s === "kamailio" ? ["kam"] : [SHORT[s], `${SHORT[s]}/kam`]))],
        rows,
        notes: [
          "\">= r\": clean at the highest rate run, so the capacity is at least r (the bench's rates bound it, not the system).",
          "targets: node >= 0.5x Kamailio for both workloads (aim 1.0x). Resolution: the step rates given.",
        ],
      });
    }

    if (this.need("direct")) {
      const rows: string[][] = [];
      const others = proxies;
      for (const test of this.loadTests()) {
        const rate = (test === "register" ? this.o.regRates : this.o.optRates)[0];
        if (rate === undefined) continue;
        const d = stepRow("direct", test, rate)?.result;
        const add = (x: number | undefined, y: number | undefined): string => (x === undefined || y === undefined ? "-" : fmtMs(x - y));
        rows.push([
          test, String(rate), fmtMs(d?.p50Ms), fmtMs(d?.p99Ms),
          ...others.flatMap((s) => {
            const u = stepRow(s, test, rate)?.result;
            return [add(u?.p50Ms, d?.p50Ms), add(u?.p99Ms, d?.p99Ms)];
          }),
        ]);
      }
      out.push({
        title: "latency added over the direct path at the lowest rate (ms)",
        headers: ["test", "rate/s", "direct p50", "direct p99", ...others.flatMap((s) => [`${SHORT[s]} +p50`, `${SHORT[s]} +p99`])],
        rows,
        notes: [
          "direct: sipp straight to the stand-in registrar (register) or to the phone UAS (options); added = proxy percentile minus direct percentile.",
          "targets at 100/s: node +p99 <= 5 ms, workers +p99 <= 20 ms, both workloads.",
        ],
      });
    }

    for (const id of this.oursSystems()) {
      const rows: string[][] = [];
      for (const test of this.o.tests) {
        // The lowest rate at which every call went through without a retransmission; else the lowest at all.
        const measured = this.rows.filter((r) => r.system === id && r.test === test && r.phase === "step" && r.cost && r.result && r.result.ok > 0);
        const row = measured.find((r) => r.result!.failed === 0 && r.result!.retrans === 0) ?? measured[0];
        const c = row?.cost;
        const ok = row?.result?.ok ?? 0;
        if (!row || !c || ok === 0) continue;
        const per = (n: number): string => fmt(n / ok, 3);
        rows.push([
          test, `${row.rate}${row.result!.failed === 0 && row.result!.retrans === 0 ? "" : " (overloaded)"}`, String(ok), per(c.workerRequest), per(c.workerResponse), per(c.workerFailures),
          per(c.store), `${c.store}`, per(c.datagramsIn), per(c.datagramsOut), fmt(row.cpuPerOpUs),
        ]);
      }
      out.push({
        title: `what one call costs ${SHORT[id]} (lowest clean rate; counters read before/after the step)`,
        headers: ["test", "rate/s", "ok", "decision req/op", "decision resp/op", "fail/op", "store RT/op", "store RT", "dgrams in/op", "dgrams out/op", "cpu µs/op"],
        rows,
        notes: [
          "decision calls: the gateway's edge_gateway_worker_calls_total{kind} (workers: HTTP to the worker; node: in-process calls).",
          id === "workers"
            ? "store RT: HTTP pipeline requests the store endpoint received (one per Hrana client round trip); includes the worker's tenant-directory reloads (TENANT_CACHE_TTL_MS=1000: ~1/s whatever the rate)."
            : "store RT: calls from the decisions to the store thread (one per round trip); includes the tenant-directory reloads (TENANT_CACHE_TTL_MS=1000: ~1/s whatever the rate).",
          "keepalive target: 0 decision calls per keep-alive OPTIONS to the gateway itself. Kamailio: no external hop (usrloc in memory).",
        ],
      });
    }

    const over = this.rows.filter((r) => r.phase === "overload" && r.result);
    if (over.length > 0) {
      out.push({
        title: "overload: twice the measured capacity for one step",
        headers: ["system", "test", "capacity/s", "offered/s", "goodput/s", "goodput/cap", ">= 0.8x", "ok", "failed", "retrans", "retrans/sent", "503 ovl", "p99 ms"],
        rows: over.map((r) => {
          const cap = r.rate / 2;
          const res = r.result!;
          const g = res.achieved;
          return [
            SHORT[r.system], r.test, String(cap), String(r.rate), fmt(g), fmt(g / cap, 2), g >= 0.8 * cap ? "met" : "missed",
            String(res.ok), String(res.failed), String(res.retrans), fmt(res.sent > 0 ? res.retrans / res.sent : 0, 3), r.cost ? String(r.cost.overload503) : "-", fmtMs(res.p99Ms),
          ];
        }),
        notes: [
          "goodput = 2xx completed per second over the step (sipp: ok / (last 2xx - first request)); retrans = sipp's client retransmissions (its 500 ms T1 timer);",
          "503 ovl = 503 + Retry-After sent by the gateway's overload bounds (sipp counts a 503 as a failed call). Kamailio's reference has no such bound.",
        ],
      });
    }

    if (this.soaks.length > 0) {
      out.push({
        title: `memory soak: REGISTER ${this.o.soakRegRate}/s + routed OPTIONS ${this.o.soakOptRate}/s for ${this.o.soakS} s (warm-up ${this.o.soakWarmupS} s)`,
        headers: [
          "system", "reg ok", "reg failed", "opt ok", "opt failed", "RSS start MB", "RSS after warm-up MB", "RSS max after warm-up MB", "RSS end MB",
          "growth after warm-up", "< 10 %", "floor first/last window MB", "floor growth", "< 10 %", "workerd RSS warm-up/end MB",
        ],
        rows: this.soaks.map((s) => {
          const after = s.samples.filter((x) => x[0] >= this.o.soakWarmupS);
          const w = after[0] ?? s.samples[0]!;
          const end = s.samples[s.samples.length - 1]!;
          const max = Math.max(...after.map((x) => x[1]));
          const growth = (end[1] - w[1]) / w[1];
          // The floor: the lowest RSS (just after a major GC) in the first and in the last fifth of the soak
          // after warm-up. V8 lets garbage pile up to about twice the live set before a full collection, so
          // single samples saw-tooth; the floors follow what is really kept.
          const windowS = Math.max(30, (this.o.soakS - this.o.soakWarmupS) / 5);
          const t0 = w[0];
          const tEnd = end[0];
          const floorOf = (from: number, to: number): number => Math.min(...after.filter((x) => x[0] >= from && x[0] <= to).map((x) => x[1]));
          const firstFloor = floorOf(t0, t0 + windowS);
          const lastFloor = floorOf(tEnd - windowS, tEnd);
          const floorGrowth = (lastFloor - firstFloor) / firstFloor;
          return [
            SHORT[s.system], String(s.reg.ok), String(s.reg.failed), String(s.opt.ok), String(s.opt.failed),
            fmt(s.samples[0]![1]), fmt(w[1]), fmt(max), fmt(end[1]), `${fmt(100 * growth, 1)} %`, growth < 0.1 ? "met" : "missed",
            `${fmt(firstFloor)} / ${fmt(lastFloor)}`, `${fmt(100 * floorGrowth, 1)} %`, floorGrowth < 0.1 ? "met" : "missed",
            w[2] === undefined ? "-" : `${fmt(w[2])} / ${fmt(end[2])}`,
          ];
        }),
        notes: [
          "RSS = VmRSS of the gateway's Node process (node runtime: gateway, decisions and the store threads with their SQLite caches) sampled every 5 s;",
          "growth = (end - first sample after warm-up) / that sample. Every REGISTER adds a binding (expires 3600): the store grows through the soak.",
          "floor = the lowest sample in the first and in the last fifth of the soak after warm-up (at least 30 s each): RSS just after a full GC.",
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
  const loadTests = o.tests.filter((t) => t !== "keepalive");
  const proxies = o.systems.filter((s) => s !== "direct").length;
  const steps = loadTests.reduce((n, t) => {
    const rates = t === "register" ? o.regRates : o.optRates;
    return n + rates.length * proxies + (o.systems.includes("direct") ? (o.directAll ? rates.length : 1) : 0);
  }, 0) + (o.tests.includes("keepalive") ? o.systems.filter(isOurs).length : 0) + (o.overload ? loadTests.length * proxies : 0);
  if (o.soak) {
    console.log(`edge-registrar bench, memory soak: ${o.systems.join(", ")}; REGISTER ${o.soakRegRate}/s + OPTIONS ${o.soakOptRate}/s for ${o.soakS} s each`);
  } else {
    // The lowest-rate step of each test and system runs longer (latDur).
    const latExtra = loadTests.length * o.systems.length * (o.latDur - o.dur);
    console.log(`edge-registrar bench: ${o.tests.join(" + ")}; REGISTER${o.regDigest ? " (challenged, two transactions)" : ""} ${o.regRates.join("/")}/s, OPTIONS ${o.optRates.join("/")}/s; ${o.dur} s per step (lowest rate ${o.latDur} s); ` +
      `systems ${o.systems.join(", ")}; ${steps} measured steps${o.overload ? " (overload included)" : ""} (~${Math.round((steps * (o.dur + 5) + latExtra + loadTests.length * o.systems.length * (o.warmup + 4) + 40) / 60)} min)`);
  }
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
    if (o.soak) await bench.soak();
    else await bench.measure();
  } finally {
    if (!interrupted) await bench.teardown();
  }
  const facts = machineFacts(kamVersion);
  const tables = bench.tables();
  const cmd = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  const envUsed = ["REG_RATES", "OPT_RATES", "DUR", "LAT_DUR", "WARMUP", "TESTS", "REG_DIGEST", "SYSTEMS", "DIRECT_ALL", "TRACE", "NO_SKIP", "OVERLOAD", "SOAK_S", "SOAK_WARMUP_S", "SOAK_REG_RATE", "SOAK_OPT_RATE", "PROXY_CHILDREN", "SHM_MB", "MAX_QUEUE_DELAY_MS", "BENCH_WORKER_VARS", "BENCH_NODE_FLAGS"]
    .filter((k) => process.env[k])
    .map((k) => `${k}=${process.env[k]}`);
  const header = [
    `command: ${[...envUsed, cmd].join(" ")}`,
    `date: ${new Date(startedAt).toISOString()}`,
    ...facts,
    ...(bench.kamNote ? [bench.kamNote] : []),
    ...(o.soak
      ? []
      : [
          `${o.dur} s per step (the lowest rate, which gives the added latency, ${o.latDur} s), warm-up ${o.warmup} s per system and test at ${o.warmupRate}/s; latency = first transmission of the request to the final 2xx, ` +
            (o.trace ? "from sipp's -trace_msg timestamps (µs)" : "from sipp's -trace_rtt (whole ms)") +
            `; achvd/s = ok / (last final 2xx - first request)`,
        ]),
    `total run ${((Date.now() - startedAt) / 1000).toFixed(0)} s`,
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
