/**
 * What the Node runtime's pieces cost, without SIP: the store thread's hop (ping through the thread vs the
 * same file opened on the main thread), and one in-process REGISTER (request decision + save on its 2xx).
 *
 *   npx tsx bench/node-runtime-hop.ts [N=2000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import type { RequestEventInput } from "../contract/v1";
import { startNodeRuntime } from "../node-runtime/runtime";
import { startThreadStore } from "../node-runtime/thread-store";
import { createLibsqlStore } from "../worker/src/store/libsql-store";

const N = Number(process.argv[2] ?? 2000);

function stats(label: string, us: number[]): string {
  us.sort((a, b) => a - b);
  const at = (p: number): string => (us[Math.min(us.length - 1, Math.floor((p / 100) * us.length))] ?? NaN).toFixed(1);
  return `${label.padEnd(44)} mean ${(us.reduce((a, b) => a + b, 0) / us.length).toFixed(1)} us  p50 ${at(50)}  p99 ${at(99)}  max ${at(100)}`;
}

async function time(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
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
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
