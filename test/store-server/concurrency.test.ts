import { createClient, type Client } from "@libsql/client/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep, startTestStore, type TestStore } from "./helpers";

describe.each([
  { label: "a database file", memory: false },
  { label: ":memory:", memory: true },
])("concurrent streams over $label", ({ memory }) => {
  let store: TestStore;
  let clients: Client[];

  beforeAll(async () => {
    store = await startTestStore(memory ? { file: ":memory:" } : {});
    clients = Array.from({ length: 4 }, () => createClient({ url: store.url }));
    await clients[0]!.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, writer TEXT NOT NULL, n INTEGER NOT NULL)");
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await store.stop();
  });

  it("queues many parallel write batches from several clients behind an open transaction; none gets SQLITE_BUSY", async () => {
    const holder = clients[0]!;
    const tx = await holder.transaction("write");
    await tx.execute({ sql: "INSERT INTO events (writer, n) VALUES (?, ?)", args: ["tx", 0] });

    const perClient = 25;
    const writers = clients.slice(1).flatMap((client, c) =>
      Array.from({ length: perClient }, (_, i) =>
        client.batch(
          [
            { sql: "INSERT INTO events (writer, n) VALUES (?, ?)", args: [`c${c}`, i] },
            { sql: "INSERT INTO events (writer, n) VALUES (?, ?)", args: [`c${c}`, i + 1000] },
            { sql: "UPDATE events SET n = n + 1 WHERE writer = ? AND n = ?", args: [`c${c}`, i + 1000] },
          ],
          "write",
        ),
      ),
    );
    const autocommit = Array.from({ length: 20 }, (_, i) =>
      clients[1]!.execute({ sql: "INSERT INTO events (writer, n) VALUES (?, ?)", args: ["auto", i] }),
    );

    // The writers wait while the transaction holds the lock; it still makes progress meanwhile.
    await sleep(150);
    await tx.execute({ sql: "INSERT INTO events (writer, n) VALUES (?, ?)", args: ["tx", 1] });
    await tx.commit();

    const outcomes = await Promise.allSettled([...writers, ...autocommit]);
    const failures = outcomes.filter((o) => o.status === "rejected");
    expect(failures).toEqual([]);
    const rs = await clients[2]!.execute("SELECT writer, count(*) AS n FROM events GROUP BY writer ORDER BY writer");
    expect(rs.rows.map((r) => [r["writer"], r["n"]])).toEqual([
      ["auto", 20],
      ["c0", 2 * perClient],
      ["c1", 2 * perClient],
      ["c2", 2 * perClient],
      ["tx", 2],
    ]);
  });

  it("runs concurrent interactive write transactions one after another", async () => {
    const runs = clients.map(async (client, c) => {
      const tx = await client.transaction("write");
      const rs = await tx.execute("SELECT coalesce(max(n), 0) AS m FROM events WHERE writer = 'counter'");
      await sleep(5);
      await tx.execute({ sql: "INSERT INTO events (writer, n) VALUES ('counter', ?)", args: [Number(rs.rows[0]!["m"]) + 1] });
      await tx.commit();
      return c;
    });
    expect((await Promise.allSettled(runs)).every((o) => o.status === "fulfilled")).toBe(true);
    const rs = await clients[0]!.execute("SELECT group_concat(n, ',') AS ns FROM (SELECT n FROM events WHERE writer = 'counter' ORDER BY n)");
    expect(rs.rows[0]!["ns"]).toBe("1,2,3,4");
  });
});

describe("readers and the write lock", () => {
  let store: TestStore;
  let clients: Client[];

  beforeAll(async () => {
    store = await startTestStore();
    clients = Array.from({ length: 4 }, () => createClient({ url: store.url }));
    await clients[0]!.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, writer TEXT NOT NULL, n INTEGER NOT NULL)");
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await store.stop();
  });

  it("serves reads while a writer holds the lock, without seeing its uncommitted rows", async () => {
    const tx = await clients[0]!.transaction("write");
    await tx.execute({ sql: "INSERT INTO events (writer, n) VALUES (?, ?)", args: ["uncommitted", 1] });

    let writerDone = false;
    const queuedWriter = clients[1]!
      .execute({ sql: "INSERT INTO events (writer, n) VALUES (?, ?)", args: ["queued", 1] })
      .then(() => {
        writerDone = true;
      });

    const started = Date.now();
    const reads = await Promise.all([
      clients[2]!.execute({ sql: "SELECT count(*) AS n FROM events WHERE writer = ?", args: ["uncommitted"] }),
      clients[3]!.batch(["SELECT count(*) AS n FROM events", "SELECT 1 AS one"], "read"),
      clients[3]!.batch(["SELECT count(*) AS n FROM events"], "deferred"),
    ]);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(reads[0].rows[0]!["n"]).toBe(0);

    const reader = await clients[2]!.transaction("read");
    await reader.execute("SELECT count(*) FROM events");
    await reader.commit();

    await sleep(50);
    expect(writerDone).toBe(false);
    await tx.commit();
    await queuedWriter;
    expect(writerDone).toBe(true);
    const after = await clients[2]!.execute("SELECT count(*) AS n FROM events WHERE writer IN ('uncommitted', 'queued')");
    expect(after.rows[0]!["n"]).toBe(2);
  });
});

describe("a small connection pool", () => {
  let store: TestStore;
  let client: Client;

  beforeAll(async () => {
    store = await startTestStore({ maxConnections: 2 });
    client = createClient({ url: store.url });
    await client.execute("CREATE TABLE t (x INTEGER)");
  });

  afterAll(async () => {
    client.close();
    await store.stop();
  });

  it("makes extra streams wait for a connection instead of failing", async () => {
    const tx = await client.transaction("write");
    await tx.execute("INSERT INTO t VALUES (0)");
    const others = Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0 ? client.execute({ sql: "INSERT INTO t VALUES (?)", args: [i] }) : client.execute("SELECT count(*) FROM t"),
    );
    await sleep(50);
    await tx.commit();
    const outcomes = await Promise.allSettled(others);
    expect(outcomes.filter((o) => o.status === "rejected")).toEqual([]);
    expect((await client.execute("SELECT count(*) AS n FROM t")).rows[0]!["n"]).toBe(11);
  });
});
