import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../migrations/apply";
import { startStoreServer } from "../../store-server/src/server";

const dir = mkdtempSync(join(tmpdir(), "edge-migrations-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function tables(url: string, authToken?: string): Promise<string[]> {
  const client = createClient({ url, authToken });
  try {
    const rs = await client.execute("SELECT name FROM sqlite_master WHERE type IN ('table','index') AND name NOT LIKE 'sqlite_%' ORDER BY name");
    return rs.rows.map((r) => String(r["name"]));
  } finally {
    client.close();
  }
}

const EXPECTED = [
  "__drizzle_migrations",
  "dispatcher",
  "dispatcher_setid_idx",
  "domain",
  "domain_domain_idx",
  "domain_setid_idx",
  "location",
  "location_aor_ruid_idx",
  "location_domain_idx",
  "location_expires_idx",
  "location_tombstone",
  "location_tombstone_expires_idx",
  "location_tombstone_key_idx",
];

describe("db:migrate", () => {
  it("creates the OpenSIPS-compatible tables and indexes in a file: store, and is idempotent", async () => {
    const url = `file:${join(dir, "nested", "a.db")}`;
    await applyMigrations({ url });
    await applyMigrations({ url });
    expect(await tables(url)).toEqual(EXPECTED);
  });

  it("applies the same migrations over HTTP with a token (the Turso / sqld path)", async () => {
    const server = await startStoreServer({ file: join(dir, "b.db"), authToken: "migrate-token" });
    try {
      await applyMigrations({ url: server.url, authToken: "migrate-token" });
      await applyMigrations({ url: server.url, authToken: "migrate-token" });
      expect(await tables(server.url, "migrate-token")).toEqual(EXPECTED);
      await expect(applyMigrations({ url: server.url, authToken: "wrong" })).rejects.toThrow();
    } finally {
      await server.close();
    }
  });

  it("several gateways starting at once on one fresh file: store all migrate it, each migration applied once", async () => {
    // Two node-runtime gateways on one VM sharing a `file:` store migrate it at start. Each migrator reads
    // "nothing applied" and applies the batch; the loser's batch (atomic) failed with "table already exists"
    // (or "database is locked") and its gateway did not start.
    const url = `file:${join(dir, "race.db")}`;
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => applyMigrations({ url })));
    expect(results.map((r) => (r.status === "rejected" ? String(r.reason) : "ok"))).toEqual(["ok", "ok", "ok", "ok"]);
    expect(await tables(url)).toEqual(EXPECTED);
    const client = createClient({ url });
    const applied = (await client.execute("SELECT hash FROM __drizzle_migrations")).rows.map((r) => String(r["hash"]));
    client.close();
    expect(new Set(applied).size).toBe(applied.length);
  });

  it("location carries the OpenSIPS columns", async () => {
    const url = `file:${join(dir, "c.db")}`;
    await applyMigrations({ url });
    const client = createClient({ url });
    const cols = (await client.execute("PRAGMA table_info(location)")).rows.map((r) => String(r["name"]));
    client.close();
    expect(cols).toEqual([
      "contact_id", "username", "domain", "contact", "received", "path", "expires", "q", "callid", "cseq",
      "last_modified", "flags", "cflags", "user_agent", "socket", "methods", "sip_instance", "kv_store", "attr",
      "ruid", // Kamailio's column name for the binding identity
    ]);
  });
});
