import { createClient, type Client } from "@libsql/client/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStore, type TestStore } from "./helpers";

describe("execute over @libsql/client/web", () => {
  let store: TestStore;
  let client: Client;
  let bigClient: Client;

  beforeAll(async () => {
    store = await startTestStore();
    client = createClient({ url: store.url });
    bigClient = createClient({ url: store.url, intMode: "bigint" });
    await client.execute("CREATE TABLE vals (id INTEGER PRIMARY KEY, i INTEGER, f REAL, t TEXT, b BLOB, n TEXT)");
  });

  afterAll(async () => {
    client.close();
    bigClient.close();
    await store.stop();
  });

  it("binds positional arguments of every value type and reads them back", async () => {
    const blob = new Uint8Array([0, 1, 2, 254, 255]);
    const inserted = await bigClient.execute({
      sql: "INSERT INTO vals (i, f, t, b, n) VALUES (?, ?, ?, ?, ?)",
      args: [9223372036854775807n, 2.5, "héllo ☎ 😀", blob, null],
    });
    expect(inserted.rowsAffected).toBe(1);
    const id = inserted.lastInsertRowid;
    expect(typeof id).toBe("bigint");

    const rs = await bigClient.execute({ sql: "SELECT i, f, t, b, n, typeof(i) AS ti, typeof(f) AS tf FROM vals WHERE id = ?", args: [id!] });
    expect(rs.columns).toEqual(["i", "f", "t", "b", "n", "ti", "tf"]);
    expect(rs.columnTypes).toEqual(["INTEGER", "REAL", "TEXT", "BLOB", "TEXT", "", ""]);
    const row = rs.rows[0]!;
    expect(row["i"]).toBe(9223372036854775807n);
    expect(row["f"]).toBe(2.5);
    expect(row["t"]).toBe("héllo ☎ 😀");
    expect(new Uint8Array(row["b"] as ArrayBuffer)).toEqual(blob);
    expect(row["n"]).toBeNull();
    expect(row["ti"]).toBe("integer");
    expect(row["tf"]).toBe("real");
  });

  it("keeps the most negative 64-bit integer exact", async () => {
    const rs = await bigClient.execute({ sql: "SELECT ? AS v, ? + 0 AS w", args: [-9223372036854775808n, -9223372036854775808n] });
    expect(rs.rows[0]!["v"]).toBe(-9223372036854775808n);
    expect(rs.rows[0]!["w"]).toBe(-9223372036854775808n);
  });

  it("reports a 64-bit lastInsertRowid exactly", async () => {
    const rs = await bigClient.execute({ sql: "INSERT INTO vals (id, t) VALUES (?, 'max')", args: [9223372036854775806n] });
    expect(rs.lastInsertRowid).toBe(9223372036854775806n);
    await bigClient.execute({ sql: "DELETE FROM vals WHERE id = ?", args: [9223372036854775806n] });
  });

  it("binds named arguments to :name, @name and $name", async () => {
    const rs = await client.execute({
      sql: "SELECT :a AS a, @b AS b, $c AS c, :a || '!' AS again",
      args: { a: "x", b: 2, c: null },
    });
    expect(rs.rows[0]).toMatchObject({ a: "x", b: 2, c: null, again: "x!" });
  });

  it("binds named arguments given with their prefix", async () => {
    const rs = await client.execute({ sql: "SELECT :a AS a, @b AS b", args: { ":a": 1, "@b": "two" } });
    expect(rs.rows[0]).toMatchObject({ a: 1, b: "two" });
  });

  it("binds numbered parameters positionally", async () => {
    const rs = await client.execute({ sql: "SELECT ?2 AS second, ?1 AS first, ? AS third", args: ["a", "b", "c"] });
    expect(rs.rows[0]).toMatchObject({ second: "b", first: "a", third: "c" });
  });

  it("sends every JS number as a float and integers only as bigint", async () => {
    const rs = await client.execute({ sql: "SELECT typeof(?) AS a, typeof(?) AS b", args: [1, 1n] });
    expect(rs.rows[0]).toMatchObject({ a: "real", b: "integer" });
  });

  it("round-trips an empty blob and an empty string", async () => {
    const rs = await client.execute({ sql: "SELECT ? AS b, typeof(?) AS tb, ? AS s", args: [new Uint8Array(0), new Uint8Array(0), ""] });
    expect(new Uint8Array(rs.rows[0]!["b"] as ArrayBuffer).length).toBe(0);
    expect(rs.rows[0]!["tb"]).toBe("blob");
    expect(rs.rows[0]!["s"]).toBe("");
  });

  it("returns infinite floats as infinities", async () => {
    const rs = await client.execute("SELECT 1e999 AS pos, -1e999 AS neg");
    expect(rs.rows[0]).toMatchObject({ pos: Infinity, neg: -Infinity });
  });

  it("reports rowsAffected for UPDATE and 0 for DDL", async () => {
    await client.execute("CREATE TABLE counts (x INTEGER)");
    await client.execute("INSERT INTO counts VALUES (1), (2), (3)");
    const updated = await client.execute("UPDATE counts SET x = x + 1 WHERE x >= 2");
    expect(updated.rowsAffected).toBe(2);
    const ddl = await client.execute("CREATE INDEX counts_x ON counts (x)");
    expect(ddl.rowsAffected).toBe(0);
  });

  it("returns rows of INSERT ... RETURNING together with rowsAffected", async () => {
    const rs = await client.execute({ sql: "INSERT INTO vals (t) VALUES (?), (?) RETURNING t", args: ["r1", "r2"] });
    expect(rs.rows.map((r) => r["t"])).toEqual(["r1", "r2"]);
    expect(rs.rowsAffected).toBe(2);
    expect(rs.lastInsertRowid).toBeDefined();
  });

  it("answers a constraint violation with SQLITE_CONSTRAINT", async () => {
    await client.execute("CREATE TABLE uniq (k TEXT PRIMARY KEY)");
    await client.execute("INSERT INTO uniq VALUES ('a')");
    await expect(client.execute("INSERT INTO uniq VALUES ('a')")).rejects.toMatchObject({ code: "SQLITE_CONSTRAINT" });
  });

  it("rejects SQL with more than one statement instead of ignoring the rest", async () => {
    await expect(client.execute("SELECT 1; DROP TABLE vals")).rejects.toMatchObject({ code: "SQL_MANY_STATEMENTS" });
    const rs = await client.execute("SELECT count(*) AS n FROM sqlite_master WHERE name = 'vals'");
    expect(rs.rows[0]!["n"]).toBe(1);
  });

  it("rejects empty SQL and too many arguments", async () => {
    await expect(client.execute("  -- nothing")).rejects.toMatchObject({ code: "SQL_NO_STATEMENT" });
    await expect(client.execute({ sql: "SELECT ?", args: [1, 2] })).rejects.toMatchObject({ code: "ARGS_INVALID" });
  });

  it("answers a syntax error with SQLITE_ERROR and keeps serving", async () => {
    await expect(client.execute("SELEC 1")).rejects.toMatchObject({ code: "SQLITE_ERROR" });
    expect((await client.execute("SELECT 2 AS two")).rows[0]!["two"]).toBe(2);
  });

  it("sees a column added after a statement was first prepared", async () => {
    await client.execute("CREATE TABLE grow (a INTEGER)");
    await client.execute("INSERT INTO grow VALUES (1)");
    expect((await client.execute("SELECT * FROM grow")).columns).toEqual(["a"]);
    await client.execute("ALTER TABLE grow ADD COLUMN b TEXT DEFAULT 'z'");
    const rs = await client.execute("SELECT * FROM grow");
    expect(rs.columns).toEqual(["a", "b"]);
    expect(rs.rows[0]).toMatchObject({ a: 1, b: "z" });
  });

  it("creates a trigger whose body holds several statements", async () => {
    await client.execute("CREATE TABLE audit (msg TEXT)");
    await client.execute(`CREATE TRIGGER vals_audit AFTER INSERT ON vals BEGIN
      INSERT INTO audit VALUES ('one');
      INSERT INTO audit VALUES (CASE WHEN new.t IS NULL THEN 'null' ELSE new.t END);
    END`);
    await client.execute({ sql: "INSERT INTO vals (t) VALUES (?)", args: ["trig"] });
    const rs = await client.execute("SELECT msg FROM audit ORDER BY rowid");
    expect(rs.rows.map((r) => r["msg"])).toEqual(["one", "trig"]);
  });

  it("runs executeMultiple as one sequence", async () => {
    await client.executeMultiple(`
      CREATE TABLE seq (x INTEGER);
      INSERT INTO seq VALUES (1);
      INSERT INTO seq VALUES (2); -- trailing comment
    `);
    expect((await client.execute("SELECT sum(x) AS s FROM seq")).rows[0]!["s"]).toBe(3);
  });
});
