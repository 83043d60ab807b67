/**
 * `npm run bench:scale`: binding lookups against a big location table, on the node runtime's embedded store
 * (the libSQL file owned by the store thread, node-runtime/thread-store.ts, called as the decisions call it).
 *
 * 1. Lookup latency with SMALL (default 1,000) and BIG (default 1,000,000) live bindings stored, two files
 *    each with its own store thread: LOOKUPS sequential `store.lookup(user, domain, now)` calls per size
 *    for random seeded AoRs (each one round trip to the store thread and one indexed SELECT), in ROUNDS
 *    (default 5) alternating rounds; p50 / p99 / max per round, and the median p99 of each size.
 *    Target: p99 at 1 M within 1.5x of p99 at 1 k.
 * 2. The expiry sweep of EXPIRED (default 1,000,000) expired rows next to SMALL live ones, in the runtime's
 *    bounded batches (worker/src/cron/sweep-expired.ts, SWEEP_BATCH rows per statement, SWEEP_MAX_BATCHES
 *    per run), run back to back until the table is clean, while the same sequential lookups go on. Target:
 *    lookup p99 during the sweep at most 2x the p99 measured just before it on the same file.
 *
 * Rows are seeded straight into the file with one prepared INSERT in one transaction (libsql, the embedded
 * engine's synchronous binding), after the migrations; the store thread opens the file afterwards.
 * Bounded: MAX_SECONDS (default 600) for the whole run; the sweep stops early at that bound and says so.
 *
 *   npm run bench:scale
 *   SMALL=1000 BIG=200000 EXPIRED=200000 LOOKUPS=5000 npm run bench:scale
 */
import Database from "libsql";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { applyMigrations } from "../migrations/apply";
import { sweepExpired } from "../worker/src/cron/sweep-expired";
import { startThreadStore, type ThreadStore } from "../node-runtime/thread-store";
import { percentile } from "./sipp-load";

