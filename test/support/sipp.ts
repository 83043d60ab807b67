// sipp (Debian sip-tester) as a phone or a PBX in end-to-end tests. Every run gets its own directory with
// the message trace, the error file and the <log> actions, and its own control port (-cp): sipp binds
// 0.0.0.0:8888 otherwise, which parallel test files would fight over.
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import {
  createTempDir,
  findExecutable,
  findFreeUdpPort,
  formatExit,
  startProcess,
  TIMED_OUT,
  waitAtMost,
  waitForUdpPort,
  waitForUdpPortFree,
} from "./processes";
import type { ManagedProcess } from "./processes";
import { scenarioPath } from "./paths";

/** Digest credentials (`-au`/`-ap`); `uri` sets `-auth_uri` (sipp otherwise uses `remote_ip:remote_port`). */
export interface SippAuth {
  readonly user: string;
  readonly pass: string;
  /** Value for `-auth_uri`, without `sip:`, e.g. the Request-URI's domain. */
  readonly uri?: string;
}

/** Options shared by client runs and background servers. */
interface SippCommonOptions {
  /** Scenario file (absolute path, e.g. from scenarioPath()). */
  readonly scenario: string;
  /** Local address and port sipp binds (-i / -p). */
  readonly bindIp: string;
  readonly bindPort: number;
  /** `-s`: the [service] keyword (the extension). */
  readonly service?: string;
  /** `-key name value` for each entry: [domain], [contact], [expires], ... in the scenario. */
  readonly keys?: Readonly<Record<string, string>>;
  readonly extraArgs?: readonly string[];
  /** Parent directory for this run's files; a fresh temp dir when omitted (kept: read it on failure). */
  readonly workDir?: string;
  /** Label for the run directory and error messages; defaults to the scenario's base name. */
  readonly name?: string;
}

/** One sipp client run: `calls` calls of `scenario` against `target`. */
export interface SippRunOptions extends SippCommonOptions {
  /** `ip:port` the scenario sends to (our gateway, or a registrar directly). */
  readonly target: string;
  readonly auth?: SippAuth;
  /** `-m` (default 1). */
  readonly calls?: number;
  /** `-timeout` in seconds, a failure when reached (default 20). */
  readonly timeoutSec?: number;
  /** `-recv_timeout` in ms for each expected message (default 8000). */
  readonly recvTimeoutMs?: number;
  /** Resolve (instead of rejecting) when calls failed (exit code 1), to assert on a failure. */
  readonly allowFailedCalls?: boolean;
}

/** A background sipp server (a phone that answers, a PBX that receives). */
export interface SippUasOptions extends SippCommonOptions {
  /** `-m`: exit after this many calls; runs until stop() when omitted. */
  readonly calls?: number;
  /** `-timeout` in seconds, so that a forgotten server ends by itself (default 120). */
  readonly timeoutSec?: number;
}

/** What one sipp run produced. */
export interface SippResult {
  readonly name: string;
  readonly exitCode: number | null;
  readonly args: readonly string[];
  /** The run's directory: messages.log, errors.log, actions.log, sipp.stdout, sipp.stderr. */
  readonly dir: string;
  /** Full -trace_msg text (every message sent and received). */
  readonly messages: string;
  /** Lines written by the scenario's <log> actions. */
  readonly log: readonly string[];
  /** Status lines of the responses received, in order, e.g. "SIP/2.0 401 Unauthorized". */
  readonly statusLines: readonly string[];
  /** The -trace_err file (sipp's account of failures), empty when nothing went wrong. */
  readonly errors: string;
  /** sipp's stderr. */
  readonly stderr: string;
}

/** Why a sipp run is a failure: failed calls, a scenario sipp could not load, a bind, a timeout, other fatal. */
export type SippFailureKind = "calls-failed" | "scenario" | "bind" | "timeout" | "fatal";

/** A sipp run that did not succeed; carries the whole result for assertions and diagnostics. */
export class SippError extends Error {
  override readonly name = "SippError";
  constructor(
    readonly kind: SippFailureKind,
    readonly result: SippResult,
  ) {
    super(describeFailure(kind, result));
  }
}

