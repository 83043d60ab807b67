// baresip (Debian baresip-core 1.0) as a real, headless phone in end-to-end tests: a generated config
// directory (no audio hardware, no DNS, everything on one loopback address), driven over ctrl_tcp
// (netstring-framed JSON), started and stopped by PID through processes.ts.
//
// baresip pushes events only to ctrl_tcp clients already connected, and it registers within milliseconds
// of starting. So the account is not put in the `accounts` file: once the client is connected, it is added
// with `uanew` (menu.so), and REGISTERING / REGISTER_OK are always seen.
import net from "node:net";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import {
  findExecutable,
  formatExit,
  startProcess,
  waitForUdpPort,
  waitForUdpPortFree,
} from "./processes";
import type { ManagedProcess, ProcessExit } from "./processes";
import { baresipModulesDir } from "./system-paths";

/** Where and how to run one baresip. */
export interface BaresipOptions {
  /** Label for the config directory and log files. */
  readonly name: string;
  /** Loopback address baresip uses for everything (net_interface, SIP, RTP, ctrl_tcp). */
  readonly ip: string;
  /** SIP UDP port; baresip also opens TCP listeners on this port and port + 1. */
  readonly sipPort: number;
  /** ctrl_tcp port on `ip`. */
  readonly ctrlPort: number;
  /** RTP port range on `ip`, inclusive. */
  readonly rtpPorts: readonly [number, number];
  /** `ip:port` where nothing listens: the account's domain must never be resolved. */
  readonly deadDnsServer: string;
  /** Account line as baresip's `accounts` file takes it; added with `uanew` once the client is connected. */
  readonly account: string;
  /** Parent directory; the config directory and logs go to `<workDir>/<name>`. */
  readonly workDir: string;
  /** SIP trace (-s) on stdout; default true (it is the best account of what baresip did). */
  readonly sipTrace?: boolean;
  /** Bound on start-up (socket bound, client connected, account added). Default 10000 ms. */
  readonly startTimeoutMs?: number;
}

/** One event pushed by ctrl_tcp, e.g. `{ event: true, type: "REGISTER_OK", class: "register", accountaor, param }`. */
export interface BaresipEvent {
  readonly type: string;
  readonly class?: string;
  readonly accountaor?: string;
  readonly direction?: string;
  readonly peeruri?: string;
  readonly id?: string;
  readonly param?: string;
  /** When it arrived (Date.now()). */
  readonly at: number;
  readonly [key: string]: unknown;
}

/** The answer to one command. */
export interface BaresipResponse {
  readonly ok: boolean;
  readonly data: string;
}

/** Options of {@link Baresip.waitForEvent}. */
export interface WaitForEventOptions {
  /** Only events at this index of {@link Baresip.events} or later (default 0: any event so far). */
  readonly from?: number;
  readonly match?: (event: BaresipEvent) => boolean;
  /** Default 10000 ms. */
  readonly timeoutMs?: number;
}

/** A running baresip with a connected ctrl_tcp client. */
export interface Baresip {
  readonly name: string;
  readonly ip: string;
  readonly sipPort: number;
  /** The generated config directory (config, accounts) and log files. */
  readonly dir: string;
  readonly process: ManagedProcess;
  /** Every event received so far, in order. */
  readonly events: readonly BaresipEvent[];
  /** The first event of `type` (from `options.from` on, matching `options.match`); rejects after the bound. */
  waitForEvent(type: string, options?: WaitForEventOptions): Promise<BaresipEvent>;
  /** Sends a command (`dial`, `hangup`, `reginfo`, ...) and resolves with baresip's answer. */
  command(command: string, params?: string, timeoutMs?: number): Promise<BaresipResponse>;
  /** `dial <uri or number>`: places a call (CALL_RINGING / CALL_ESTABLISHED / CALL_CLOSED follow). */
  dial(target: string): Promise<BaresipResponse>;
  /** `hangup`: ends the current call. */
  hangup(): Promise<BaresipResponse>;
  /** `reginfo`: the registration status as text. */
  reginfo(): Promise<BaresipResponse>;
  /** stdout so far: with the SIP trace, every message sent and received. */
  trace(): Promise<string>;
  /** SIGTERM by PID (baresip un-registers, then exits); SIGKILL only after `graceMs` (default 8000). */
  stop(graceMs?: number): Promise<ProcessExit>;
}

