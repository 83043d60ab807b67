// The Node runtime's own parts: the in-process WorkerClient (decisions without HTTP, contexts that never
// leave the process), the store thread (the Store interface over a worker_thread), the runtime's failures.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RequestEventInput, ResponseEventInput } from "../../../contract/v1";
import { importHmacKey, signRequest } from "../../../contract/signing";
import { startNodeRuntime, type NodeRuntime } from "../../../node-runtime/runtime";
import { applyMigrations } from "../../../migrations/apply";
import { createEmbeddedClient } from "../../../node-runtime/embedded-client";
import { startThreadStore } from "../../../node-runtime/thread-store";
import { StoreConflictError, StoreError } from "../../../worker/src/store/store";

const SECRET = "unit-node-runtime-secret-0123";
let dir: string;
let rt: NodeRuntime;
/** What the decisions logged. */
const logged: Record<string, unknown>[] = [];

function register(user: string, contact: string, cseq = 1): RequestEventInput {
  return {
    kind: "request",
    transactionId: "z9hG4bKunit",
    method: "REGISTER",
    requestUri: "sip:nr.example",
    headers: [],
    source: { ip: "192.0.2.9", port: 5070 },
    local: { ip: "127.0.0.1", port: 5060 },
    receivedAt: Date.now(),
    parsed: {
      callId: `c-${user}`,
      cseq: { seq: cseq, method: "REGISTER" },
      from: { uri: `sip:${user}@nr.example`, params: { tag: "t" } },
      to: { uri: `sip:${user}@nr.example`, params: {} },
      contacts: [{ uri: contact, params: {} }],
    },
  };
}

function ok200(context: string, upstream: string[]): ResponseEventInput {
  return {
    kind: "response",
    transactionId: "z9hG4bKunit",
    status: 200,
    reason: "OK",
    headers: [],
    source: { ip: "127.0.0.11", port: 5080 },
    local: { ip: "127.0.0.1", port: 5060 },
    receivedAt: Date.now(),
    contacts: upstream.map((uri) => ({ uri, params: { expires: "120" } })),
    context,
  };
}

/** A runtime on a libSQL URL (no admin API, no sweep, nothing logged), for the store's failures. */
function startRemoteStoreRuntime(libsqlUrl: string, decisionTimeoutMs: number): Promise<NodeRuntime> {
  return startNodeRuntime({
    env: { LIBSQL_URL: libsqlUrl, GATEWAY_SECRET: SECRET, ADMIN_TOKEN: "unit-admin-token" },
    adminListen: undefined,
    decisionTimeoutMs,
    sweepIntervalMs: 0,
    log: () => undefined,
  });
}

/** Creates the tenant the REGISTERs here are for, through the runtime's admin API. */
async function addTenant(runtime: NodeRuntime): Promise<void> {
  const res = await fetch(`${runtime.adminUrl}/admin/v1/tenants`, {
    method: "POST",
    headers: { authorization: "Bearer unit-admin-token", "content-type": "application/json" },
    body: JSON.stringify({ domain: "nr.example", destinations: ["sip:127.0.0.11:5080"] }),
  });
  expect(res.status).toBe(201);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "edge-node-runtime-"));
  rt = await startNodeRuntime({
    env: { LIBSQL_URL: `file:${join(dir, "store.db")}`, GATEWAY_SECRET: SECRET, ADMIN_TOKEN: "unit-admin-token", TENANT_CACHE_TTL_MS: "0" },
    adminListen: { ip: "127.0.0.1", port: 0 },
    decisionTimeoutMs: 2000,
    sweepIntervalMs: 0,
    log: (obj) => logged.push(obj),
  });
  await addTenant(rt);
});

