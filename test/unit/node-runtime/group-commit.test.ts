// The store writer's group commit (node-runtime/group-commit.ts) on a real embedded libSQL file: saves that
// share a commit keep their own outcomes, and none is reported done unless the commit made it durable.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@libsql/client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createEmbeddedClient, type EmbeddedClient } from "../../../node-runtime/embedded-client";
import { GroupRolledBackError, runCommitGroup } from "../../../node-runtime/group-commit";

let dir: string;
let emb: EmbeddedClient;
/** Another connection to the same file: what it sees is what was committed. */
let other: Client;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "edge-group-commit-"));
  const url = `file:${join(dir, "store.db")}`;
  emb = createEmbeddedClient(url);
  other = createClient({ url });
  await emb.execute("PRAGMA journal_mode = WAL");
  await emb.execute("PRAGMA foreign_keys = ON");
  await emb.execute("CREATE TABLE t (name TEXT PRIMARY KEY)");
  // A deferred foreign key is checked at COMMIT: the way to make a commit fail on demand.
  await emb.execute("CREATE TABLE child (parent TEXT REFERENCES t(name) DEFERRABLE INITIALLY DEFERRED)");
});

beforeEach(async () => {
  await emb.execute("DELETE FROM child");
  await emb.execute("DELETE FROM t");
});

afterAll(() => {
  emb.close();
  other.close();
  rmSync(dir, { recursive: true, force: true });
});

const insert = (name: string) => async (): Promise<string> => {
  await emb.batch([{ sql: "INSERT INTO t (name) VALUES (?)", args: [name] }], "write");
  return name;
};

async function committed(): Promise<string[]> {
  return (await other.execute("SELECT name FROM t ORDER BY name")).rows.map((r) => String(r.name));
}

describe("a commit group", () => {
  it("commits every save in one transaction and reports each one's value in order", async () => {
    const seen: boolean[] = [];
    const ops = ["a", "b", "c"].map((n) => async () => {
      seen.push(emb.inTransaction());
      return insert(n)();
    });
    const out = await runCommitGroup(emb, ops);
    expect(out).toEqual([
      { ok: true, value: "a" },
      { ok: true, value: "b" },
      { ok: true, value: "c" },
    ]);
    // Each save ran inside the group's transaction, and the group ended it.
    expect(seen).toEqual([true, true, true]);
    expect(emb.inTransaction()).toBe(false);
    expect(await committed()).toEqual(["a", "b", "c"]);
  });

  it("runs a single save on its own, in its own transaction", async () => {
    let inside: boolean | undefined;
    const out = await runCommitGroup(emb, [
      async () => {
        inside = emb.inTransaction();
        return insert("solo")();
      },
    ]);
    expect(inside).toBe(false);
    expect(out).toEqual([{ ok: true, value: "solo" }]);
    expect(await committed()).toEqual(["solo"]);
  });

  it("a failing save is rolled back alone: the others commit", async () => {
    const out = await runCommitGroup(emb, [insert("a"), insert("a"), insert("c")]);
    expect(out[0]).toEqual({ ok: true, value: "a" });
    expect(out[1]!.ok).toBe(false);
    expect(String((out[1] as { error: unknown }).error)).toMatch(/UNIQUE constraint failed/);
    expect(out[2]).toEqual({ ok: true, value: "c" });
    expect(await committed()).toEqual(["a", "c"]);
  });

  it("when the commit fails, no save of the group is reported done and none is stored", async () => {
    const orphan = async (): Promise<string> => {
      await emb.batch([{ sql: "INSERT INTO child (parent) VALUES ('nobody')" }], "write");
      return "orphan";
    };
    const out = await runCommitGroup(emb, [insert("a"), orphan, insert("c")]);
    expect(out.every((r) => !r.ok)).toBe(true);
    expect(out.map((r) => (r as { error: unknown }).error)).toSatisfy((errs: unknown[]) =>
      errs.every((e) => e instanceof GroupRolledBackError && /the commit failed: .*FOREIGN KEY/.test(e.message)),
    );
    expect(emb.inTransaction()).toBe(false);
    expect(await committed()).toEqual([]);
    expect((await other.execute("SELECT COUNT(*) AS c FROM child")).rows[0]!.c).toBe(0);
  });

  it("when a save ends the transaction, the saves before it are reported failed and the rest run on their own", async () => {
    // As SQLite does when a statement fails with SQLITE_FULL or an I/O error: the whole transaction is gone.
    const ender = async (): Promise<string> => {
      await emb.execute("ROLLBACK");
      throw new Error("disk full");
    };
    const out = await runCommitGroup(emb, [insert("a"), insert("b"), ender, insert("d"), insert("e")]);
    expect(out.slice(0, 2).every((r) => !r.ok && r.error instanceof GroupRolledBackError && /disk full/.test(r.error.message))).toBe(true);
    expect(out[2]!.ok).toBe(false);
    expect(out.slice(3)).toEqual([
      { ok: true, value: "d" },
      { ok: true, value: "e" },
    ]);
    expect(await committed()).toEqual(["d", "e"]);
  });

  it("inside a transaction someone else opened, runs each save as it comes and leaves the transaction to its owner", async () => {
    await emb.execute("BEGIN IMMEDIATE");
    const out = await runCommitGroup(emb, [insert("a"), insert("b")]);
    expect(out.every((r) => r.ok)).toBe(true);
    expect(emb.inTransaction()).toBe(true);
    expect(await committed()).toEqual([]);
    await emb.execute("ROLLBACK");
    expect(await committed()).toEqual([]);
  });
});