/** The `config` file: no audio hardware (aubridge), one codec, no DNS, everything on `ip`. */
export function baresipConfig(o: Pick<BaresipOptions, "ip" | "sipPort" | "ctrlPort" | "rtpPorts" | "deadDnsServer">): string {
  const lines: [string, string][] = [
    ["poll_method", "epoll"],
    ["sip_listen", `${o.ip}:${o.sipPort}`],
    ["sip_trans_def", "udp"],
    ["net_interface", o.ip],
    ["dns_server", o.deadDnsServer],
    ["rtp_ports", `${o.rtpPorts[0]}-${o.rtpPorts[1]}`],
    ["audio_player", "aubridge,nil"],
    ["audio_source", "aubridge,nil"],
    ["audio_alert", "aubridge,nil"],
    ["module_path", baresipModulesDir()],
    ["module", "g711.so"],
    ["module", "aubridge.so"],
    // No stdio.so: stdin is /dev/null.
    ["module_app", "account.so"],
    ["module_app", "menu.so"],
    ["module_app", "ctrl_tcp.so"],
    ["ctrl_tcp_listen", `${o.ip}:${o.ctrlPort}`],
  ];
  return lines.map(([k, v]) => `${k.padEnd(24)}${v}`).join("\n") + "\n";
}

/** Encodes one netstring (`<byte length>:<payload>,`). */
export function encodeNetstring(payload: string): Buffer {
  const body = Buffer.from(payload, "utf8");
  return Buffer.concat([Buffer.from(`${body.length}:`, "ascii"), body, Buffer.from(",", "ascii")]);
}

/** Incremental netstring decoder: feed chunks, get complete payloads; throws on a framing error. */
export class NetstringDecoder {
  private buffer = Buffer.alloc(0);

  push(chunk: Buffer): string[] {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const out: string[] = [];
    for (;;) {
      const colon = this.buffer.indexOf(0x3a);
      if (colon < 0) {
        if (this.buffer.length > 10) throw new Error("netstring: length prefix too long");
        return out;
      }
      const lengthText = this.buffer.subarray(0, colon).toString("ascii");
      if (!/^\d{1,9}$/.test(lengthText)) throw new Error(`netstring: bad length ${JSON.stringify(lengthText)}`);
      const length = Number(lengthText);
      const end = colon + 1 + length;
      if (this.buffer.length < end + 1) return out;
      if (this.buffer[end] !== 0x2c) throw new Error("netstring: missing ','");
      out.push(this.buffer.subarray(colon + 1, end).toString("utf8"));
      this.buffer = this.buffer.subarray(end + 1);
    }
  }
}

async function connectWithRetry(ip: string, port: number, proc: ManagedProcess, deadline: number): Promise<net.Socket> {
  for (;;) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const socket = net.connect({ host: ip, port });
        socket.once("connect", () => {
          socket.removeListener("error", reject);
          resolve(socket);
        });
        socket.once("error", reject);
      });
    } catch (error) {
      if (!proc.running) throw new Error(`${proc.name} exited (${formatExit(proc.exit)}) before ctrl_tcp listened\n${await proc.output()}`);
      if (Date.now() >= deadline) throw new Error(`ctrl_tcp ${ip}:${port} not reachable: ${String(error)}\n${await proc.output()}`);
      await delay(20);
    }
  }
}

/**
 * Writes the config directory, starts baresip (by PID, own process group), waits for its SIP socket,
 * connects the ctrl_tcp client and adds the account (which starts registering when it has a `regint`).
 */
