import { describe, expect, it } from "vitest";
import { analyzeSql } from "../../store-server/src/sql-analysis";

function kinds(sql: string): { keyword: string; writes: boolean; beginsWrite: boolean }[] {
  return analyzeSql(sql).statements.map(({ keyword, writes, beginsWrite }) => ({ keyword, writes, beginsWrite }));
}

describe("analyzeSql: statements", () => {
  it("splits on semicolons outside strings, identifiers and comments", () => {
    const sql = `SELECT 'a;b', "c;d", [e;f], \`g;h\` -- ; comment
      ; /* ; */ INSERT INTO t VALUES (';');;  `;
    expect(kinds(sql).map((k) => k.keyword)).toEqual(["SELECT", "INSERT"]);
  });

  it("counts nothing in empty or comment-only text", () => {
    expect(analyzeSql("").statements).toEqual([]);
    expect(analyzeSql(" ; -- x\n /* y */ ;").statements).toEqual([]);
  });

  it("keeps a trigger body, CASE ... END included, in one statement", () => {
    const sql = `CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN
      UPDATE t SET x = CASE WHEN new.x > 0 THEN 1 ELSE 0 END;
      DELETE FROM u;
    END; SELECT 1`;
    expect(kinds(sql).map((k) => k.keyword)).toEqual(["CREATE", "SELECT"]);
  });

  it("flags a NUL character", () => {
    expect(analyzeSql("SELECT 1\u0000; DROP TABLE t").hasNul).toBe(true);
  });
});

describe("analyzeSql: may it write?", () => {
  it.each([
    ["SELECT * FROM t", false],
    ["  values (1)", false],
    ["EXPLAIN DELETE FROM t", false],
    ["WITH x AS (SELECT 1) SELECT * FROM x", false],
    ["WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", true],
    ["INSERT INTO t VALUES (1)", true],
    ["replace into t values (1)", true],
    ["UPDATE t SET a = 1", true],
    ["DELETE FROM t", true],
    ["CREATE TABLE t (a)", true],
    ["DROP TABLE t", true],
    ["ALTER TABLE t ADD b", true],
    ["VACUUM", true],
    ["PRAGMA foreign_keys=OFF", false],
    ["PRAGMA foreign_keys", false],
    ["PRAGMA table_info(t)", false],
    ["PRAGMA main.table_info(t)", false],
    ["PRAGMA user_version = 3", true],
    ["PRAGMA journal_mode = DELETE", true],
    ["PRAGMA wal_checkpoint(TRUNCATE)", true],
    ["COMMIT", false],
    ["ROLLBACK", false],
    ["SAVEPOINT s", false],
    ["something unknown", true],
  ])("%s -> %s", (sql, writes) => {
    expect(kinds(sql)[0]!.writes).toBe(writes);
  });

  it("takes the lock for BEGIN IMMEDIATE and EXCLUSIVE but not for a deferred or read-only BEGIN", () => {
    expect(kinds("BEGIN IMMEDIATE")[0]!.beginsWrite).toBe(true);
    expect(kinds("begin exclusive transaction")[0]!.beginsWrite).toBe(true);
    expect(kinds("BEGIN")[0]!.beginsWrite).toBe(false);
    expect(kinds("BEGIN DEFERRED")[0]!.beginsWrite).toBe(false);
    const readOnly = analyzeSql("BEGIN TRANSACTION READONLY").statements[0]!;
    expect(readOnly.beginsWrite).toBe(false);
    expect(readOnly.beginsReadOnly).toBe(true);
  });
});

describe("analyzeSql: parameters", () => {
  it("numbers parameters the way SQLite does", () => {
    const a = analyzeSql("SELECT :a, ?, :a, ?5, :b, @c, $d, ?");
    expect(a.paramNames).toEqual([null, ":a", null, null, null, "?5", ":b", "@c", "$d", null]);
    expect([...a.paramIndex]).toEqual([
      [":a", 1],
      ["?5", 5],
      [":b", 6],
      ["@c", 7],
      ["$d", 8],
    ]);
  });

  it("ignores parameter-like text in strings, comments and identifiers", () => {
    const a = analyzeSql("SELECT ':x', \"?\", a$b, [@c] -- :d\n, /* $e */ ?");
    expect(a.paramNames).toEqual([null, null]);
    expect(a.paramIndex.size).toBe(0);
  });

  it("reads the TCL-style forms $a::b and $a(x)", () => {
    const a = analyzeSql("SELECT $a::b, $c(d), :f");
    expect([...a.paramIndex.keys()]).toEqual(["$a::b", "$c(d)", ":f"]);
  });
});
