// Several gateways on one store (docs/deploy.md): two node runtimes on one libSQL server (our store endpoint,
// as sqld or Turso would be). A phone registered through one is reachable through the other; a tenant added
// through one's admin API is seen by the other once its tenant cache expires.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RequestEventInput } from "../../../contract/v1";
import { applyMigrations } from "../../../migrations/apply";
import { startNodeRuntime, type NodeRuntime } from "../../../node-runtime/runtime";
import { startStoreServer, type StoreServer } from "../../../store-server/src/server";

const TOKEN = "shared-store-token";
let dir: string;
let server: StoreServer;
let one: NodeRuntime;
let two: NodeRuntime;

function start(ttlMs: string, url = server.url, more: Record<string, string> = {}): Promise<NodeRuntime> {
  return startNodeRuntime({
    env: {
      LIBSQL_URL: url,
      ...(url.startsWith("file:") ? {} : { LIBSQL_AUTH_TOKEN: TOKEN }),
      GATEWAY_SECRET: "shared-store-secret-0123",
      ADMIN_TOKEN: "shared-admin",
      TENANT_CACHE_TTL_MS: ttlMs,
      ...more,
    },
    adminListen: { ip: "127.0.0.1", port: 0 },
    decisionTimeoutMs: 2000,
    sweepIntervalMs: 0,
    log: () => undefined,
  });
}

function event(method: string, requestUri: string, source: { ip: string; port: number }, user = "500"): RequestEventInput {
  return {
    kind: "request",
    transactionId: "z9hG4bKshared",
    method,
    requestUri,
    headers: [],
    source,
    local: { ip: "127.0.0.1", port: 5060 },
    receivedAt: Date.now(),
    parsed: {
      callId: `shared-${method}-${user}`,
      cseq: { seq: 1, method },
      from: { uri: `sip:${user}@shared.example`, params: { tag: "t" } },
      to: { uri: method === "REGISTER" ? `sip:${user}@shared.example` : requestUri, params: {} },
      contacts: method === "REGISTER" ? [{ uri: `sip:${user}@10.8.0.5:5070`, params: {} }] : [],
    },
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "edge-shared-store-"));
  server = await startStoreServer({ file: join(dir, "shared.db"), authToken: TOKEN });
  await applyMigrations({ url: server.url, authToken: TOKEN });
  [one, two] = await Promise.all([start("0"), start("300")]);
});

afterAll(async () => {
  await Promise.allSettled([one?.close(), two?.close()]);
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("two node runtimes on one store", () => {
  it("a tenant added and a binding saved through one gateway route a call through the other", async () => {
    // The second gateway has cached the tenants (none yet): the Asterisk's source is unknown to it.
    const before = await two.client.request(event("INVITE", "sip:500@127.0.0.1", { ip: "10.8.0.1", port: 5071 }));
    expect(before).toMatchObject({ ok: true, decision: { action: "reply", status: 403 } });
    const res = await fetch(`${one.adminUrl}/admin/v1/tenants`, {
      method: "POST",
      headers: { authorization: "Bearer shared-admin", "content-type": "application/json" },
      body: JSON.stringify({ domain: "shared.example", destinations: ["sip:10.8.0.1:5080"] }),
    });
    expect(res.status).toBe(201);
    const d = await one.client.request(event("REGISTER", "sip:shared.example", { ip: "10.8.0.5", port: 5070 }));
    if (!d.ok || d.decision.action !== "relay") throw new Error(`expected a relay, got ${JSON.stringify(d)}`);
    const token = d.decision.targets[0]?.contacts?.[0]?.uriParams["erb"];
    const context = d.decision.context;
    const saved = await one.client.response({
      kind: "response", transactionId: "z9hG4bKshared", status: 200, reason: "OK", headers: [],
      source: { ip: "10.8.0.1", port: 5080 }, local: { ip: "127.0.0.1", port: 5060 }, receivedAt: Date.now(),
      contacts: [{ uri: `sip:500@127.0.0.1:5060;erb=${token}`, params: { expires: "300" } }], context,
    });
    expect(saved.ok).toBe(true);
    // The other gateway, once its tenant cache (300 ms here) expired: the Asterisk calls 500, routed to the
    // phone the first gateway saved.
    await new Promise((r) => setTimeout(r, 350));
    const routed = await two.client.request(event("INVITE", "sip:500@127.0.0.1", { ip: "10.8.0.1", port: 5071 }));
    expect(routed).toMatchObject({ ok: true, decision: { action: "relay", targets: [{ requestUri: "sip:500@10.8.0.5:5070", nextHop: { ip: "10.8.0.5", port: 5070 } }] } });
  });
});

describe("two node runtimes on one host", () => {
  it("the second one whose ADMIN_LISTEN the first holds refuses to start, naming the variable and address", async () => {
    const port = Number(new URL(one.adminUrl!).port);
    const started = startNodeRuntime({
      env: { LIBSQL_URL: server.url, LIBSQL_AUTH_TOKEN: TOKEN, GATEWAY_SECRET: "shared-store-secret-0123", ADMIN_TOKEN: "shared-admin" },
      adminListen: { ip: "127.0.0.1", port },
      decisionTimeoutMs: 2000,
      sweepIntervalMs: 0,
      log: () => undefined,
    });
    await expect(started).rejects.toThrow(`ADMIN_LISTEN 127.0.0.1:${port}: listen EADDRINUSE`);
    // The first one still serves its admin API.
    expect((await fetch(`${one.adminUrl}/admin/v1/tenants`, { headers: { authorization: "Bearer shared-admin" } })).status).toBe(200);
  });
});

// Every gateway of a deployment runs the expiry sweep on its own timer; on one store their runs overlap. Each
// run deletes bounded batches of rows already expired (worker/src/cron/sweep-expired.ts), each batch one
// transaction: overlapping runs share the work, delete nothing live and never fail each other.
describe.each(["one libSQL server over HTTP", "one file"])("the sweeps of two gateways at once on %s", (shape) => {
  it("delete each expired binding once, keep the live ones, and fail nothing", async () => {
    const url = shape === "one file" ? `file:${join(dir, "sweep.db")}` : server.url;
    // On one file, both migrate it at start, at once (migrations/apply.ts tolerates that).
    const [a, b] = await Promise.all([start("0", url, { SWEEP_BATCH: "25" }), start("0", url, { SWEEP_BATCH: "25" })]);
    const client = createClient({ url, authToken: url.startsWith("file:") ? undefined : TOKEN });
    try {
      const now = Math.floor(Date.now() / 1000);
      const rows = Array.from({ length: 302 }, (_, i) => ({
        sql: "INSERT INTO location (username, domain, contact, expires, ruid) VALUES (?, 'sweep.example', ?, ?, ?)",
        args: [`u${i}`, `sip:u${i}@10.9.9.9:5070`, i < 300 ? now - 10 : now + 3600, `r${i}`],
      }));
      await client.batch(rows, "write");
      const [ra, rb] = await Promise.all([a.runSweep(), b.runSweep()]);
      expect(ra.deleted + rb.deleted).toBe(300);
      expect(ra.more || rb.more).toBe(false);
      const left = await client.execute("SELECT username FROM location WHERE domain = 'sweep.example' ORDER BY username");
      expect(left.rows.map((r) => String(r["username"]))).toEqual(["u300", "u301"]);
    } finally {
      client.close();
      await Promise.allSettled([a.close(), b.close()]);
    }
  });
});
