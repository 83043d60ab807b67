// WAL checkpoints off the server's thread (store-server/src/checkpointer.ts): the pool's connections never
// checkpoint on commit, a thread of its own copies the WAL into the database file on a timer, and writers
// are never refused because of it.
import { statSync } from "node:fs";
import { createClient, type Client } from "@libsql/client/web";
import { afterEach, describe, expect, it } from "vitest";
import { executeRequest, pipeline, sleep, startTestStore, type TestStore } from "./helpers";

let store: TestStore | undefined;
let client: Client | undefined;
afterEach(async () => {
  client?.close();
  client = undefined;
  await store?.stop();
  store = undefined;
});

const firstValue = async (url: string, sql: string): Promise<unknown> => {
  const res = await pipeline(url, { requests: [executeRequest(sql), { type: "close" }] });
  const rows = (res.body.results?.[0]?.response as { result?: { rows?: { value?: unknown }[][] } } | undefined)?.result?.rows;
  return rows?.[0]?.[0]?.value;
};

describe("store endpoint: WAL checkpoints in their own thread", () => {
  it("a commit in the server's thread never checkpoints (wal_autocheckpoint 0), whatever a client set before", async () => {
    store = await startTestStore();
    expect(await firstValue(store.url, "PRAGMA wal_autocheckpoint")).toBe("0");
    // A client that changes it gets the setting back once its connection returns to the pool.
    await pipeline(store.url, { requests: [executeRequest("PRAGMA wal_autocheckpoint = 1000"), { type: "close" }] });
    expect(await firstValue(store.url, "PRAGMA wal_autocheckpoint")).toBe("0");
  });

  it("the checkpoint thread copies committed WAL frames into the database file without any commit doing it", async () => {
    store = await startTestStore({ checkpointIntervalMs: 50 });
    client = createClient({ url: store.url });
    await client.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    await sleep(200);
    const before = statSync(store.file).size;
    // About 100 pages: far below the 1000 pages at which SQLite's own commit-time checkpoint would run.
    await client.batch(Array.from({ length: 400 }, (_, i) => ({ sql: "INSERT INTO t (v) VALUES (?)", args: [`${i}`.padEnd(1000, "x")] })), "write");
    const deadline = Date.now() + 5000;
    while (statSync(store.file).size <= before + 300_000 && Date.now() < deadline) await sleep(50);
    expect(statSync(store.file).size).toBeGreaterThan(before + 300_000);
    const stats = await store.server.checkpoints?.();
    expect(stats?.frames).toBeGreaterThan(0);
  });

  it("writers and readers are never refused while checkpoints run", async () => {
    store = await startTestStore({ checkpointIntervalMs: 5 });
    client = createClient({ url: store.url });
    await client.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const until = Date.now() + 1500;
    let writes = 0;
    const writer = async (): Promise<void> => {
      while (Date.now() < until) {
        await client!.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: ["y".repeat(2000)] });
        writes++;
      }
    };
    const reader = async (): Promise<void> => {
      while (Date.now() < until) await client!.execute("SELECT count(*) FROM t");
    };
    await Promise.all([writer(), writer(), reader()]);
    const n = await client.execute("SELECT count(*) AS n FROM t");
    expect(Number(n.rows[0]!.n)).toBe(writes);
    expect((await store.server.checkpoints?.())?.runs).toBeGreaterThan(10);
  });

  it("checkpointIntervalMs 0 keeps SQLite's commit-time checkpoints", async () => {
    store = await startTestStore({ checkpointIntervalMs: 0 });
    expect(await firstValue(store.url, "PRAGMA wal_autocheckpoint")).toBe("1000");
    expect(await store.server.checkpoints?.()).toBeUndefined();
  });
});
