/**
 * CPU time of processes from /proc (Linux): utime+stime of one PID, of a process and its descendants, and of
 * the children this process has already reaped (how a finished sipp's CPU is read).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";

/** Clock ticks per second (`getconf CLK_TCK`, 100 on Linux). */
export const HZ: number = (() => {
  try {
    const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  readonly pid: number;
  readonly comm: string;
  readonly ppid: number;
  /** utime + stime, ticks. */
  readonly ticks: number;
  /** cutime + cstime (reaped children), ticks. */
  readonly childTicks: number;
}

function readStat(pid: number | "self", tid?: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  // Fields after the comm: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17).
  const f = text.slice(close + 2).split(" ");
  const num = (field: number): number => Number(f[field - 3] ?? 0);
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    ppid: num(4),
    ticks: num(14) + num(15),
    childTicks: num(16) + num(17),
  };
}

/** CPU seconds (user+system) of one live process; 0 when it is gone. */
export function cpuSeconds(pid: number): number {
  return (readStat(pid)?.ticks ?? 0) / HZ;
}

/** CPU seconds of each live thread of a process, by thread id (empty when it is gone). */
export function threadCpuSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tids) {
    const stat = readStat(pid, Number(t));
    if (stat) out.set(Number(t), stat.ticks / HZ);
  }
  return out;
}

/** CPU seconds of the children this process has reaped so far (they add up here when they exit). */
export function reapedChildrenCpuSeconds(): number {
  return (readStat("self")?.childTicks ?? 0) / HZ;
}

/** Live descendants of `root` (not `root` itself), with their comm names. */
export function descendants(root: number): { pid: number; comm: string }[] {
  const byParent = new Map<number, ProcStat[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (!st) continue;
    const list = byParent.get(st.ppid) ?? [];
    list.push(st);
    byParent.set(st.ppid, list);
  }
  const out: { pid: number; comm: string }[] = [];
  const walk = (pid: number): void => {
    for (const c of byParent.get(pid) ?? []) {
      out.push({ pid: c.pid, comm: c.comm });
      walk(c.pid);
    }
  };
  walk(root);
  return out;
}

/** A named set of PIDs whose CPU is reported together (e.g. Kamailio's main process and its children). */
export interface CpuGroup {
  readonly name: string;
  readonly pids: readonly number[];
}

/** CPU seconds of every group, read now. */
export function sampleGroups(groups: readonly CpuGroup[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const g of groups) out.set(g.name, g.pids.reduce((s, p) => s + cpuSeconds(p), 0));
  return out;
}

/**
 * Waits until the processes are idle (together under `maxPct` % of one core over 500 ms windows), at least
 * `minMs`, at most `maxMs`; returns the milliseconds waited.
 */
export async function settle(pids: readonly number[], opts: { minMs?: number; maxMs?: number; maxPct?: number } = {}): Promise<number> {
  const started = Date.now();
  const minMs = opts.minMs ?? 1000;
  const maxMs = opts.maxMs ?? 15_000;
  const maxPct = opts.maxPct ?? 5;
  await delay(minMs);
  for (;;) {
    const a = pids.reduce((s, p) => s + cpuSeconds(p), 0);
    await delay(500);
    const b = pids.reduce((s, p) => s + cpuSeconds(p), 0);
    if (((b - a) / 0.5) * 100 <= maxPct || Date.now() - started >= maxMs) return Date.now() - started;
  }
}