/** One message of a -trace_msg file. */
export interface SippTraceEntry {
  readonly direction: "sent" | "received";
  /** Request line or status line. */
  readonly firstLine: string;
  readonly text: string;
}

/** Splits a -trace_msg file into its messages (UDP form: "UDP message sent/received ..."). */
export function parseSippTrace(trace: string): SippTraceEntry[] {
  const entries: SippTraceEntry[] = [];
  const blocks = trace.split(/^-{10,}.*$/m);
  for (const block of blocks) {
    const head = /^\s*\w+ message (sent|received)[^\n]*\n/.exec(block);
    if (!head) continue;
    const text = block.slice(head[0].length).replace(/^\s*\n/, "").replace(/\s+$/, "");
    const firstLine = (text.split(/\r?\n/, 1)[0] ?? "").trim();
    entries.push({ direction: head[1] === "sent" ? "sent" : "received", firstLine, text });
  }
  return entries;
}

/** Status lines of the responses in a -trace_msg text, in arrival order. */
export function receivedStatusLines(trace: string): string[] {
  return parseSippTrace(trace)
    .filter((e) => e.direction === "received" && e.firstLine.startsWith("SIP/2.0 "))
    .map((e) => e.firstLine);
}

/** Request lines of the requests in a -trace_msg text, in arrival order (for servers). */
export function receivedRequestLines(trace: string): string[] {
  return parseSippTrace(trace)
    .filter((e) => e.direction === "received" && !e.firstLine.startsWith("SIP/2.0 "))
    .map((e) => e.firstLine);
}

/** What a sipp exit code means (sipp's documented codes). */
export function describeSippExit(code: number | null): string {
  switch (code) {
    case 0:
      return "0: all calls succeeded";
    case 1:
      return "1: at least one call failed";
    case 97:
      return "97: exit on internal command (stop_now) or global timeout";
    case 99:
      return "99: normal exit without calls processed";
    case 254:
      return "254 (-2): fatal error binding a socket";
    case 255:
      return "255 (-1): fatal error";
    case null:
      return "killed by a signal";
    default:
      return `${code}: unknown exit code`;
  }
}

function classify(result: SippResult): SippFailureKind | undefined {
  const text = `${result.errors}\n${result.stderr}`;
  if (result.exitCode === 0) return undefined;
  // sipp also exits 1 when the scenario file does not load.
  if (/Unable to load or parse|Invalid XML|is referenced \d+ times|looks like a keyword/i.test(text)) return "scenario";
  if (result.exitCode === 1) return "calls-failed";
  if (result.exitCode === 254 || /Unable to bind/i.test(text)) return "bind";
  if (/timed out after/i.test(text)) return "timeout";
  return "fatal";
}

function describeFailure(kind: SippFailureKind, r: SippResult): string {
  const what: Record<SippFailureKind, string> = {
    "calls-failed": "a call failed (the peer did not answer as the scenario expects)",
    scenario: "sipp could not load the scenario",
    bind: "sipp could not bind a socket",
    timeout: "sipp's global timeout (-timeout) was reached",
    fatal: "sipp hit a fatal error",
  };
  const parts = [
    `sipp ${r.name}: ${what[kind]}; exit ${describeSippExit(r.exitCode)}`,
    `received: ${r.statusLines.length ? r.statusLines.join(" | ") : "(no responses)"}`,
  ];
  if (r.errors.trim()) parts.push(`errors:\n${r.errors.trim()}`);
  if (r.log.length) parts.push(`log:\n${r.log.join("\n")}`);
  if (r.stderr.trim() && !r.errors.includes(r.stderr.trim())) parts.push(`stderr:\n${r.stderr.trim().slice(-2000)}`);
  parts.push(`files: ${r.dir}`);
  parts.push(`command: sipp ${r.args.join(" ")}`);
  return parts.join("\n");
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch {
    return "";
  }
}

