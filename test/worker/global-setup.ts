// Starts the local store endpoint (embedded libSQL over Hrana HTTP) on a temp file and migrates it; the
// worker under test reaches it at 127.0.0.1 like it reaches Turso in production.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { applyMigrations } from "../../migrations/apply";
import { startStoreServer } from "../../store-server/src/server";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), "edge-worker-test-"));
  const storeToken = "worker-test-store-token";
  const store = await startStoreServer({ file: join(dir, "store.db"), authToken: storeToken });
  await applyMigrations({ url: store.url, authToken: storeToken });
  project.provide("storeUrl", store.url);
  project.provide("storeToken", storeToken);
  return async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  };
}