afterAll(async () => {
  await rt?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the in-process client", () => {
  it("decides a REGISTER and saves on its 2xx without HTTP: the binding is visible through the admin API", async () => {
    const before = rt.client.decisions();
    const d = await rt.client.request(register("100", "sip:100@10.9.0.1:5070"));
    if (!d.ok || d.decision.action !== "relay") throw new Error(`expected a relay, got ${JSON.stringify(d)}`);
    expect(d.decision.wantResponse).toBe("2xx");
    const token = d.decision.targets[0]?.contacts?.[0]?.uriParams["erb"];
    expect(token).toMatch(/^[0-9a-f]{20}$/);
    // The context stays in this process: plain JSON, no MAC to compute or check.
    const context = d.decision.context;
    expect(() => JSON.parse(context) as unknown).not.toThrow();
    const r = await rt.client.response(ok200(context, [`sip:100@127.0.0.1:5060;erb=${token}`]));
    expect(r).toMatchObject({ ok: true, decision: { action: "forward", headers: { add: [["Contact", "<sip:100@10.9.0.1:5070>;expires=120"]] } } });
    expect(rt.client.decisions()).toEqual({ request: before.request + 1, response: before.response + 1 });
    const res = await fetch(`${rt.adminUrl}/admin/v1/bindings?aor=100@nr.example`, { headers: { authorization: "Bearer unit-admin-token" } });
    const { bindings } = (await res.json()) as { bindings: { contact: string; received: string }[] };
    expect(bindings.map((b) => [b.contact, b.received])).toEqual([["sip:100@10.9.0.1:5070", "sip:192.0.2.9:5070"]]);
  });

  it("logs the routine outcome of a decision at debug level, so that a production log at info is not a line per REGISTER", async () => {
    logged.length = 0;
    const d = await rt.client.request(register("104", "sip:104@10.9.0.5:5070"));
    if (!d.ok || d.decision.action !== "relay") throw new Error("expected a relay");
    const token = d.decision.targets[0]?.contacts?.[0]?.uriParams["erb"];
    const r = await rt.client.response(ok200(d.decision.context, [`sip:104@127.0.0.1:5060;erb=${token}`]));
    expect(r.ok).toBe(true);
    expect(logged).toContainEqual(expect.objectContaining({ msg: "register saved", level: "debug", aor: "104@nr.example" }));
    expect(logged.filter((e) => e.level !== "debug")).toEqual([]);
  });

  it("answers a stale or malformed context as a rejected call, never a throw, and saves nothing", async () => {
    const stale = JSON.stringify({ iat: Date.now() - 301_000, v: { kind: "register" } });
    expect(await rt.client.response(ok200(stale, []))).toMatchObject({ ok: false, reason: "rejected" });
    expect(await rt.client.response(ok200("not json", []))).toMatchObject({ ok: false, reason: "rejected" });
  });

  it("an in-process context (no MAC) is refused by the runtime's signed HTTP endpoint", async () => {
    const inProcess = await rt.client.request(register("101", "sip:101@10.9.0.2:5070"));
    if (!inProcess.ok || inProcess.decision.action !== "relay") throw new Error("expected a relay");
    // The HTTP app of the same runtime seals with the gateway key: the in-process context is refused there.
    const body = JSON.stringify(ok200(inProcess.decision.context, []));
    const headers = await signRequest(await importHmacKey(SECRET), "/v1/response", body, Date.now());
    const res = await fetch(`${rt.adminUrl}/v1/response`, { method: "POST", body, headers: { ...headers, "content-type": "application/json" } });
    expect(res.status).toBe(400);
  });

  it("completes an event with the contract's defaults before deciding (no parse): a REGISTER without Contact is a query", async () => {
    // The HTTP route's parse gives `contacts: []` to an event without them; so must the in-process client,
    // or the registrar would iterate undefined and the call would be rejected.
    const { contacts: _none, ...parsed } = register("102", "sip:102@10.9.0.3:5070").parsed;
    const query: RequestEventInput = { ...register("102", "sip:102@10.9.0.3:5070"), parsed };
    const d = await rt.client.request(query);
    expect(d).toMatchObject({ ok: true, decision: { action: "relay", wantResponse: "2xx", recordRoute: false } });
  });
});