export async function startBaresip(o: BaresipOptions): Promise<Baresip> {
  const baresip = findExecutable("baresip", "baresip-core");
  const dir = path.join(o.workDir, o.name.replace(/[^A-Za-z0-9._-]+/g, "_"));
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "config"), baresipConfig(o));
  // account.so reads this file; the account itself is added over ctrl_tcp (see the top of this file).
  await writeFile(path.join(dir, "accounts"), "# added with uanew over ctrl_tcp\n");
  await waitForUdpPortFree(o.ip, o.sipPort, { timeoutMs: 3000 });

  const args = ["-f", dir, ...(o.sipTrace === false ? [] : ["-s"])];
  const proc = startProcess({ name: "baresip", command: baresip, args, logDir: dir });
  const deadline = Date.now() + (o.startTimeoutMs ?? 10_000);

  const events: BaresipEvent[] = [];
  const eventWaiters = new Set<() => void>();
  const pending = new Map<string, { resolve: (r: BaresipResponse) => void; reject: (e: Error) => void }>();
  let nextToken = 1;
  let socket: net.Socket | undefined;
  let closedError: Error | undefined;

  const onPayload = (payload: string): void => {
    const msg = JSON.parse(payload) as Record<string, unknown>;
    if (msg["event"] === true && typeof msg["type"] === "string") {
      events.push({ ...msg, type: msg["type"], at: Date.now() });
      for (const wake of [...eventWaiters]) wake();
    } else if (msg["response"] === true && typeof msg["token"] === "string") {
      const waiter = pending.get(msg["token"]);
      pending.delete(msg["token"]);
      waiter?.resolve({ ok: msg["ok"] === true, data: typeof msg["data"] === "string" ? msg["data"] : "" });
    }
  };

  try {
    await waitForUdpPort(o.ip, o.sipPort, { timeoutMs: Math.max(0, deadline - Date.now()), process: proc });
    socket = await connectWithRetry(o.ip, o.ctrlPort, proc, deadline);
  } catch (error) {
    await proc.stop({ graceMs: 2000 });
    throw error;
  }
  const decoder = new NetstringDecoder();
  socket.on("data", (chunk: Buffer) => {
    try {
      for (const payload of decoder.push(chunk)) onPayload(payload);
    } catch (error) {
      closedError = new Error(`ctrl_tcp: ${String(error)}`);
      socket?.destroy();
    }
  });
  socket.on("error", (error) => {
    closedError ??= error;
  });
  socket.on("close", () => {
    closedError ??= new Error("ctrl_tcp connection closed");
    for (const [, waiter] of pending) waiter.reject(closedError);
    pending.clear();
    for (const wake of [...eventWaiters]) wake();
  });

  const command = (name: string, params?: string, timeoutMs = 5000): Promise<BaresipResponse> => {
    if (closedError || !socket) return Promise.reject(closedError ?? new Error("ctrl_tcp not connected"));
    const token = `t${nextToken++}`;
    const body = JSON.stringify({ command: name, ...(params === undefined ? {} : { params }), token });
    return new Promise<BaresipResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(token);
        reject(new Error(`baresip ${o.name}: no answer to '${name}' within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(token, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      socket!.write(encodeNetstring(body));
    });
  };

  const waitForEvent = (type: string, options: WaitForEventOptions = {}): Promise<BaresipEvent> => {
    const from = options.from ?? 0;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const find = (): BaresipEvent | undefined =>
      events.slice(from).find((e) => e.type === type && (options.match?.(e) ?? true));
    const waiting = new Promise<BaresipEvent>((resolve, reject) => {
      const finish = (error?: Error, event?: BaresipEvent): void => {
        clearTimeout(timer);
        eventWaiters.delete(check);
        if (event) resolve(event);
        else reject(error);
      };
      const check = (): void => {
        const found = find();
        if (found) finish(undefined, found);
        else if (closedError) finish(new Error(`baresip ${o.name}: no ${type} before ctrl_tcp closed (${closedError.message}); events: ${summary(events)}`));
      };
      const timer = setTimeout(
        () => finish(new Error(`baresip ${o.name}: no ${type} within ${timeoutMs} ms; events: ${summary(events)}`)),
        timeoutMs,
      );
      eventWaiters.add(check);
      check();
    });
    // A waiter set up before an action that then fails is never awaited: its rejection is not an error.
    waiting.catch(() => undefined);
    return waiting;
  };

  const stop = async (graceMs = 8000): Promise<ProcessExit> => {
    // The client stays connected so that the events of the un-registration are recorded; baresip closes
    // the connection when it exits.
    const exit = await proc.stop({ graceMs });
    socket?.destroy();
    return exit;
  };

  try {
    const added = await command("uanew", o.account, Math.max(1000, deadline - Date.now()));
    if (!added.ok) throw new Error(`baresip ${o.name}: uanew failed: ${added.data}`);
  } catch (error) {
    await stop(2000);
    throw new Error(`${String(error)}\n${await proc.output()}`);
  }

  return {
    name: o.name,
    ip: o.ip,
    sipPort: o.sipPort,
    dir,
    process: proc,
    events,
    waitForEvent,
    command,
    dial: (target) => command("dial", target),
    hangup: () => command("hangup"),
    reginfo: () => command("reginfo"),
    trace: () => readFile(proc.stdoutPath, "utf8").catch(() => ""),
    stop,
  };
}

function summary(events: readonly BaresipEvent[]): string {
  return events.length === 0 ? "(none)" : events.map((e) => (e.param ? `${e.type}(${e.param})` : e.type)).join(", ");
}

/** One SIP message of baresip's `-s` trace: direction line (`UDP a -> b`) and the message text. */
export interface BaresipTraceEntry {
  readonly from: string;
  readonly to: string;
  readonly firstLine: string;
  readonly text: string;
}

/** Splits baresip's `-s` stdout into SIP messages (each starts with `#`, then `UDP src -> dst`). */
export function parseBaresipTrace(stdout: string): BaresipTraceEntry[] {
  const plain = stdout.replace(/\u001b\[[0-9;]*m/g, "");
  const entries: BaresipTraceEntry[] = [];
  const re = /^#\r?\n(\w+) (\S+) -> (\S+)\r?\n([\s\S]*?)(?=^#\r?\n\w+ \S+ -> |(?![\s\S]))/gm;
  for (const m of plain.matchAll(re)) {
    const text = (m[4] ?? "").replace(/\s+$/, "");
    entries.push({ from: m[2]!, to: m[3]!, firstLine: (text.split(/\r?\n/, 1)[0] ?? "").trim(), text });
  }
  return entries;
}
