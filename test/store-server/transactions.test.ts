import { createClient, type Client } from "@libsql/client/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeRequest, pipeline, sleep, startTestStore, type TestStore } from "./helpers";

async function count(client: Client, name: string): Promise<number> {
  const rs = await client.execute({ sql: "SELECT count(*) AS n FROM accounts WHERE name = ?", args: [name] });
  return Number(rs.rows[0]!["n"]);
}

describe("interactive transactions", () => {
  let store: TestStore;
  let client: Client;

  beforeAll(async () => {
    store = await startTestStore();
    client = createClient({ url: store.url });
    await client.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT, balance INTEGER NOT NULL DEFAULT 0)");
  });

  afterAll(async () => {
    client.close();
    await store.stop();
  });

  it("commits statements sent over several calls", async () => {
    const tx = await client.transaction("write");
    await tx.execute({ sql: "INSERT INTO accounts (name, balance) VALUES (?, ?)", args: ["alice", 10] });
    const inside = await tx.execute("SELECT sum(balance) AS s FROM accounts");
    expect(inside.rows[0]!["s"]).toBe(10);
    await tx.batch([{ sql: "UPDATE accounts SET balance = balance + 5 WHERE name = ?", args: ["alice"] }]);
    expect(await count(client, "alice")).toBe(0); // not visible to others before COMMIT
    await tx.commit();
    expect(await count(client, "alice")).toBe(1);
    const rs = await client.execute({ sql: "SELECT balance FROM accounts WHERE name = ?", args: ["alice"] });
    expect(rs.rows[0]!["balance"]).toBe(15);
  });

  it("rolls back on rollback()", async () => {
    const tx = await client.transaction("write");
    await tx.execute({ sql: "INSERT INTO accounts (name) VALUES (?)", args: ["bob"] });
    await tx.rollback();
    expect(await count(client, "bob")).toBe(0);
  });

  it("rolls back a transaction that is closed without commit", async () => {
    const tx = await client.transaction("write");
    await tx.execute({ sql: "INSERT INTO accounts (name) VALUES (?)", args: ["carol"] });
    tx.close();
    // The close request travels on its own; the next writer must get the lock (so the close arrived).
    await client.execute({ sql: "INSERT INTO accounts (name) VALUES (?)", args: ["dave"] });
    expect(await count(client, "carol")).toBe(0);
    expect(await count(client, "dave")).toBe(1);
  });

  it("keeps the transaction open after a failing statement", async () => {
    const tx = await client.transaction("write");
    await tx.execute({ sql: "INSERT INTO accounts (name) VALUES (?)", args: ["erin"] });
    await expect(tx.execute("INSERT INTO nowhere VALUES (1)")).rejects.toMatchObject({ code: "SQLITE_ERROR" });
    await tx.execute({ sql: "INSERT INTO accounts (name) VALUES (?)", args: ["frank"] });
    await tx.commit();
    expect(await count(client, "erin")).toBe(1);
    expect(await count(client, "frank")).toBe(1);
  });

  it("supports a deferred transaction that only reads, and a read transaction that refuses writes", async () => {
    const deferred = await client.transaction("deferred");
    const rs = await deferred.execute("SELECT count(*) AS n FROM accounts");
    expect(Number(rs.rows[0]!["n"])).toBeGreaterThan(0);
    await deferred.commit();

    const read = await client.transaction("read");
    await read.execute("SELECT 1");
    await expect(read.execute({ sql: "INSERT INTO accounts (name) VALUES (?)", args: ["ro"] })).rejects.toThrow(/readonly|read-only|query_only/i);
    await read.rollback();
    expect(await count(client, "ro")).toBe(0);
    // The connection went back to the pool writable.
    await client.execute({ sql: "INSERT INTO accounts (name) VALUES (?)", args: ["after-ro"] });
    expect(await count(client, "after-ro")).toBe(1);
  });

  it("runs executeMultiple inside a transaction", async () => {
    const tx = await client.transaction("write");
    await tx.executeMultiple("INSERT INTO accounts (name) VALUES ('m1'); INSERT INTO accounts (name) VALUES ('m2');");
    await tx.rollback();
    expect(await count(client, "m1")).toBe(0);
  });
});

describe("idle streams", () => {
  let store: TestStore;
  let client: Client;

  beforeAll(async () => {
    store = await startTestStore({ idleTimeoutMs: 200 });
    client = createClient({ url: store.url });
    await client.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT, balance INTEGER NOT NULL DEFAULT 0)");
  });

  afterAll(async () => {
    client.close();
    await store.stop();
  });

  it("rolls back an abandoned transaction, frees the write lock and rejects its baton as expired", async () => {
    const open = await pipeline(store.url, { requests: [executeRequest("BEGIN IMMEDIATE"), executeRequest("INSERT INTO accounts (name) VALUES ('ghost')")] });
    expect(open.status).toBe(200);
    expect(typeof open.body.baton).toBe("string");

    const started = Date.now();
    // This writer queues behind the abandoned transaction until the idle timeout ends it.
    await client.execute({ sql: "INSERT INTO accounts (name) VALUES (?)", args: ["live"] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(await count(client, "ghost")).toBe(0);
    expect(await count(client, "live")).toBe(1);

    const late = await pipeline(store.url, { baton: open.body.baton, requests: [executeRequest("COMMIT")] });
    expect(late.status).toBe(400);
    expect(late.body.code).toBe("STREAM_EXPIRED");
  });

  it("keeps a stream alive while calls keep coming", async () => {
    let baton = (await pipeline(store.url, { requests: [executeRequest("BEGIN")] })).body.baton;
    for (let i = 0; i < 4; i++) {
      await sleep(100);
      const next = await pipeline(store.url, { baton, requests: [executeRequest("SELECT 1")] });
      expect(next.status).toBe(200);
      baton = next.body.baton;
    }
    const done = await pipeline(store.url, { baton, requests: [executeRequest("COMMIT"), { type: "close" }] });
    expect(done.body.baton).toBeNull();
    expect(done.body.results!.map((r) => r.type)).toEqual(["ok", "ok"]);
  });
});