const num = (name: string, def: number): number => {
  const v = Number(process.env[name] ?? def);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer`);
  return v;
};
const SMALL = num("SMALL", 1000);
const BIG = num("BIG", 1_000_000);
const EXPIRED = num("EXPIRED", 1_000_000);
const LOOKUPS = num("LOOKUPS", 20_000);
const ROUNDS = num("ROUNDS", 5);
const SWEEP_BATCH = num("SWEEP_BATCH", 500);
const SWEEP_MAX_BATCHES = num("SWEEP_MAX_BATCHES", 20);
const MAX_SECONDS = num("MAX_SECONDS", 600);
const DOMAINS = 10;
const deadline = Date.now() + MAX_SECONDS * 1000;
const nowS = (): number => Math.floor(Date.now() / 1000);

const dir = mkdtempSync(path.join(tmpdir(), "edge-scale-"));

/** A fresh migrated file with `live` unexpired and `expired` expired bindings over DOMAINS tenant domains. */
async function seed(name: string, live: number, expired: number): Promise<string> {
  const file = path.join(dir, `${name}.db`);
  await applyMigrations({ url: `file:${file}` });
  const t0 = performance.now();
  const db = new Database(file);
  db.exec("PRAGMA journal_mode = WAL");
  const insert = db.prepare(
    "INSERT INTO location (username, domain, contact, received, expires, q, callid, cseq, last_modified, flags, user_agent, ruid) " +
      "VALUES (?, ?, ?, ?, ?, 1, ?, 1, ?, 0, 'edge-scale', ?)",
  );
  const now = nowS();
  const all = live + expired;
  const fill = db.transaction(() => {
    for (let i = 0; i < all; i++) {
      // Live rows first (u0 ...), expired ones after (their own usernames); expired spread over the last hour.
      const isLive = i < live;
      const user = `u${i}`;
      const domain = `t${i % DOMAINS}.scale.example`;
      const contact = `sip:${user}@198.51.100.${i % 250}:${5060 + (i % 1000)};transport=udp`;
      const expires = isLive ? now + 3600 : now - 1 - (i % 3600);
      insert.run(user, domain, contact, `sip:203.0.113.${i % 250}:${40000 + (i % 20000)}`, expires, `c${i}@scale`, (expires - 3600) * 1000, `r${i}`);
    }
  });
  fill();
  db.close();
  const mb = statSync(file).size / 2 ** 20;
  console.log(`seeded ${name}: ${live.toLocaleString("en")} live + ${expired.toLocaleString("en")} expired rows in ${((performance.now() - t0) / 1000).toFixed(1)} s (${mb.toFixed(0)} MB)`);
  return file;
}

interface Lat {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly misses: number;
}

function summary(ms: number[], misses: number): Lat {
  const s = [...ms].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50) ?? NaN, p99: percentile(s, 99) ?? NaN, max: s[s.length - 1] ?? NaN, misses };
}

const fmtLat = (l: Lat): string => `${l.n.toLocaleString("en")} lookups: p50 ${l.p50.toFixed(3)} ms, p99 ${l.p99.toFixed(3)} ms, max ${l.max.toFixed(2)} ms${l.misses ? `, ${l.misses} found nothing` : ""}`;

/** Sequential lookups of random live AoRs (u0 .. u<live-1>) until `count` are done or `until()` says stop. */
async function lookups(store: ThreadStore, live: number, count: number, until?: () => boolean): Promise<Lat> {
  const ms: number[] = [];
  let misses = 0;
  let x = 12345;
  for (let i = 0; i < count || (until && !until()); i++) {
    if (until?.() || Date.now() > deadline) break;
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const k = x % live;
    const t = performance.now();
    const b = await store.lookup(`u${k}`, `t${k % DOMAINS}.scale.example`, nowS());
    ms.push(performance.now() - t);
    if (b.length !== 1) misses++;
  }
  return summary(ms, misses);
}

async function open(file: string): Promise<ThreadStore> {
  return startThreadStore({ url: `file:${file}`, opTimeoutMs: undefined });
}

async function main(): Promise<void> {
  console.log(`edge-registrar bench:scale  ${new Date().toISOString()}  node ${process.version}`);
  console.log(`SMALL=${SMALL} BIG=${BIG} EXPIRED=${EXPIRED} LOOKUPS=${LOOKUPS} ROUNDS=${ROUNDS} SWEEP_BATCH=${SWEEP_BATCH} SWEEP_MAX_BATCHES=${SWEEP_MAX_BATCHES} MAX_SECONDS=${MAX_SECONDS}; files in ${dir}`);
  const results: string[] = [];

  // 1. Lookup p99, small table vs big table: ROUNDS alternating rounds on both files (each its own store
  //    thread, as the runtime has), so that a noisy moment on the shared machine hits one round, not one size.
  const sizes = [["small", SMALL], ["big", BIG]] as const;
  const files = [await seed("small", SMALL, 0), await seed("big", BIG, 0)];
  const stores = [await open(files[0]!), await open(files[1]!)];
  for (const [i, [, live]] of sizes.entries()) await lookups(stores[i]!, live, Math.min(2000, LOOKUPS)); // warm-up: JIT, thread, page cache
  const p99s: [number[], number[]] = [[], []];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [i, [name, live]] of sizes.entries()) {
      const l = await lookups(stores[i]!, live, Math.ceil(LOOKUPS / ROUNDS));
      p99s[i]!.push(l.p99);
      console.log(`round ${round} ${name} (${live.toLocaleString("en")} bindings) ${fmtLat(l)}`);
    }
  }
  for (const st of stores) await st.close();
  for (const f of files) rmSync(f, { force: true });
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  const [ps, pb] = [median(p99s[0]!), median(p99s[1]!)];
  const r = pb / ps;
  console.log(`median p99 over ${ROUNDS} rounds: small ${ps.toFixed(3)} ms, big ${pb.toFixed(3)} ms (${r.toFixed(2)}x)`);
  results.push(`| lookup p99, ${BIG.toLocaleString("en")} vs ${SMALL.toLocaleString("en")} bindings (median of ${ROUNDS} alternating rounds) | ${pb.toFixed(3)} ms vs ${ps.toFixed(3)} ms | ${r.toFixed(2)}x | <= 1.5x | ${r <= 1.5 ? "met" : "missed"} |`);

  // 2. The sweep of EXPIRED expired rows, lookups running alongside.
  const file = await seed("sweep", SMALL, EXPIRED);
  const store = await open(file);
  await lookups(store, SMALL, Math.min(2000, LOOKUPS));
  const before = await lookups(store, SMALL, LOOKUPS);
  console.log(`before the sweep: ${fmtLat(before)}`);
  let done = false;
  let runs = 0;
  let deleted = 0;
  let batches = 0;
  const runMs: number[] = [];
  const t0 = performance.now();
  const sweeping = (async () => {
    try {
      for (;;) {
        if (Date.now() > deadline) break;
        const t = performance.now();
        const res = await sweepExpired(store, nowS(), SWEEP_BATCH, SWEEP_MAX_BATCHES);
        runMs.push(performance.now() - t);
        runs++;
        deleted += res.deleted;
        batches += res.batches;
        if (!res.more) break;
      }
    } finally {
      done = true;
    }
  })();
  const during = await lookups(store, SMALL, 0, () => done);
  await sweeping;
  const sweepS = (performance.now() - t0) / 1000;
  const perBatch = (runMs.reduce((a, b) => a + b, 0) / Math.max(1, batches)).toFixed(2);
  console.log(`sweep: ${deleted.toLocaleString("en")} rows deleted in ${runs} runs of <= ${SWEEP_MAX_BATCHES} batches of ${SWEEP_BATCH} (${batches} batches, ${sweepS.toFixed(1)} s, ${perBatch} ms per batch on average, slowest run ${Math.max(...runMs).toFixed(0)} ms)${deleted < EXPIRED ? " - stopped at MAX_SECONDS" : ""}`);
  console.log(`during the sweep: ${fmtLat(during)}`);
  const after = await lookups(store, SMALL, Math.min(LOOKUPS, 5000));
  console.log(`after the sweep: ${fmtLat(after)}`);
  await store.close();
  const r2 = during.p99 / before.p99;
  results.push(`| lookup p99 during the sweep of ${EXPIRED.toLocaleString("en")} expired rows vs before it | ${during.p99.toFixed(3)} ms vs ${before.p99.toFixed(3)} ms | ${r2.toFixed(2)}x | < 2x | ${r2 < 2 ? "met" : "missed"} |`);
  results.push(`| sweep batches | ${batches} batches of <= ${SWEEP_BATCH} rows, ${perBatch} ms each on average, ${deleted.toLocaleString("en")} rows in ${sweepS.toFixed(1)} s | | bounded | ${deleted >= EXPIRED ? "all swept" : "stopped at MAX_SECONDS"} |`);
  rmSync(dir, { recursive: true, force: true });

  console.log("\n| measure | figure | ratio | target | |\n| --- | --- | --- | --- | --- |");
  for (const l of results) console.log(l);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  },
);
