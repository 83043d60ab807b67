import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStoreServer } from "../../store-server/src/server";
import { sleep } from "./helpers";

describe("server lifecycle", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "store-server-life-"));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true, maxRetries: 5 }); // the checkpoint thread may still be closing its files
  });

  it("closes while a transaction holds the lock and writers wait, rolling the transaction back", async () => {
    const file = join(dir, "life.db");
    const logs: Record<string, unknown>[] = [];
    const server = await startStoreServer({ file, log: (entry) => logs.push(entry) });
    const client = createClient({ url: server.url });
    await client.execute("CREATE TABLE t (x TEXT)");
    await client.execute("INSERT INTO t VALUES ('kept')");

    const tx = await client.transaction("write");
    await tx.execute("INSERT INTO t VALUES ('in-flight')");
    const waiting = Array.from({ length: 5 }, (_, i) => client.execute({ sql: "INSERT INTO t VALUES (?)", args: [`waiting-${i}`] }));
    await sleep(50);

    await server.close();
    await server.close(); // idempotent
    const outcomes = await Promise.allSettled(waiting);
    expect(outcomes.every((o) => o.status === "rejected")).toBe(true);
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
    client.close();
    expect(logs.some((e) => e["event"] === "internal_error")).toBe(false);

    // The same file served again holds only committed data.
    const again = await startStoreServer({ file });
    const client2 = createClient({ url: again.url });
    const rs = await client2.execute("SELECT x FROM t ORDER BY rowid");
    expect(rs.rows.map((r) => r["x"])).toEqual(["kept"]);
    client2.close();
    await again.close();
  });

  it("creates missing folders for the database file", async () => {
    const server = await startStoreServer({ file: join(dir, "a", "b", "deep.db") });
    const client = createClient({ url: server.url });
    expect((await client.execute("PRAGMA journal_mode")).rows[0]!["journal_mode"]).toBe("wal");
    client.close();
    await server.close();
  });

  it("fails to start on a port that is taken", async () => {
    const first = await startStoreServer({ file: ":memory:" });
    await expect(startStoreServer({ file: ":memory:", port: first.port })).rejects.toThrow(/EADDRINUSE/);
    await first.close();
  });
});
