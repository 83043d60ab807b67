/**
 * Summarises a V8 heap snapshot (`BENCH_HEAP_SNAPSHOT=1 npm run bench`, or v8.writeHeapSnapshot): the live
 * objects' self sizes by constructor (or, for strings, code and the like, by node type), the top TOP
 * (default 30), with their counts.
 *
 *   npx tsx bench/heap-top.ts /tmp/edge-bench-.../node/stop.heapsnapshot
 */
import { readFileSync } from "node:fs";

interface Snapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: readonly string[]; readonly node_types: readonly unknown[] } };
  readonly nodes: readonly number[];
  readonly strings: readonly string[];
}

function main(): void {
  const file = process.argv[2];
  if (!file) throw new Error("usage: heap-top.ts <file.heapsnapshot>");
  const snap = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0] as readonly string[];
  const width = fields.length;
  const iType = fields.indexOf("type");
  const iName = fields.indexOf("name");
  const iSize = fields.indexOf("self_size");
  const groups = new Map<string, { bytes: number; count: number }>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType]!]!;
    const size = snap.nodes[i + iSize]!;
    total += size;
    const key = type === "object" || type === "closure" ? `${snap.strings[snap.nodes[i + iName]!]} (${type})` : `(${type})`;
    const g = groups.get(key) ?? { bytes: 0, count: 0 };
    g.bytes += size;
    g.count++;
    groups.set(key, g);
  }
  const top = Number(process.env.TOP ?? 30);
  console.log(`${file}: ${(total / 1e6).toFixed(1)} MB live (self sizes), ${snap.nodes.length / width} objects`);
  for (const [key, g] of [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)) {
    console.log(`${(g.bytes / 1e6).toFixed(1).padStart(8)} MB ${String(g.count).padStart(9)}  ${key}`);
  }
}

main();
