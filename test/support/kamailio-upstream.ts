// The stand-in tenant PBX: a digest-authenticating Kamailio registrar (test/e2e/kamailio/stand-in-registrar.cfg), one
// instance per caller on the addresses it is given, with its own run directory and control socket.
import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import { join } from "node:path";
import { REPO_ROOT, UPSTREAM_CFG } from "./paths";
import {
  createTempDir,
  findExecutable,
  removeTempDir,
  startProcess,
  waitForUdpPort,
  waitForUdpPortFree,
} from "./processes";
import type { ManagedProcess } from "./processes";

const execFileAsync = promisify(execFile);

/** Domain served on `addrA` by stand-in-registrar.cfg. */
export const TENANT_A_DOMAIN = "tenant-a.example";
/** Domain served on `addrB` by stand-in-registrar.cfg. */
export const TENANT_B_DOMAIN = "tenant-b.example";
/** The one password stand-in-registrar.cfg accepts for every user (users starting with 9 need none). */
export const UPSTREAM_PASSWORD = "secret";

/** Where and how to run one stand-in registrar. */
export interface UpstreamOptions {
  /** Socket for tenant-a.example. */
  readonly addrA: string;
  /** Socket for tenant-b.example. */
  readonly addrB: string;
  readonly port: number;
  /** Run directory (-Y) holding the control socket and logs; a fresh temp dir, removed on stop, when omitted. */
  readonly runDir?: string;
  /** Shared memory in MB (-m); small so that several instances fit side by side. Default 64. */
  readonly shmMb?: number;
  /** Private memory per process in MB (-M). Default 16. */
  readonly pkgMb?: number;
  /** Bound on start-up (sockets bound, control socket present). Default 15000 ms. */
  readonly startTimeoutMs?: number;
  /**
   * Kamailio configuration taking the same defines (UP_ADDR_A, UP_ADDR_B, UP_PORT, UP_CTL); default
   * stand-in-registrar.cfg. ANY_DOMAIN_REGISTRAR_CFG serves any domain (a third tenant, say).
   */
  readonly config?: string;
}

/** Our own digest registrar for any domain (test/e2e/kamailio/any-domain-registrar.cfg). */
export const ANY_DOMAIN_REGISTRAR_CFG = join(REPO_ROOT, "test", "e2e", "kamailio", "any-domain-registrar.cfg");

/** One contact of an AoR as Kamailio's usrloc holds it (`kamcmd ul.lookup` / `ul.dump`). */
export interface UpstreamBinding {
  readonly aor: string;
  readonly address: string;
  /** Seconds left; 0 once expired or deleted, Infinity for a permanent contact. */
  readonly expires: number;
  /** Source address saved by the registrar (e.g. `sip:127.0.0.21:5070`); absent when not set. */
  readonly received?: string;
  readonly path?: string;
  readonly callId: string;
  readonly cseq: number;
  readonly userAgent: string;
  /** Local socket the REGISTER arrived on, e.g. `udp:127.0.9.11:5080`. */
  readonly socket?: string;
  /** q-value, absent when the contact carried none. */
  readonly q?: number;
}

/** A running stand-in registrar. */
export interface Upstream {
  readonly addrA: string;
  readonly addrB: string;
  readonly port: number;
  readonly runDir: string;
  /** Control socket as kamcmd takes it: `unix:<runDir>/ctl`. */
  readonly ctl: string;
  readonly process: ManagedProcess;
  /** The contacts of `aor` (`user@domain`); empty when the registrar holds none. */
  lookup(aor: string): Promise<UpstreamBinding[]>;
  /** Every binding held, keyed by AoR. */
  dump(): Promise<Record<string, UpstreamBinding[]>>;
  /** SIP requests Kamailio has received so far (its `core:rcv_requests` statistic). */
  requestsReceived(): Promise<number>;
  /** Kamailio's log so far (stderr, -E). */
  logs(): Promise<string>;
  /** Stops Kamailio (by its PID), waits until both sockets are free, removes a run dir it created. */
  stop(): Promise<void>;
}

