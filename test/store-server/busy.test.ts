// A lock that no stream of the server holds (another process on the file, the checkpoint thread opening
// its connection as a first write starts): a statement refused with SQLITE_BUSY outside a transaction
// applied nothing, so the server runs it again after short waits off its event loop, for a bounded time;
// inside a transaction it never retries, since the transaction's snapshot is what is stale, and the
// connection that failed so reads fresh data once the transaction is over.
import Database from "libsql";
import { createClient, type Client } from "@libsql/client/web";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sleep, startTestStore, type TestStore } from "./helpers";

let store: TestStore;
let client: Client;
let other: Database.Database;

beforeEach(async () => {
  store = await startTestStore();
  client = createClient({ url: store.url });
  await client.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  // Another process's connection to the same file, as sqlite3 or a backup tool would hold it.
  other = new Database(store.file, { timeout: 0 });
});

afterEach(async () => {
  if (other.inTransaction) other.exec("ROLLBACK");
  other.close();
  client.close();
  await store.stop();
});

/** Takes the file's write lock in the other connection and gives it back after `ms`. */
function holdWriteLock(ms: number): Promise<void> {
  other.exec("BEGIN IMMEDIATE");
  other.prepare("INSERT INTO t (v) VALUES (?)").run("other");
  return sleep(ms).then(() => {
    other.exec("COMMIT");
  });
}

const values = async (): Promise<string[]> =>
  (await client.execute("SELECT v FROM t ORDER BY id")).rows.map((r) => String(r["v"]));

describe("store endpoint: SQLITE_BUSY from a lock held outside the server", () => {
  it("an autocommit write, a write batch and a read wait for a short outside lock instead of failing", async () => {
    const released = holdWriteLock(60);
    const started = Date.now();
    const [write, batch, read] = await Promise.all([
      client.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: ["autocommit"] }),
      client.batch([{ sql: "INSERT INTO t (v) VALUES (?)", args: ["batch"] }], "write"),
      client.execute("SELECT count(*) AS n FROM t"),
    ]);
    await released;
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
    expect(write.rowsAffected).toBe(1);
    expect(batch[0]?.rowsAffected).toBe(1);
    expect(read.rows.length).toBe(1);
    expect((await values()).sort()).toEqual(["autocommit", "batch", "other"]);
  });

  it("gives up after a bounded wait with SQLITE_BUSY, applies nothing, and serves the next write", async () => {
    const released = holdWriteLock(1500);
    const started = Date.now();
    const error = await client.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: ["refused"] }).then(
      () => undefined,
      (e: unknown) => e as { code?: string },
    );
    const waited = Date.now() - started;
    expect(error?.code).toBe("SQLITE_BUSY");
    expect(waited).toBeGreaterThanOrEqual(200);
    expect(waited).toBeLessThan(1200);
    await released;
    expect(await values()).toEqual(["other"]);
    // The refused statement must not leave its connection reading the database as it was at that read.
    other.prepare("INSERT INTO t (v) VALUES (?)").run("later");
    expect(await values()).toEqual(["other", "later"]);
    await client.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: ["after"] });
    expect(await values()).toEqual(["other", "later", "after"]);
  });

  it("a statement inside the client's transaction is not retried: it fails at once and the transaction can roll back", async () => {
    const tx = await client.transaction("deferred");
    expect((await tx.execute("SELECT count(*) AS n FROM t")).rows[0]?.["n"]).toBe(0);
    // Another process commits after the transaction read: its snapshot is stale, no wait can help.
    other.prepare("INSERT INTO t (v) VALUES (?)").run("other");
    const started = Date.now();
    const error = await tx.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: ["stale"] }).then(
      () => undefined,
      (e: unknown) => e as { code?: string },
    );
    expect(error?.code).toBe("SQLITE_BUSY");
    expect(Date.now() - started).toBeLessThan(150);
    await tx.rollback();
    // The driver leaves the failed statement holding the transaction's snapshot; the server's connection
    // must not go on reading the database as it was before "other".
    other.prepare("INSERT INTO t (v) VALUES (?)").run("later");
    const reads = await Promise.all(Array.from({ length: 4 }, () => values()));
    for (const read of reads) expect(read).toEqual(["other", "later"]);
    await client.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: ["after"] });
    expect(await values()).toEqual(["other", "later", "after"]);
  });
});
