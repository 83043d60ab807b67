// Child processes for end-to-end tests (Kamailio, sipp, ...): started detached in their own process group,
// output captured to files, remembered by PID, and stopped by that PID only. Nothing here ever signals a
// process it did not start.
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import net from "node:net";
import { accessSync, closeSync, constants, openSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** How a child process ended: its exit code, or the signal that ended it. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** What to start: `command` (absolute path or a name on PATH) with `args`; output goes under `logDir`. */
export interface StartProcessOptions {
  /** Label used in file names and error messages, e.g. "upstream" or "sipp-phone-201". */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** stdout goes to `<logDir>/<name>.stdout`, stderr to `<logDir>/<name>.stderr`. */
  readonly logDir: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Bounds for {@link ManagedProcess.stop}. */
export interface StopOptions {
  /** Time between SIGTERM and SIGKILL (default 5000 ms). */
  readonly graceMs?: number;
}

/** A child process this module started; it is stopped through its own PID (and its own process group). */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly command: string;
  readonly args: readonly string[];
  readonly stdoutPath: string;
  readonly stderrPath: string;
  /** Settles when the process has exited (never rejects). */
  readonly exited: Promise<ProcessExit>;
  /** The exit, once the process has exited. */
  readonly exit: ProcessExit | undefined;
  readonly running: boolean;
  /** SIGTERM, then SIGKILL to its process group after `graceMs`; resolves when it has exited. */
  stop(options?: StopOptions): Promise<ProcessExit>;
  /** The last `maxChars` characters of stdout and stderr, for error messages. */
  output(maxChars?: number): Promise<string>;
}

/** Marker returned by {@link waitAtMost} when the bound passed first. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/** Settles with `promise`'s value, or with {@link TIMED_OUT} after `ms` (the timer is cleared either way). */
export async function waitAtMost<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

const started = new Map<number, SpawnedProcess>();
let exitHookInstalled = false;

/** Last resort when the test process exits with children still running: kill their process groups. */
function killLeftoversOnExit(): void {
  for (const child of started.values()) {
    if (child.running) killGroup(child.pid, "SIGKILL");
  }
}

/** Signals the process group led by `pid`; that group exists only while a descendant of ours is in it. */
function killGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

class SpawnedProcess implements ManagedProcess {
  readonly exited: Promise<ProcessExit>;
  private exitInfo: ProcessExit | undefined;

  constructor(
    private readonly child: ChildProcess,
    readonly name: string,
    readonly pid: number,
    readonly command: string,
    readonly args: readonly string[],
    readonly stdoutPath: string,
    readonly stderrPath: string,
  ) {
    this.exited = new Promise<ProcessExit>((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        started.delete(pid);
        resolve(this.exitInfo);
      });
    });
    // The process did start (it has a PID); a later "error" is a failed kill(), which stop() handles by
    // waiting for "exit". Without a listener Node would throw it.
    child.on("error", () => undefined);
  }

  get exit(): ProcessExit | undefined {
    return this.exitInfo;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  async stop(options: StopOptions = {}): Promise<ProcessExit> {
    const graceMs = options.graceMs ?? 5000;
    if (this.running) {
      // child.kill() signals only while Node still holds our child's handle, so never a reused PID.
      this.child.kill("SIGTERM");
      if ((await waitAtMost(this.exited, graceMs)) === TIMED_OUT && this.running) {
        killGroup(this.pid, "SIGKILL");
        this.child.kill("SIGKILL");
        if ((await waitAtMost(this.exited, 5000)) === TIMED_OUT && this.running) {
          throw new Error(`${this.name} (pid ${this.pid}) did not exit after SIGKILL`);
        }
      }
    }
    // Forked workers (Kamailio's children) that outlived their parent are still in its process group.
    if (killGroup(this.pid, 0)) killGroup(this.pid, "SIGKILL");
    return this.exitInfo ?? (await this.exited);
  }

  async output(maxChars = 4000): Promise<string> {
    const [out, err] = await Promise.all([readTail(this.stdoutPath, maxChars), readTail(this.stderrPath, maxChars)]);
    const parts: string[] = [];
    if (out.trim()) parts.push(`--- ${this.name} stdout (${this.stdoutPath}) ---\n${out}`);
    if (err.trim()) parts.push(`--- ${this.name} stderr (${this.stderrPath}) ---\n${err}`);
    return parts.join("\n") || `(${this.name} wrote no output)`;
  }
}

/**
 * Starts `command` detached (its own process group), stdout/stderr written straight to files under
 * `logDir`; the PID is remembered so that {@link stopAllStartedProcesses} and the exit hook stop only ours.
 */
export function startProcess(options: StartProcessOptions): ManagedProcess {
  const safeName = options.name.replace(/[^A-Za-z0-9._-]+/g, "_");
  const stdoutPath = path.join(options.logDir, `${safeName}.stdout`);
  const stderrPath = path.join(options.logDir, `${safeName}.stderr`);
  const outFd = openSync(stdoutPath, "w");
  const errFd = openSync(stderrPath, "w");
  let child: ChildProcess;
  try {
    child = spawn(options.command, [...options.args], {
      cwd: options.cwd ?? options.logDir,
      env: options.env ?? process.env,
      stdio: ["ignore", outFd, errFd],
      detached: true,
    });
  } finally {
    closeSync(outFd);
    closeSync(errFd);
  }
  if (child.pid === undefined) {
    child.on("error", () => undefined);
    throw new Error(`could not start ${options.name}: ${options.command} ${options.args.join(" ")}`);
  }
  const managed = new SpawnedProcess(
    child,
    options.name,
    child.pid,
    options.command,
    options.args,
    stdoutPath,
    stderrPath,
  );
  started.set(child.pid, managed);
  if (!exitHookInstalled) {
    process.once("exit", killLeftoversOnExit);
    exitHookInstalled = true;
  }
  return managed;
}

