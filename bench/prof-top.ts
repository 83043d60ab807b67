/**
 * Summarises a V8 CPU profile (node --cpu-prof; `npm run bench -- --cpu-prof` writes one per stack process):
 * self time by function and by source area (sip/, edge-gateway/, worker/, node-runtime/, node_modules
 * packages, node internals, GC, idle), the top TOP (default 25) functions.
 *
 *   npx tsx bench/prof-top.ts /tmp/edge-bench-.../node/cpu-prof/CPU.*.cpuprofile
 *
 * A sampling heap profile (`.heapprofile`: BENCH_ALLOC_PROFILE=1, or node --heap-prof) is summarised the same
 * way, by bytes allocated instead of time.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** This repository's root as a file URL prefix, so that areas are named by the repository's own folders. */
const ROOT_URL = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")).href + "/";
const rel = (url: string): string => (url.startsWith(ROOT_URL) ? url.slice(ROOT_URL.length) : url);

interface Node {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly Node[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function area(url: string, fn: string): string {
  if (fn === "(idle)" || fn === "(program)" || fn === "(garbage collector)") return fn;
  if (url === "") return "(native / V8)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `npm ${nm[1]}`;
  if (url.startsWith("node:")) return "node internals";
  const m = /^(sip|edge-gateway|worker|node-runtime|contract|store-server|scripts|bench)\//.exec(rel(url));
  return m ? `${m[1]}/` : url;
}

interface HeapNode {
  readonly callFrame: Node["callFrame"];
  readonly selfSize: number;
  readonly children: readonly HeapNode[];
}

/** Bytes allocated by function and by area, from a sampling heap profile. */
function heapTop(file: string, head: HeapNode): void {
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  const stack: HeapNode[] = [head];
  for (let n = stack.pop(); n; n = stack.pop()) {
    stack.push(...n.children);
    if (n.selfSize === 0) continue;
    const cf = n.callFrame;
    const key = `${cf.functionName || "(anonymous)"} ${rel(cf.url).replace(/^.*\/(?=node_modules\/)/, "")}:${cf.lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + n.selfSize);
    const a = area(cf.url, cf.functionName);
    areas.set(a, (areas.get(a) ?? 0) + n.selfSize);
    total += n.selfSize;
  }
  const pct = (b: number): string => `${((100 * b) / total).toFixed(1)} %`.padStart(7);
  console.log(`${file}: ${(total / 1e6).toFixed(1)} MB allocated (sampled estimate); shares by area:`);
  for (const [a, b] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, 20)) console.log(`  ${pct(b)}  ${a}`);
  console.log(`top ${top} functions (bytes allocated):`);
  for (const [k, b] of [...fns].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`  ${pct(b)}  ${k}`);
}

const top = Number(process.env.TOP ?? 25);
for (const file of process.argv.slice(2)) {
  const raw = JSON.parse(readFileSync(file, "utf8")) as Profile | { head: HeapNode };
  if ("head" in raw) {
    heapTop(file, raw.head);
    continue;
  }
  const p = raw;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  for (const [id, us] of self) {
    const cf = byId.get(id)!.callFrame;
    const where = rel(cf.url).replace(/^.*\/(?=node_modules\/)/, "");
    const key = `${cf.functionName || "(anonymous)"} ${where}:${cf.lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const a = area(cf.url, cf.functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const busy = total - (areas.get("(idle)") ?? 0);
  const pct = (us: number, of: number): string => `${((100 * us) / of).toFixed(1)} %`.padStart(7);
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (not idle); shares of busy time`);
  console.log("by area:");
  for (const [a, us] of [...areas].filter(([a]) => a !== "(idle)").sort((x, y) => y[1] - x[1]).slice(0, 20)) console.log(`  ${pct(us, busy)}  ${a}`);
  console.log(`top ${top} functions (self time):`);
  for (const [k, us] of [...fns].filter(([k]) => !k.startsWith("(idle)")).sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`  ${pct(us, busy)}  ${k}`);
}
