/**
 * What the node runtime's store writer spends on one REGISTER's save: applySave (worker/src/store) on the
 * embedded libSQL file, in this process (the store thread's work without the thread and its messages), with
 * the writer's pragmas. Prints wall and CPU µs per save (system time apart: the WAL's writes) for ITERATIONS
 * saves of fresh AoRs, three rounds. The file lives in a temporary directory, removed at the end.
 *
 *   npx tsx bench/store-save.ts              (ITERATIONS=n to change the 10,000 per round)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/libsql";
import { applyMigrations } from "../migrations/apply";
import { configureWriter, createEmbeddedClient } from "../node-runtime/embedded-client";
import { createLibsqlStore } from "../worker/src/store/libsql-store";
import type { SavePlan } from "../worker/src/store/store";
import { runCommitGroup } from "../node-runtime/group-commit";

const N = Number(process.env.ITERATIONS ?? 10_000);
/** Saves per commit (node-runtime/group-commit.ts); 1 is a save on its own, as at low load. */
const GROUPS = (process.env.GROUPS ?? "1,4,16").split(",").map(Number);
const dir = mkdtempSync(join(tmpdir(), "edge-store-save-"));
try {
  const url = `file:${join(dir, "store.db")}`;
  await applyMigrations({ url });
  const client = createEmbeddedClient(url);
  await configureWriter(client);
  await client.execute("INSERT INTO domain (domain, setid) VALUES ('tenant-a.example', 1)");
  const store = createLibsqlStore(drizzle(client));
  const now = Math.floor(Date.now() / 1000);
  console.log(`store-save: ${N.toLocaleString("en")} saves per round, one new binding each; group sizes ${GROUPS.join(", ")}`);
  const planOf = (tag: string, i: number): SavePlan => {
    const user = `9${tag}${i}`;
    return {
      username: user,
      domain: "tenant-a.example",
      callid: `${tag}-${i}@127.0.0.1`,
      cseq: 1,
      now,
      issuedAt: Date.now(),
      removedAt: Date.now(),
      maxContacts: 10,
      tombstoneExpires: now + 60,
      removeAll: false,
      removals: [],
      upserts: [
        { ruid: `r-${tag}-${i}`, contact: `sip:${user}@127.0.0.1:5999`, received: null, path: null, expires: now + 3600, q: 1, userAgent: "edge-bench", socket: "udp:127.0.22.1:5060", methods: null, sipInstance: null },
      ],
    };
  };
  for (let round = 1; round <= 3; round++) {
    for (const group of GROUPS) {
      const tag = `${round}g${group}`;
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < N; i += group) {
        const ops = [];
        for (let j = i; j < Math.min(N, i + group); j++) ops.push(() => store.applySave(planOf(tag, j)));
        const settled = await runCommitGroup(client, ops);
        if (!settled.every((r) => r.ok)) throw new Error("a save failed");
      }
      const cpu = process.cpuUsage(cpu0);
      const wall = ((performance.now() - t0) * 1000) / N;
      console.log(
        `  round ${round}, group ${String(group).padStart(2)}: ${wall.toFixed(1)} µs wall, ${((cpu.user + cpu.system) / N).toFixed(1)} µs CPU (system ${(cpu.system / N).toFixed(1)}) per save`,
      );
    }
  }
  client.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