/**
 * Starts stand-in-registrar.cfg (or `options.config`) on `addrA:port` (tenant-a.example) and `addrB:port`
 * (tenant-b.example) with a control socket in its own run dir; resolves once both sockets and the control
 * socket are up.
 */
export async function startUpstream(options: UpstreamOptions): Promise<Upstream> {
  const { addrA, addrB, port } = options;
  const config = options.config ?? UPSTREAM_CFG;
  if (!existsSync(config)) throw new Error(`stand-in registrar config not found: ${config}`);
  const kamailio = findExecutable("kamailio", "kamailio");
  const kamcmd = findExecutable("kamcmd", "kamailio");
  await waitForUdpPortFree(addrA, port, { timeoutMs: 3000 });
  await waitForUdpPortFree(addrB, port, { timeoutMs: 3000 });

  const ownRunDir = options.runDir === undefined;
  const runDir = options.runDir ?? (await createTempDir(`upstream-${addrA}-${port}`));
  const ctlPath = `${runDir}/ctl`;
  const ctl = `unix:${ctlPath}`;
  const args = [
    "-f", config,
    "-DD", "-E",
    "-m", String(options.shmMb ?? 64),
    "-M", String(options.pkgMb ?? 16),
    "-Y", runDir,
    "-A", `UP_ADDR_A="${addrA}"`,
    "-A", `UP_ADDR_B="${addrB}"`,
    "-A", `UP_PORT=${port}`,
    "-A", `UP_CTL="${ctl}"`,
  ];
  const proc = startProcess({ name: "kamailio-upstream", command: kamailio, args, logDir: runDir });

  const stop = async (): Promise<void> => {
    await proc.stop();
    await waitForUdpPortFree(addrA, port);
    await waitForUdpPortFree(addrB, port);
    if (ownRunDir) await removeTempDir(runDir);
  };

  try {
    const timeoutMs = options.startTimeoutMs ?? 15_000;
    await waitForUdpPort(addrA, port, { timeoutMs, process: proc });
    await waitForUdpPort(addrB, port, { timeoutMs, process: proc });
    await waitForSocketFile(ctlPath, timeoutMs, proc);
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }

  const rpc = async (...rpcArgs: string[]): Promise<string> => {
    const { stdout, stderr } = await execFileAsync(kamcmd, ["-s", ctl, ...rpcArgs], { timeout: 10_000 });
    if (stderr.trim()) throw new Error(`kamcmd ${rpcArgs.join(" ")}: ${stderr.trim()}`);
    return stdout;
  };

  return {
    addrA,
    addrB,
    port,
    runDir,
    ctl,
    process: proc,
    async lookup(aor: string): Promise<UpstreamBinding[]> {
      const out = await rpc("ul.lookup", "location", aor);
      // kamcmd exits 0 on RPC faults and prints "error: <code> - <reason>".
      if (/^error: 404\b|AOR not found/m.test(out)) return [];
      if (/^error:/m.test(out)) throw new Error(`kamcmd ul.lookup location ${aor}: ${out.trim()}`);
      return bindingsOf(parseKamcmdOutput(out))[aor] ?? [];
    },
    async dump(): Promise<Record<string, UpstreamBinding[]>> {
      const out = await rpc("ul.dump");
      if (/^error:/m.test(out)) throw new Error(`kamcmd ul.dump: ${out.trim()}`);
      return bindingsOf(parseKamcmdOutput(out));
    },
    async requestsReceived(): Promise<number> {
      const out = await rpc("stats.get_statistics", "core:");
      const m = /core:rcv_requests\s*=\s*(\d+)/.exec(out);
      if (!m) throw new Error(`kamcmd stats.get_statistics core: ${out.trim()}`);
      return Number(m[1]);
    },
    logs: () => proc.output(100_000),
    stop,
  };
}

