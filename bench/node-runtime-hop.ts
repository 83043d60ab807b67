/**
 * What the Node runtime's pieces cost, without SIP: the store thread's hop (ping through the thread vs the
 * same file opened on the main thread), one in-process REGISTER (request decision + save on its 2xx), and the
 * CPU of one save alone (Store.applySave on the embedded client, as the store thread's writer runs it, here on
 * the main thread so that process.cpuUsage sees only it).
 *
 *   npx tsx bench/node-runtime-hop.ts [N=2000]
 *
 * HOP_GAP_MS=10: a pause before every timed call, as between calls at 100/s: the threads are asleep and their
 * caches cold when each call comes (back to back, they are neither).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import type { RequestEventInput } from "../contract/v1";
import { applyMigrations } from "../migrations/apply";
import { configureWriter, createEmbeddedClient } from "../node-runtime/embedded-client";
import { startNodeRuntime } from "../node-runtime/runtime";
import { startThreadStore } from "../node-runtime/thread-store";
import { createLibsqlStore } from "../worker/src/store/libsql-store";
import type { SavePlan } from "../worker/src/store/store";

const N = Number(process.argv[2] ?? 2000);
const GAP_MS = Number(process.env.HOP_GAP_MS ?? 0);

function stats(label: string, us: number[]): string {
  us.sort((a, b) => a - b);
  const at = (p: number): string => (us[Math.min(us.length - 1, Math.floor((p / 100) * us.length))] ?? NaN).toFixed(1);
  return `${label.padEnd(44)} mean ${(us.reduce((a, b) => a + b, 0) / us.length).toFixed(1)} us  p50 ${at(50)}  p99 ${at(99)}  max ${at(100)}`;
}

async function time(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (GAP_MS > 0) await sleep(GAP_MS);
    const t = performance.now();
    await fn(i);
    out.push((performance.now() - t) * 1000);
  }
  return out;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "edge-hop-"));
  const url = `file:${path.join(dir, "store.db")}`;
  const rt = await startNodeRuntime({
    env: { LIBSQL_URL: url, GATEWAY_SECRET: "bench-secret-0123456789", ADMIN_TOKEN: "bench-admin", TENANT_CACHE_TTL_MS: "5000" },
    adminListen: { ip: "127.0.0.1", port: 0 },
    decisionTimeoutMs: 5000,
    sweepIntervalMs: 0,
    log: () => undefined,
  });
  try {
    await fetch(`${rt.adminUrl}/admin/v1/tenants`, {
      method: "POST",
      headers: { authorization: "Bearer bench-admin", "content-type": "application/json" },
      body: JSON.stringify({ domain: "hop.example", destinations: ["sip:127.0.0.11:5080"] }),
    });
    const thread = await startThreadStore({ url });
    const direct = createLibsqlStore(drizzle(createClient({ url })));
    await time(200, () => thread.ping());
    await time(200, () => direct.ping());
    console.log(stats("ping, store thread (hop + SELECT 1)", await time(N, () => thread.ping())));
    console.log(stats("ping, main thread (SELECT 1, blocks the loop)", await time(N, () => direct.ping())));
    console.log(stats("lookup, store thread", await time(N, () => thread.lookup("201", "hop.example", 0))));
    console.log(stats("lookup, main thread (blocks the loop)", await time(N, () => direct.lookup("201", "hop.example", 0))));
    await thread.close();

    const ev = (i: number): RequestEventInput => ({
      kind: "request", transactionId: `z9hG4bK${i}`, method: "REGISTER", requestUri: "sip:hop.example", headers: [],
      source: { ip: "192.0.2.9", port: 5070 }, local: { ip: "127.0.0.1", port: 5060 }, receivedAt: Date.now(),
      parsed: { callId: `c${i}`, cseq: { seq: 1, method: "REGISTER" }, from: { uri: `sip:u${i}@hop.example`, params: { tag: "t" } },
        to: { uri: `sip:u${i}@hop.example`, params: {} }, contacts: [{ uri: `sip:u${i}@192.0.2.9:5070`, params: {} }] },
    });
    let req = 0;
    let res = 0;
    const reg = await time(N, async (i) => {
      const t0 = performance.now();
      const d = await rt.client.request(ev(i));
      req += performance.now() - t0;
      if (!d.ok || d.decision.action !== "relay") throw new Error("no relay");
      const token = d.decision.targets[0]?.contacts?.[0]?.uriParams["erb"];
      const t1 = performance.now();
      const r = await rt.client.response({
        kind: "response", transactionId: `z9hG4bK${i}`, status: 200, reason: "OK", headers: [], source: { ip: "127.0.0.11", port: 5080 },
        local: { ip: "127.0.0.1", port: 5060 }, receivedAt: Date.now(), contacts: [{ uri: `sip:u${i}@127.0.0.1:5060;erb=${token}`, params: { expires: "300" } }],
        context: d.decision.context,
      });
      res += performance.now() - t1;
      if (!r.ok) throw new Error(r.detail);
    });
    console.log(stats("REGISTER in process (decision + save)", reg));
    console.log(`  of which request decision mean ${((req / N) * 1000).toFixed(1)} us, response decision (save) mean ${((res / N) * 1000).toFixed(1)} us`);

  } finally {
    await rt.close();
  }
  try {
    // One save's CPU, once the runtime's threads are closed (process.cpuUsage counts every thread of the
    // process), on a store file of its own with the writer's connection settings: a new binding of a new AoR
    // each time, after a warm-up.
    const saveUrl = `file:${path.join(dir, "save.db")}`;
    const writer = createEmbeddedClient(saveUrl);
    await configureWriter(writer);
    await applyMigrations({ url: saveUrl });
    const saver = createLibsqlStore(drizzle(writer));
    await saver.createTenant({ domain: "hop.example", destinations: [] });
    const now = Math.floor(Date.now() / 1000);
    const plan = (i: number): SavePlan => ({
      username: `s${i}`, domain: "hop.example", callid: `save-${i}`, cseq: 1, now, issuedAt: now * 1000, removedAt: now * 1000,
      tombstoneExpires: now + 60, maxContacts: 10, removeAll: false, removals: [],
      upserts: [{ ruid: `r${i}`, contact: `sip:s${i}@192.0.2.9:5070`, received: null, path: null, expires: now + 3600, q: 1,
        userAgent: "bench", socket: "udp:127.0.0.1:5060", methods: null, sipInstance: null }],
    });
    for (let i = 0; i < 500; i++) await saver.applySave(plan(i));
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 500; i < 500 + N; i++) await saver.applySave(plan(i));
    const cpu = process.cpuUsage(c0);
    const wall = performance.now() - t0;
    console.log(`save alone (applySave, embedded client)     ${((wall * 1000) / N).toFixed(1)} us wall, ${((cpu.user + cpu.system) / N).toFixed(1)} us cpu per save (sys ${(cpu.system / N).toFixed(1)})`);
    writer.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
