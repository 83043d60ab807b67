// Backup and restore of the embedded store (docs/operations.md): `npm run db:backup` copies the live file
// (VACUUM INTO, from a connection of its own, while the store endpoint has it open and a writer keeps
// writing); a store endpoint started on the copy serves the same tenants and bindings to the worker's own
// store code, and nothing written after the backup.
import { execFile } from "node:child_process";
import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { createClient } from "@libsql/client/web";
import { drizzle } from "drizzle-orm/libsql/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupStore, BackupError } from "../../migrations/backup";
import { applyMigrations } from "../../migrations/apply";
import { startStoreServer } from "../../store-server/src/server";
import { createLibsqlStore } from "../../worker/src/store/libsql-store";
import type { BindingWrite, Store } from "../../worker/src/store/store";
import { REPO_ROOT } from "../support/paths";
import { startTestStore, type TestStore } from "./helpers";

const NOW = Math.floor(Date.now() / 1000);
/** The save plan's tombstone and limit fields: decided now, no contact limit in the way, removals remembered a minute. */
const SAVE_LIMITS = { issuedAt: NOW * 1000, removedAt: NOW * 1000, maxContacts: 100, tombstoneExpires: NOW + 60 } as const;

function contact(uri: string, expires = NOW + 3600): BindingWrite {
  return { ruid: `ruid-${uri}`, contact: uri, received: "sip:203.0.113.9:40000", path: null, expires, q: 1, userAgent: "backup-test", socket: null, methods: null, sipInstance: null };
}

function storeAt(url: string): { store: Store; close(): void } {
  const client = createClient({ url });
  return { store: createLibsqlStore(drizzle(client)), close: () => client.close() };
}

describe("backup of a live embedded store, restored", () => {
  let live: TestStore;
  let liveStore: { store: Store; close(): void };

  beforeAll(async () => {
    live = await startTestStore();
    await applyMigrations({ url: live.url });
    liveStore = storeAt(live.url);
    await liveStore.store.createTenant({ domain: "backup.example", destinations: [{ uri: "sip:192.0.2.10:5060", weight: 1, priority: 0 }] });
    await liveStore.store.applySave({
      username: "201",
      domain: "backup.example",
      callid: "backup-call-1",
      cseq: 1,
      now: NOW,
      ...SAVE_LIMITS,
      removeAll: false,
      upserts: [contact("sip:201@10.0.0.5:5060"), contact("sip:201@10.0.0.6:5060")],
      removals: [],
    });
  });

  afterAll(async () => {
    liveStore?.close();
    await live?.stop();
  });

  it("npm run db:backup copies the file while it is served and written; the copy restores with its bindings", async () => {
    // A writer that keeps writing during the backup (the store is live, not quiesced).
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        written++;
        await liveStore.store.applySave({ username: "202", domain: "backup.example", callid: "busy", cseq: written, now: NOW, ...SAVE_LIMITS, removeAll: false, upserts: [contact("sip:202@10.0.0.7:5060")], removals: [] });
      }
    })();
    const out = join(live.dir, "backups", "edge.db");
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/db-backup.ts", "--url", `file:${live.file}`, "--out", out], { cwd: REPO_ROOT });
    writing = false;
    await writer;
    expect(written).toBeGreaterThan(0);
    const report = JSON.parse(stdout.trim()) as { msg: string; rows: { location: number; domain: number; dispatcher: number } };
    expect(report.msg).toBe("backup written");
    expect(report.rows).toMatchObject({ domain: 1, dispatcher: 1 });
    expect(report.rows.location).toBeGreaterThanOrEqual(2);

    // Written after the backup: must not be in it.
    await liveStore.store.createTenant({ domain: "after.example", destinations: [{ uri: "sip:192.0.2.11:5060", weight: 1, priority: 0 }] });

    // Restore: a store endpoint on (a copy of) the backup file, read through the worker's store code.
    const restoredFile = join(live.dir, "restored.db");
    await copyFile(out, restoredFile);
    const restoredServer = await startStoreServer({ file: restoredFile });
    const restored = storeAt(restoredServer.url);
    try {
      const tenants = await restored.store.loadTenants();
      expect(tenants.map((t) => t.domain)).toEqual(["backup.example"]);
      expect(tenants[0]!.destinations.map((d) => d.uri)).toEqual(["sip:192.0.2.10:5060"]);
      const bindings = await restored.store.lookup("201", "backup.example", NOW);
      expect(bindings.map((b) => b.contact).sort()).toEqual(["sip:201@10.0.0.5:5060", "sip:201@10.0.0.6:5060"]);
      expect(bindings).toEqual(await liveStore.store.lookup("201", "backup.example", NOW));
      // The restored store takes writes and the migrations find nothing to do.
      await applyMigrations({ url: restoredServer.url });
      await restored.store.deleteAor("201", "backup.example", NOW + 60);
      expect(await restored.store.lookup("201", "backup.example", NOW)).toEqual([]);
    } finally {
      restored.close();
      await restoredServer.close();
    }
  });

  it("through the store endpoint too, and never over an existing file or from a libsql:// store", async () => {
    const out = join(live.dir, "via-endpoint.db");
    const result = await backupStore({ url: live.url, out });
    expect(result.rows.domain).toBe(2);
    await expect(backupStore({ url: live.url, out })).rejects.toThrow(BackupError);
    await expect(backupStore({ url: "libsql://example.turso.io", out: join(live.dir, "x.db") })).rejects.toThrow(/turso db shell/);
  });
});