async function waitForSocketFile(file: string, timeoutMs: number, proc: ManagedProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (statSync(file).isSocket()) return;
    } catch {
      // not created yet
    }
    if (!proc.running) throw new Error(`kamailio exited before creating ${file}\n${await proc.output()}`);
    if (Date.now() >= deadline) throw new Error(`${file} not created after ${timeoutMs} ms\n${await proc.output()}`);
    await delay(50);
  }
}

/** A node of kamcmd's printed structure: `Key: value` leaves and `Key: {` ... `}` children, in order. */
export interface KamcmdNode {
  readonly entries: ReadonlyArray<{ readonly key: string | null; readonly value: string | KamcmdNode }>;
}

/** Parses kamcmd's default (brace-indented) output of an RPC answer into a tree. */
export function parseKamcmdOutput(text: string): KamcmdNode {
  const root: { key: string | null; value: string | KamcmdNode }[] = [];
  const stack = [root];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line) continue;
    const top = stack[stack.length - 1]!;
    if (line === "}") {
      if (stack.length > 1) stack.pop();
      continue;
    }
    const open = /^(?:([^:{}]+):\s*)?\{$/.exec(line);
    if (open) {
      const entries: { key: string | null; value: string | KamcmdNode }[] = [];
      top.push({ key: open[1]?.trim() ?? null, value: { entries } });
      stack.push(entries);
      continue;
    }
    const colon = line.indexOf(":");
    if (colon > 0) top.push({ key: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
    else top.push({ key: null, value: line });
  }
  return { entries: root };
}

function leaf(node: KamcmdNode, key: string): string | undefined {
  const entry = node.entries.find((e) => e.key === key && typeof e.value === "string");
  return entry?.value as string | undefined;
}

function child(node: KamcmdNode, key: string): KamcmdNode | undefined {
  const entry = node.entries.find((e) => e.key === key && typeof e.value !== "string");
  return entry?.value as KamcmdNode | undefined;
}

function notSet(value: string | undefined): string | undefined {
  return value === undefined || value === "[not set]" || value === "" ? undefined : value;
}

function toBinding(aor: string, contact: KamcmdNode): UpstreamBinding {
  const expiresText = leaf(contact, "Expires") ?? "";
  const expires =
    expiresText === "permanent" ? Number.POSITIVE_INFINITY : /^\d+$/.test(expiresText) ? Number(expiresText) : 0;
  const q = Number(leaf(contact, "Q"));
  const received = notSet(leaf(contact, "Received"));
  const contactPath = notSet(leaf(contact, "Path"));
  const socket = notSet(leaf(contact, "Socket"));
  return {
    aor,
    address: leaf(contact, "Address") ?? "",
    expires,
    ...(received === undefined ? {} : { received }),
    ...(contactPath === undefined ? {} : { path: contactPath }),
    callId: leaf(contact, "Call-ID") ?? "",
    cseq: Number(leaf(contact, "CSeq") ?? Number.NaN),
    userAgent: leaf(contact, "User-Agent") ?? "",
    ...(socket === undefined ? {} : { socket }),
    ...(Number.isFinite(q) && q >= 0 ? { q } : {}),
  };
}

/** Every node holding `AoR:` and `Contacts: {...}` (ul.lookup's answer, ul.dump's `Info` nodes), by AoR. */
function bindingsOf(tree: KamcmdNode): Record<string, UpstreamBinding[]> {
  const out: Record<string, UpstreamBinding[]> = {};
  const visit = (node: KamcmdNode): void => {
    const aor = leaf(node, "AoR");
    const contacts = child(node, "Contacts");
    if (aor !== undefined && contacts) {
      const list = (out[aor] ??= []);
      for (const entry of contacts.entries) {
        if (entry.key === "Contact" && typeof entry.value !== "string") list.push(toBinding(aor, entry.value));
      }
    }
    for (const entry of node.entries) if (typeof entry.value !== "string") visit(entry.value);
  };
  visit(tree);
  return out;
}