describe("the store thread", () => {
  it("runs the expiry sweep", async () => {
    await expect(rt.runSweep()).resolves.toMatchObject({ more: false });
  });

  it("carries StoreConflictError across the thread as the same class", async () => {
    const ts = await startThreadStore({ url: `file:${join(dir, "store.db")}` });
    try {
      const err = await ts.createTenant({ domain: "nr.example", destinations: [] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreConflictError);
      expect(ts.calls()).toBe(1);
    } finally {
      await ts.close();
    }
  });

  it("serves lookups from its reader while the writer waits for the write lock (a sweep or a burst of saves never holds up routing)", async () => {
    const url = `file:${join(dir, "store.db")}`;
    const ts = await startThreadStore({ url });
    // Another process's writer holds the file's write lock.
    const other = createEmbeddedClient(url);
    try {
      await other.execute("BEGIN IMMEDIATE");
      const write = ts.deleteAor("nobody", "nr.example", Date.now() + 60_000).then(
        () => "done",
        () => "failed",
      );
      // The writer waits (busy_timeout); the lookup of a call being routed does not wait behind it.
      expect(await ts.lookup("100", "nr.example", 0)).toEqual(expect.any(Array));
      // Nor does this event loop (the gateway's, with its SIP timers): a 20 ms timer fires on time, again and
      // again, while the write waits for the lock in its thread.
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(performance.now() - t0).toBeLessThan(250);
      }
      expect(await Promise.race([write, new Promise((resolve) => setTimeout(() => resolve("still waiting"), 100))])).toBe("still waiting");
      await other.execute("COMMIT");
      expect(await write).toBe("done");
      expect(ts.callsBy()).toEqual({ writer: 1, reader: 1 });
    } finally {
      other.close();
      await ts.close();
    }
  });

  it("checkpoints the WAL into the database file on a thread of its own, not on the writer's commits", async () => {
    const file = join(dir, "checkpoint.db");
    await applyMigrations({ url: `file:${file}` });
    const ts = await startThreadStore({ url: `file:${file}`, checkpointIntervalMs: 300 });
    try {
      await ts.createTenant({ domain: "ckpt.example", destinations: [] });
      await new Promise((resolve) => setTimeout(resolve, 600));
      const before = statSync(file).size;
      // About 1 MB of bindings: far below the writer's own checkpoint threshold (10,000 pages).
      const now = Date.now();
      for (let i = 0; i < 300; i++) {
        await ts.applySave({
          username: `u${i}`, domain: "ckpt.example", callid: `c${i}`, cseq: 1, now, issuedAt: now, removedAt: now,
          tombstoneExpires: now + 60_000, maxContacts: 10, removeAll: false, removals: [],
          upserts: [{ contact: `sip:u${i}@10.0.0.1:5070`, received: null, path: null, expires: now + 3_600_000, q: 1,
            userAgent: "x".repeat(3000), socket: null, methods: null, sipInstance: null, ruid: `r${i}` }],
        });
      }
      // The new pages are in the WAL: the database file grows only when they are checkpointed.
      let grown = false;
      for (let i = 0; i < 40 && !grown; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        grown = statSync(file).size > before + 500_000;
      }
      expect(grown).toBe(true);
    } finally {
      await ts.close();
    }
  });

  it("saves that wait together share a commit, each with its own outcome, and each is visible once answered", async () => {
    const ts = await startThreadStore({ url: `file:${join(dir, "store.db")}` });
    try {
      await ts.createTenant({ domain: "group.example", destinations: [] });
      const now = Date.now();
      const plan = (i: number, cseq = 1) => ({
        username: `g${i}`, domain: "group.example", callid: `gc${i}`, cseq, now, issuedAt: now, removedAt: now,
        tombstoneExpires: now + 60_000, maxContacts: 10, removeAll: false, removals: [],
        upserts: [{ contact: `sip:g${i}@10.0.0.1:5070`, received: null, path: null, expires: now + 3_600_000, q: 1,
          userAgent: "group", socket: null, methods: null, sipInstance: null, ruid: `gr${i}` }],
      });
      // 60 saves sent at once; the 30th cannot be stored (a CSeq that is not a finite number).
      const results = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => ts.applySave(i === 30 ? plan(i, Number.NaN) : plan(i))));
      const failed = results.flatMap((r, i) => (r.status === "rejected" ? [i] : []));
      expect(failed).toEqual([30]);
      expect((results[30] as PromiseRejectedResult).reason).toBeInstanceOf(StoreError);
      for (const [i, r] of results.entries()) {
        if (i !== 30) expect((r as PromiseFulfilledResult<{ bindings: { contact: string }[] }>).value.bindings.map((b) => b.contact)).toEqual([`sip:g${i}@10.0.0.1:5070`]);
      }
      // Shared commits happened, and what each save was answered with is what the reader (another connection) sees.
      expect(ts.commitGroups().groups).toBeGreaterThan(0);
      expect(ts.commitGroups().saves).toBeGreaterThan(ts.commitGroups().groups);
      const seen = await Promise.all(Array.from({ length: 60 }, (_, i) => ts.lookup(`g${i}`, "group.example", now)));
      expect(seen.flatMap((b, i) => (b.length === 1 ? [] : [i]))).toEqual([30]);
    } finally {
      await ts.close();
    }
  });

  it("refuses, unrun, calls that waited in its queue longer than their callers wait (load shedding)", async () => {
    const ts = await startThreadStore({ url: `file:${join(dir, "store.db")}`, opTimeoutMs: 1 });
    try {
      // A burst far longer than 1 ms of work: the head runs, the tail expires in the queue.
      const results = await Promise.allSettled(Array.from({ length: 400 }, () => ts.lookup("100", "nr.example", 0)));
      const refused = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason as unknown);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.every((e) => e instanceof StoreError && /expired in the store queue/.test(e.message))).toBe(true);
      // The thread is still serving (a call on an empty queue; retried, since 1 ms is short on a busy machine).
      let served = false;
      for (let i = 0; i < 50 && !served; i++) served = await ts.ping().then(() => true, () => false);
      expect(served).toBe(true);
    } finally {
      await ts.close();
    }
  });

  it("a store that cannot be reached makes decisions fail as unavailable, within the bound", async () => {
    const down = await startRemoteStoreRuntime("http://127.0.0.1:9", 1000);
    try {
      const started = Date.now();
      expect(await down.client.request(register("103", "sip:103@10.9.0.4:5070"))).toMatchObject({ ok: false, reason: "unavailable" });
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await down.close();
    }
  });
});