/** Stops every process started through {@link startProcess} that is still running (a safety net for afterAll). */
export async function stopAllStartedProcesses(options?: StopOptions): Promise<void> {
  await Promise.all([...started.values()].map((child) => child.stop(options)));
}

/** PIDs of the processes started here that are still running. */
export function runningStartedPids(): number[] {
  return [...started.values()].filter((child) => child.running).map((child) => child.pid);
}

async function readTail(file: string, maxChars: number): Promise<string> {
  try {
    const text = await readFile(file, "utf8");
    return text.length > maxChars ? `...${text.slice(-maxChars)}` : text;
  } catch {
    return "";
  }
}

function hexIPv4(ip: string): string {
  const bytes = ip.split(".").map((part) => Number(part));
  if (bytes.length !== 4 || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  // /proc/net/udp prints the address as a host-order 32-bit number of the network-order bytes.
  const ordered = os.endianness() === "LE" ? [...bytes].reverse() : bytes;
  return ordered.map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join("");
}

function procNetUdpBound(ip: string, port: number): boolean {
  const wanted = `${hexIPv4(ip)}:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const text = readFileSync("/proc/net/udp", "utf8");
  return text
    .split("\n")
    .slice(1)
    .some((line) => line.trim().split(/\s+/)[1] === wanted);
}

let ssMissing = false;

/**
 * Whether a UDP socket is bound to exactly `ip:port` (a wildcard bind does not count), from `ss -Hunl`,
 * or from /proc/net/udp where iproute2 is not installed.
 */
export async function isUdpPortBound(ip: string, port: number): Promise<boolean> {
  if (!ssMissing) {
    try {
      const { stdout } = await execFileAsync("ss", ["-Hunl", "src", `${ip}:${port}`], { timeout: 5000 });
      return stdout.trim().length > 0;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      ssMissing = true;
    }
  }
  return procNetUdpBound(ip, port);
}

/** Options of the port waits: overall bound and polling interval. */
export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** Fail early, with its output, when this process exits before the port is bound. */
  readonly process?: ManagedProcess;
}

/** Resolves once a UDP socket is bound on `ip:port`; rejects after the timeout or when `process` exits first. */
export async function waitForUdpPort(ip: string, port: number, options: WaitOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await isUdpPortBound(ip, port)) return;
    const proc = options.process;
    if (proc && !proc.running) {
      throw new Error(
        `${proc.name} exited (${formatExit(proc.exit)}) before binding udp ${ip}:${port}\n${await proc.output()}`,
      );
    }
    if (Date.now() >= deadline) {
      const detail = proc ? `\n${await proc.output()}` : "";
      throw new Error(`udp ${ip}:${port} not bound after ${timeoutMs} ms${detail}`);
    }
    await delay(intervalMs);
  }
}

/** Resolves once nothing is bound on UDP `ip:port`; rejects (naming the address) after the timeout. */
export async function waitForUdpPortFree(ip: string, port: number, options: WaitOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  while (await isUdpPortBound(ip, port)) {
    if (Date.now() >= deadline) throw new Error(`udp ${ip}:${port} is still in use after ${timeoutMs} ms`);
    await delay(intervalMs);
  }
}

/** A UDP port the kernel considers free right now on `host` (bind to port 0, read it, close). */
export async function findFreeUdpPort(host = "0.0.0.0"): Promise<number> {
  const socket = dgram.createSocket("udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, host, () => resolve());
    });
    return socket.address().port;
  } finally {
    socket.close();
  }
}

/** Human-readable form of a {@link ProcessExit}. */
export function formatExit(exit: ProcessExit | undefined): string {
  if (!exit) return "still running";
  if (exit.signal) return `signal ${exit.signal}`;
  return `exit code ${exit.code}`;
}

/** A fresh directory under the OS temp dir, e.g. /tmp/edge-e2e-harness-AbC123 (kept short: Unix sockets live there). */
export async function createTempDir(label: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `edge-e2e-${label.replace(/[^A-Za-z0-9_-]+/g, "_")}-`));
}

/** Removes a directory made by {@link createTempDir}, unless E2E_KEEP_TMP is set (to read the traces). */
export async function removeTempDir(dir: string): Promise<void> {
  if (process.env.E2E_KEEP_TMP) return;
  await rm(dir, { recursive: true, force: true });
}

const EXTRA_BIN_DIRS = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

/**
 * Absolute path of an executable found on PATH or in the sbin directories (Debian installs kamailio and
 * kamcmd in /usr/sbin, which a non-root PATH lacks); throws naming the Debian package to install.
 */
export function findExecutable(name: string, debianPackage?: string): string {
  const candidates = name.includes("/")
    ? [name]
    : [...(process.env.PATH ?? "").split(path.delimiter).filter(Boolean), ...EXTRA_BIN_DIRS].map((dir) =>
        path.join(dir, name),
      );
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here; try the next one
    }
  }
  const hint = debianPackage ? ` (Debian package ${debianPackage}; \`npm test\` checks and installs it)` : "";
  throw new Error(`${name} not found on PATH or in ${EXTRA_BIN_DIRS.join(", ")}${hint}`);
}

/**
 * A TCP port nothing listens on right now at `host`. Give a test's own loopback address: on a shared one,
 * another test file's socket can take the port before the caller binds it.
 */
export async function freeTcpPort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
