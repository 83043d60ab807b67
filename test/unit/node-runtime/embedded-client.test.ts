// The store thread's embedded libSQL client (node-runtime/embedded-client.ts): what drizzle and the Store need
// of @libsql/client's `file:` client, with kept statements. Checked against @libsql/client itself on the same
// file, so the two stay interchangeable.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@libsql/client";
import Database from "libsql";
import { drizzle } from "drizzle-orm/libsql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../../migrations/apply";
import { createEmbeddedClient, filePathOf, STATEMENT_CACHE_SIZE, type EmbeddedClient } from "../../../node-runtime/embedded-client";
import { createLibsqlStore } from "../../../worker/src/store/libsql-store";
import type { SavePlan } from "../../../worker/src/store/store";

let dir: string;
let url: string;
let emb: EmbeddedClient;
let reference: Client;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "edge-embedded-client-"));
  url = `file:${join(dir, "store.db")}`;
  await applyMigrations({ url });
  emb = createEmbeddedClient(url);
  reference = createClient({ url });
  await emb.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER, b BLOB)");
});

afterAll(() => {
  emb.close();
  reference.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("filePathOf", () => {
  it("reads relative, absolute and file:// URLs, without their query", () => {
    expect(filePathOf("file:.data/dev.db")).toBe(".data/dev.db");
    expect(filePathOf("file:/var/lib/edge/store.db")).toBe("/var/lib/edge/store.db");
    expect(filePathOf("file:///var/lib/edge/a%20b.db?mode=rwc")).toBe("/var/lib/edge/a b.db");
    expect(() => filePathOf("http://127.0.0.1:8080")).toThrow(/not a file: URL/);
  });
});

describe("rows", () => {
  it("are read by name and by position, like @libsql/client's", async () => {
    await emb.execute({ sql: "INSERT INTO t (name, n) VALUES (?, ?)", args: ["alice", 7] });
    const [mine, theirs] = await Promise.all([emb.execute("SELECT id, name, n FROM t WHERE name = 'alice'"), reference.execute("SELECT id, name, n FROM t WHERE name = 'alice'")]);
    const row = mine.rows[0]!;
    expect(Object.keys(row)).toEqual(["id", "name", "n"]);
    expect(Array.prototype.slice.call(row)).toEqual(Array.prototype.slice.call(theirs.rows[0]));
    expect([row.length, row[1], row.name]).toEqual([3, "alice", "alice"]);
    expect(mine.columns).toEqual(theirs.columns);
    expect({ ...row }).toEqual({ ...theirs.rows[0] });
  });

  it("keep the first of two columns with one name by name, and both by position", async () => {
    const { rows } = await emb.execute("SELECT 1 AS x, 2 AS x");
    expect(rows[0]!.x).toBe(1);
    expect(Array.prototype.slice.call(rows[0])).toEqual([1, 2]);
  });

  it("convert values as the client does: safe integers as numbers, an unsafe one is an error, blobs as ArrayBuffer", async () => {
    await emb.execute({ sql: "INSERT INTO t (name, n, b) VALUES (?, ?, ?)", args: ["bob", true, new Uint8Array([1, 2, 3]).buffer] });
    const { rows } = await emb.execute("SELECT n, b FROM t WHERE name = 'bob'");
    expect(rows[0]!.n).toBe(1);
    expect([...new Uint8Array(rows[0]!.b as ArrayBuffer)]).toEqual([1, 2, 3]);
    await expect(emb.execute("SELECT 9007199254740993 AS big")).rejects.toThrow(RangeError);
    await expect(emb.execute({ sql: "SELECT ? AS v", args: [undefined as unknown as null] })).rejects.toThrow(TypeError);
    await expect(emb.execute({ sql: "SELECT ? AS v", args: [Number.NaN] })).rejects.toThrow(RangeError);
    expect((await emb.execute({ sql: "SELECT ? AS d", args: [new Date(1234)] })).rows[0]!.d).toBe(1234);
  });

  it("report rows changed by a write", async () => {
    const r = await emb.execute({ sql: "UPDATE t SET n = n + 1 WHERE name IN (?, ?)", args: ["alice", "bob"] });
    expect(r.rowsAffected).toBe(2);
    expect(r.rows).toEqual([]);
  });
});

describe("batches", () => {
  it("are one transaction: a failing statement undoes the earlier ones, and the client stays usable", async () => {
    await expect(
      emb.batch([
        { sql: "INSERT INTO t (name) VALUES (?)", args: ["carol"] },
        { sql: "INSERT INTO t (name) VALUES (?)", args: ["alice"] }, // UNIQUE violation
      ]),
    ).rejects.toThrow(/UNIQUE constraint failed/);
    expect((await emb.execute("SELECT COUNT(*) AS c FROM t WHERE name = 'carol'")).rows[0]!.c).toBe(0);
    const [, read] = await emb.batch([{ sql: "INSERT INTO t (name) VALUES (?)", args: ["carol"] }, "SELECT name FROM t WHERE name = 'carol'"]);
    expect(read!.rows.map((r) => r.name)).toEqual(["carol"]);
    // What the batch committed is visible to another connection.
    expect((await reference.execute("SELECT COUNT(*) AS c FROM t WHERE name = 'carol'")).rows[0]!.c).toBe(1);
  });
});

describe("a batch inside an open transaction", () => {
  it("is a savepoint: a failing one undoes only its own statements, and the rest commit with the transaction", async () => {
    await emb.execute("BEGIN IMMEDIATE");
    expect(emb.inTransaction()).toBe(true);
    await emb.batch([{ sql: "INSERT INTO t (name) VALUES (?)", args: ["nest-1"] }]);
    await expect(
      emb.batch([
        { sql: "INSERT INTO t (name) VALUES (?)", args: ["nest-2"] },
        { sql: "INSERT INTO t (name) VALUES (?)", args: ["nest-1"] }, // UNIQUE violation
      ]),
    ).rejects.toThrow(/UNIQUE constraint failed/);
    // Still inside the caller's transaction, which nobody else sees yet.
    expect(emb.inTransaction()).toBe(true);
    expect((await reference.execute("SELECT COUNT(*) AS c FROM t WHERE name LIKE 'nest-%'")).rows[0]!.c).toBe(0);
    await emb.batch([{ sql: "INSERT INTO t (name) VALUES (?)", args: ["nest-3"] }]);
    await emb.execute("COMMIT");
    expect(emb.inTransaction()).toBe(false);
    const names = await reference.execute("SELECT name FROM t WHERE name LIKE 'nest-%' ORDER BY name");
    expect(names.rows.map((r) => r.name)).toEqual(["nest-1", "nest-3"]);
  });
});

describe("SQLITE_BUSY inside a transaction", () => {
  // The driver leaves a statement that failed so holding the transaction's read snapshot after ROLLBACK.
  // Without a new engine connection, the client would read old data and fail every write from then on.
  let file: string;
  let own: EmbeddedClient;
  let other: InstanceType<typeof Database>;
  const count = async (): Promise<unknown> => (await own.execute("SELECT COUNT(*) AS c FROM t")).rows[0]!.c;

  beforeAll(async () => {
    file = join(dir, "busy.db");
    own = createEmbeddedClient(`file:${file}`);
    await own.execute("PRAGMA journal_mode = WAL");
    await own.execute("PRAGMA busy_timeout = 0");
    await own.execute("PRAGMA cache_size = -1234");
    await own.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)");
    // Another process's connection to the same file.
    other = new Database(file, { timeout: 0 });
  });
  afterAll(() => {
    other.close();
    own.close();
  });

  it("a batch refused while another connection writes reads that connection's later commits", async () => {
    other.exec("BEGIN IMMEDIATE");
    other.prepare("INSERT INTO t (name) VALUES ('o1')").run();
    await expect(own.batch([{ sql: "INSERT INTO t (name) VALUES (?)", args: ["mine"] }])).rejects.toMatchObject({
      code: expect.stringMatching(/^SQLITE_BUSY/),
    });
    other.exec("COMMIT");
    expect(await count()).toBe(1);
    // The read above must not have been the last this connection could see.
    other.prepare("INSERT INTO t (name) VALUES ('o2')").run();
    expect(await count()).toBe(2);
    await own.batch([{ sql: "INSERT INTO t (name) VALUES (?)", args: ["mine"] }]);
    expect(other.prepare("SELECT COUNT(*) AS c FROM t").get()).toMatchObject({ c: 3 });
    // The connection settings the caller made hold on the new engine connection.
    expect((await own.execute("PRAGMA cache_size")).rows[0]![0]).toBe(-1234);
  });

  it("a write refused with SQLITE_BUSY_SNAPSHOT in the caller's transaction: after ROLLBACK, fresh reads and writes", async () => {
    await own.execute("BEGIN DEFERRED");
    const before = await count();
    other.prepare("INSERT INTO t (name) VALUES ('o3')").run();
    await expect(own.execute({ sql: "INSERT INTO t (name) VALUES (?)", args: ["stale"] })).rejects.toMatchObject({
      code: "SQLITE_BUSY_SNAPSHOT",
    });
    await own.execute("ROLLBACK");
    expect(await count()).toBe(Number(before) + 1);
    other.prepare("INSERT INTO t (name) VALUES ('o4')").run();
    expect(await count()).toBe(Number(before) + 2);
    await own.execute({ sql: "INSERT INTO t (name) VALUES (?)", args: ["after"] });
    expect(other.prepare("SELECT name FROM t ORDER BY id DESC LIMIT 1").get()).toMatchObject({ name: "after" });
  });
});

describe("kept statements", () => {
  it("prepares a statement text once, and keeps a bounded number of them (least recently used go first)", async () => {
    const before = emb.prepares();
    for (let i = 0; i < 5; i++) await emb.execute({ sql: "SELECT name FROM t WHERE n = ?", args: [i] });
    expect(emb.prepares() - before).toBe(1);
    const first = emb.prepares();
    for (let i = 0; i < STATEMENT_CACHE_SIZE + 10; i++) await emb.execute(`SELECT ${i} AS v`);
    expect(emb.prepares() - first).toBe(STATEMENT_CACHE_SIZE + 10);
    const evicted = emb.prepares();
    await emb.execute("SELECT 0 AS v"); // pushed out by the newer ones
    expect(emb.prepares() - evicted).toBe(1);
    await emb.execute(`SELECT ${STATEMENT_CACHE_SIZE + 9} AS v`); // still kept
    expect(emb.prepares() - evicted).toBe(1);
  });
});

describe("the Store over it", () => {
  it("saves and looks up exactly as over @libsql/client", async () => {
    const fast = createLibsqlStore(drizzle(emb));
    const slow = createLibsqlStore(drizzle(reference));
    await fast.createTenant({ domain: "emb.example", destinations: [{ uri: "sip:127.0.0.11:5080", weight: 1, priority: 0 }] });
    const now = Date.now();
    const plan = (user: string): SavePlan => ({
      username: user,
      domain: "emb.example",
      callid: `c-${user}`,
      cseq: 1,
      now,
      issuedAt: now,
      removedAt: now,
      tombstoneExpires: now + 60_000,
      maxContacts: 10,
      removeAll: false,
      removals: [],
      upserts: [
        { contact: `sip:${user}@10.0.0.1:5070`, received: "sip:192.0.2.1:5070", path: null, expires: now + 3_600_000, q: 1, userAgent: "ua", socket: "udp:127.0.0.1:5060", methods: null, sipInstance: null, ruid: `r-${user}` },
      ],
    });
    const saved = await fast.applySave(plan("201"));
    expect(saved.bindings.map((b) => b.contact)).toEqual(["sip:201@10.0.0.1:5070"]);
    await slow.applySave(plan("202"));
    for (const user of ["201", "202"]) expect(await fast.lookup(user, "emb.example", now)).toEqual(await slow.lookup(user, "emb.example", now));
    expect(await fast.lookupUsername("201", now)).toEqual(await slow.lookupUsername("201", now));
    expect(await fast.loadTenants()).toEqual(await slow.loadTenants());
  });
});