interface RunFiles {
  readonly dir: string;
  readonly messages: string;
  readonly errors: string;
  readonly actions: string;
}

async function runDirFor(options: SippCommonOptions): Promise<{ name: string; files: RunFiles }> {
  const name = options.name ?? path.basename(options.scenario, ".xml");
  const stamp = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const dir = options.workDir
    ? path.join(options.workDir, `${name.replace(/[^A-Za-z0-9._-]+/g, "_")}-${stamp}`)
    : await createTempDir(`sipp-${name}`);
  await mkdir(dir, { recursive: true });
  return {
    name,
    files: {
      dir,
      messages: path.join(dir, "messages.log"),
      errors: path.join(dir, "errors.log"),
      actions: path.join(dir, "actions.log"),
    },
  };
}

function commonArgs(options: SippCommonOptions, files: RunFiles, controlPort: number): string[] {
  const args = [
    "-sf", options.scenario,
    "-i", options.bindIp,
    "-p", String(options.bindPort),
    "-nostdin",
    "-cp", String(controlPort),
    "-trace_msg", "-message_file", files.messages,
    "-trace_err", "-error_file", files.errors,
    "-trace_logs", "-log_file", files.actions,
  ];
  if (options.service !== undefined) args.push("-s", options.service);
  for (const [key, value] of Object.entries(options.keys ?? {})) args.push("-key", key, value);
  return args;
}

async function collect(name: string, files: RunFiles, args: string[], proc: ManagedProcess): Promise<SippResult> {
  const exit = proc.exit ?? (await proc.exited);
  const [messages, errors, actions, stderr] = await Promise.all([
    readText(files.messages),
    readText(files.errors),
    readText(files.actions),
    readText(proc.stderrPath),
  ]);
  return {
    name,
    exitCode: exit.code,
    args,
    dir: files.dir,
    messages,
    log: actions.split("\n").filter((line) => line.trim() !== ""),
    statusLines: receivedStatusLines(messages),
    errors,
    stderr,
  };
}

const CONTROL_PORT_ATTEMPTS = 3;

function controlPortClash(stderr: string): boolean {
  return /remote control socket/i.test(stderr);
}

/**
 * Runs a sipp client to completion with `-nostdin -m N -timeout T -timeout_error -recv_timeout`, a free
 * control port and full tracing; resolves on exit code 0 (or 1 with `allowFailedCalls`), otherwise
 * rejects with a {@link SippError} that says what went wrong and what was received.
 */
export async function runSipp(options: SippRunOptions): Promise<SippResult> {
  const sipp = findExecutable("sipp", "sip-tester");
  const calls = options.calls ?? 1;
  const timeoutSec = options.timeoutSec ?? 20;
  const recvTimeoutMs = options.recvTimeoutMs ?? Math.min(8000, Math.max(1000, timeoutSec * 1000 - 1000));
  await waitForUdpPortFree(options.bindIp, options.bindPort, { timeoutMs: 3000 });

  for (let attempt = 1; ; attempt++) {
    const { name, files } = await runDirFor(options);
    const args = [
      options.target,
      ...commonArgs(options, files, await findFreeUdpPort()),
      "-m", String(calls),
      "-timeout", String(timeoutSec),
      "-timeout_error",
      "-recv_timeout", String(recvTimeoutMs),
    ];
    if (options.auth) {
      args.push("-au", options.auth.user, "-ap", options.auth.pass);
      if (options.auth.uri !== undefined) args.push("-auth_uri", options.auth.uri);
    }
    args.push(...(options.extraArgs ?? []));

    const proc = startProcess({ name: "sipp", command: sipp, args, logDir: files.dir });
    // sipp ends itself at -timeout; this only guards against a hung process.
    if ((await waitAtMost(proc.exited, (timeoutSec + 10) * 1000)) === TIMED_OUT) await proc.stop({ graceMs: 2000 });
    const result = await collect(name, files, args, proc);

    if (result.exitCode !== 0 && controlPortClash(result.stderr) && attempt < CONTROL_PORT_ATTEMPTS) continue;
    const kind = classify(result);
    if (kind === undefined || (kind === "calls-failed" && options.allowFailedCalls)) return result;
    throw new SippError(kind, result);
  }
}