describe("the in-process client's time bound", () => {
  it("answers timeout once the bound has passed when the store never answers, and keeps answering the next calls", async () => {
    // A libSQL URL whose server takes the connection and never replies: the decision waits on it forever.
    const held = new Set<Socket>();
    const silent = createServer((socket) => held.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    const hung = await startRemoteStoreRuntime(`http://127.0.0.1:${port}`, 300);
    try {
      const started = performance.now();
      const answers = await Promise.all([
        hung.client.request(register("104", "sip:104@10.9.0.5:5070")),
        hung.client.request(register("105", "sip:105@10.9.0.6:5070")),
      ]);
      const took = performance.now() - started;
      for (const a of answers) expect(a).toEqual({ ok: false, reason: "timeout", detail: "no decision within 300 ms" });
      expect(took).toBeGreaterThanOrEqual(295);
      expect(took).toBeLessThan(1500);
      // The bound holds again for a call made after the first ones timed out.
      expect(await hung.client.request(register("106", "sip:106@10.9.0.7:5070"))).toMatchObject({ ok: false, reason: "timeout" });
    } finally {
      await hung.close();
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe("dispatcher probing in the node runtime", () => {
  const adminCall = (method: string, path: string, body?: unknown) =>
    fetch(`${rt.adminUrl}/admin/v1${path}`, {
      method,
      headers: { authorization: "Bearer unit-admin-token", "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it("the in-process client lists the destinations to probe and records what the probes saw, on the runtime's store", async () => {
    expect((await adminCall("POST", "/destinations/probe", { uri: "sip:127.0.0.11:5080", probing: true })).status).toBe(200);
    const listed = await rt.client.probeTargets!({ gateway: "unit" });
    if (!listed.ok) throw new Error(listed.detail);
    const target = listed.decision.targets.find((t) => t.uri === "sip:127.0.0.11:5080");
    expect(target).toMatchObject({ ip: "127.0.0.11", port: 5080, state: "active" });
    const reported = await rt.client.reportDestinationStates!({ gateway: "unit", changes: [{ id: target!.id, uri: target!.uri, state: "inactive" }] });
    expect(reported.ok).toBe(true);
    const view = (await (await adminCall("GET", "/destinations?domain=nr.example")).json()) as { destinations: { uri: string; state: string }[] };
    expect(view.destinations).toEqual([expect.objectContaining({ uri: "sip:127.0.0.11:5080", state: "inactive" })]);
    expect((await adminCall("POST", "/destinations/enable", { uri: "sip:127.0.0.11:5080" })).status).toBe(200);
  });
});

describe("the expiry sweep's timer", () => {
  it("removes a binding once it has expired, with no call from outside, and logs what it swept", async () => {
    const own = mkdtempSync(join(tmpdir(), "edge-node-sweep-"));
    const file = join(own, "store.db");
    const lines: Record<string, unknown>[] = [];
    const swept = await startNodeRuntime({
      env: { LIBSQL_URL: `file:${file}`, GATEWAY_SECRET: SECRET, ADMIN_TOKEN: "unit-admin-token", TENANT_CACHE_TTL_MS: "0" },
      adminListen: { ip: "127.0.0.1", port: 0 },
      decisionTimeoutMs: 2000,
      sweepIntervalMs: 100,
      log: (obj) => lines.push(obj),
    });
    const sql = createEmbeddedClient(`file:${file}`);
    try {
      await addTenant(swept);
      const d = await swept.client.request(register("110", "sip:110@10.9.0.11:5070"));
      if (!d.ok || d.decision.action !== "relay") throw new Error(`expected a relay, got ${JSON.stringify(d)}`);
      const token = d.decision.targets[0]?.contacts?.[0]?.uriParams["erb"];
      expect((await swept.client.response(ok200(d.decision.context, [`sip:110@127.0.0.1:5060;erb=${token}`]))).ok).toBe(true);
      const live = async (): Promise<number> => Number((await sql.execute("SELECT count(*) AS n FROM location WHERE username = '110'")).rows[0]!["n"]);
      // Saved for 120 s: several ticks of the timer leave it alone.
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect(await live()).toBe(1);
      // Expired as the store sees it (another connection, as a second gateway on the file would be).
      await sql.execute({ sql: "UPDATE location SET expires = ? WHERE username = '110'", args: [Math.floor(Date.now() / 1000) - 10] });
      const until = Date.now() + 3000;
      while ((await live()) > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await live()).toBe(0);
      expect(lines.some((l) => l.msg === "expired bindings swept" && Number(l.deleted) >= 1)).toBe(true);
    } finally {
      sql.close();
      await swept.close();
      rmSync(own, { recursive: true, force: true });
    }
  });
});
