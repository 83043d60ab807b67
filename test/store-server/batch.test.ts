import { createClient, type Client } from "@libsql/client/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeRequest, pipeline, startTestStore, type TestStore } from "./helpers";

describe("batch", () => {
  let store: TestStore;
  let client: Client;

  beforeAll(async () => {
    store = await startTestStore();
    client = createClient({ url: store.url });
    await client.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)");
  });

  afterAll(async () => {
    client.close();
    await store.stop();
  });

  it("applies a write batch as one transaction", async () => {
    const results = await client.batch(
      [
        { sql: "INSERT INTO items (name) VALUES (?)", args: ["a"] },
        { sql: "INSERT INTO items (name) VALUES (?)", args: ["b"] },
        "SELECT count(*) AS n FROM items",
      ],
      "write",
    );
    expect(results).toHaveLength(3);
    expect(results[2]!.rows[0]!["n"]).toBe(2);
  });

  it("rolls back every step of a write batch when one step fails", async () => {
    await expect(
      client.batch(
        [
          { sql: "INSERT INTO items (name) VALUES (?)", args: ["c"] },
          { sql: "INSERT INTO items (name) VALUES (?)", args: ["a"] }, // duplicate
          { sql: "INSERT INTO items (name) VALUES (?)", args: ["d"] },
        ],
        "write",
      ),
    ).rejects.toMatchObject({ code: "SQLITE_CONSTRAINT" });
    const rs = await client.execute("SELECT name FROM items ORDER BY name");
    expect(rs.rows.map((r) => r["name"])).toEqual(["a", "b"]);
  });

  it("runs a read batch and a deferred batch", async () => {
    const read = await client.batch(["SELECT count(*) AS n FROM items", "SELECT max(id) AS m FROM items"], "read");
    expect(read[0]!.rows[0]!["n"]).toBe(2);
    const deferred = await client.batch([{ sql: "INSERT INTO items (name) VALUES (?)", args: ["e"] }, "SELECT count(*) AS n FROM items"]);
    expect(deferred[1]!.rows[0]!["n"]).toBe(3);
  });

  it("fails a write inside a read batch without changing anything", async () => {
    await expect(client.batch([{ sql: "INSERT INTO items (name) VALUES (?)", args: ["ro"] }], "read")).rejects.toThrow();
    const rs = await client.execute({ sql: "SELECT count(*) AS n FROM items WHERE name = ?", args: ["ro"] });
    expect(rs.rows[0]!["n"]).toBe(0);
  });

  it("reuses stored SQL (sql_id) for repeated statements in one batch", async () => {
    const stmts = Array.from({ length: 50 }, (_, i) => ({ sql: "INSERT INTO items (name) VALUES (?)", args: [`bulk-${i}`] }));
    await client.batch(stmts, "write");
    const rs = await client.execute("SELECT count(*) AS n FROM items WHERE name LIKE 'bulk-%'");
    expect(rs.rows[0]!["n"]).toBe(50);
  });

  it("evicts stored SQL with close_sql when a batch has more distinct statements than the client caches", async () => {
    const stmts = Array.from({ length: 40 }, (_, i) => `SELECT ${i} AS v`);
    const results = await client.batch(stmts, "read");
    expect(results.map((r) => r.rows[0]!["v"])).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it("runs drizzle-kit's migration shape: foreign_keys off, a table rebuild, foreign_keys back on", async () => {
    await client.batch(
      [
        "CREATE TABLE parent (id INTEGER PRIMARY KEY)",
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id))",
        "INSERT INTO parent VALUES (1)",
        "INSERT INTO child VALUES (10, 1)",
      ],
      "write",
    );
    // Rebuilding the referenced table only works with foreign keys off: client.migrate() sends
    // PRAGMA foreign_keys=off, BEGIN, the steps, COMMIT, ROLLBACK-if-needed, PRAGMA foreign_keys=on.
    await client.migrate([
      "CREATE TABLE parent_new (id INTEGER PRIMARY KEY, label TEXT)",
      "INSERT INTO parent_new (id) SELECT id FROM parent",
      "DROP TABLE parent",
      "ALTER TABLE parent_new RENAME TO parent",
    ]);
    const rs = await client.execute("SELECT c.id, p.label FROM child c JOIN parent p ON p.id = c.parent_id");
    expect(rs.rows[0]).toMatchObject({ id: 10, label: null });
    // Foreign keys are enforced again afterwards, on every pooled connection.
    for (let i = 0; i < 5; i++) {
      await expect(client.execute("INSERT INTO child VALUES (99, 404)")).rejects.toMatchObject({ code: "SQLITE_CONSTRAINT" });
    }
  });

  it("evaluates ok, error, not, and, or and is_autocommit conditions", async () => {
    const step = (sql: string, condition?: unknown): unknown => ({
      ...(condition === undefined ? {} : { condition }),
      stmt: { sql, args: [], named_args: [], want_rows: true },
    });
    const { status, body } = await pipeline(store.url, {
      requests: [
        {
          type: "batch",
          batch: {
            steps: [
              step("SELECT 1"), // 0 ok
              step("SELEC nonsense"), // 1 error
              step("SELECT 2", { type: "ok", step: 1 }), // 2 skipped
              step("SELECT 3", { type: "error", step: 1 }), // 3 runs
              step("SELECT 4", { type: "not", cond: { type: "ok", step: 0 } }), // 4 skipped
              step("SELECT 5", { type: "and", conds: [{ type: "ok", step: 0 }, { type: "error", step: 1 }] }), // 5 runs
              step("SELECT 6", { type: "or", conds: [{ type: "ok", step: 2 }, { type: "ok", step: 4 }] }), // 6 skipped
              step("SELECT 7", { type: "is_autocommit" }), // 7 runs
              step("BEGIN"), // 8
              step("SELECT 9", { type: "is_autocommit" }), // 9 skipped: inside a transaction
              step("ROLLBACK"), // 10
            ],
          },
        },
        { type: "close" },
      ],
    });
    expect(status).toBe(200);
    const result = body.results![0]!.response!["result"] as { step_results: unknown[]; step_errors: unknown[] };
    const ran = result.step_results.map((r) => r !== null);
    expect(ran).toEqual([true, false, false, true, false, true, false, true, true, false, true]);
    expect(result.step_errors[1]).toMatchObject({ code: "SQLITE_ERROR" });
    expect(result.step_errors.filter((e) => e !== null)).toHaveLength(1);
  });

  it("rejects a condition that refers to a later step", async () => {
    const { body } = await pipeline(store.url, {
      requests: [
        { type: "batch", batch: { steps: [{ condition: { type: "ok", step: 0 }, stmt: { sql: "SELECT 1" } }] } },
        executeRequest("SELECT 1"),
        { type: "close" },
      ],
    });
    expect(body.results![0]).toMatchObject({ type: "error", error: { code: "PROTO_ERROR" } });
    expect(body.results![1]).toMatchObject({ type: "ok" });
  });
});