/** A background sipp server started by {@link startSippUas}. */
export interface SippUas {
  readonly pid: number;
  readonly bindIp: string;
  readonly bindPort: number;
  readonly dir: string;
  /** The -trace_msg text so far. */
  messages(): Promise<string>;
  /** Request lines received so far. */
  requests(): Promise<string[]>;
  /** Settles when sipp exits by itself (after `calls` calls, or its timeout). */
  readonly done: Promise<SippResult>;
  /** Stops sipp by its PID (SIGTERM, then SIGKILL) and returns what it did. */
  stop(): Promise<SippResult>;
}

/**
 * Starts sipp in the background as a server on `bindIp:bindPort` (a phone answering, a PBX receiving),
 * with its own control port and traces; resolves once its socket is bound.
 */
export async function startSippUas(options: SippUasOptions): Promise<SippUas> {
  const sipp = findExecutable("sipp", "sip-tester");
  await waitForUdpPortFree(options.bindIp, options.bindPort, { timeoutMs: 3000 });

  for (let attempt = 1; ; attempt++) {
    const { name, files } = await runDirFor(options);
    const args = [...commonArgs(options, files, await findFreeUdpPort())];
    if (options.calls !== undefined) args.push("-m", String(options.calls));
    args.push("-timeout", String(options.timeoutSec ?? 120), "-timeout_error");
    args.push(...(options.extraArgs ?? []));
    const proc = startProcess({ name: "sipp-uas", command: sipp, args, logDir: files.dir });
    try {
      await waitForUdpPort(options.bindIp, options.bindPort, { timeoutMs: 5000, process: proc });
    } catch (error) {
      await proc.stop({ graceMs: 1000 });
      const stderr = await readText(proc.stderrPath);
      if (controlPortClash(stderr) && attempt < CONTROL_PORT_ATTEMPTS) continue;
      throw new Error(`sipp server ${name} did not start (${formatExit(proc.exit)}): ${(error as Error).message}`);
    }
    const done = proc.exited.then(() => collect(name, files, args, proc));
    return {
      pid: proc.pid,
      bindIp: options.bindIp,
      bindPort: options.bindPort,
      dir: files.dir,
      messages: () => readText(files.messages),
      requests: async () => receivedRequestLines(await readText(files.messages)),
      done,
      async stop(): Promise<SippResult> {
        await proc.stop({ graceMs: 2000 });
        return done;
      },
    };
  }
}

/** A phone that registers once with digest (phone-register-digest-200.xml): the run must end in a 200. */
export interface DigestRegistration {
  /** `ip:port` (or `[v6]:port`) of the gateway. */
  readonly target: string;
  /** The phone's own address, and the Contact host:port it registers. */
  readonly phone: { readonly ip: string; readonly port: number; readonly contact: string };
  readonly domain: string;
  readonly password: string;
  /** Default 201. */
  readonly user?: string;
  /** Seconds the phone asks for (the [expires] key); default 300. */
  readonly expires?: number;
  readonly workDir: string;
  readonly timeoutSec?: number;
}

/** Registers `user@domain` through the gateway with digest, for `expires` seconds; rejects unless it ends in a 200. */
export function registerWithDigest(o: DigestRegistration): Promise<SippResult> {
  const user = o.user ?? "201";
  return runSipp({
    scenario: scenarioPath("phone-register-digest-200.xml"),
    target: o.target,
    bindIp: o.phone.ip,
    bindPort: o.phone.port,
    service: user,
    keys: { domain: o.domain, contact: o.phone.contact, expires: String(o.expires ?? 300) },
    auth: { user, pass: o.password, uri: o.domain },
    workDir: o.workDir,
    ...(o.timeoutSec !== undefined && { timeoutSec: o.timeoutSec }),
  });
}
