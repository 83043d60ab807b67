/**
 * Applies the drizzle-kit migrations in this folder to a libSQL store: a `file:` URL (embedded), or an
 * `http(s)://` / `libsql://` URL (Turso, sqld, or the local store endpoint) with an auth token.
 * Idempotent: drizzle records applied migrations in `__drizzle_migrations`.
 *
 * Several migrators at once (gateways of the node runtime starting together on one `file:` store, or
 * `db:migrate` run twice): drizzle reads the last applied migration, then applies the pending ones in one
 * atomic batch. Two that read "none applied" both send the batch; the store runs one, the other fails whole
 * ("table already exists"). That failure is success when the store now holds every migration: another
 * migrator applied them. A `file:` connection waits for the other writer (busy_timeout) instead of failing
 * with "database is locked".
 */
import { fileURLToPath } from "node:url";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { createClient, type Client } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import { readMigrationFiles } from "drizzle-orm/migrator";

const MIGRATIONS_FOLDER = dirname(fileURLToPath(import.meta.url));

export interface ApplyMigrationsOptions {
  url: string;
  authToken?: string | undefined;
}

/** Applies every pending migration; creates the parent folder of a `file:` database when missing. */
export async function applyMigrations(options: ApplyMigrationsOptions): Promise<void> {
  if (options.url.startsWith("file:")) {
    const path = options.url.slice("file:".length);
    if (path && path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  }
  const client = createClient({ url: options.url, authToken: options.authToken });
  try {
    if (options.url.startsWith("file:")) await client.execute("PRAGMA busy_timeout = 5000");
    try {
      await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_FOLDER });
    } catch (err) {
      if (!(await fullyMigrated(client).catch(() => false))) throw err;
    }
  } finally {
    client.close();
  }
}

/** Whether the store records the newest migration of this folder (drizzle orders them by `created_at`). */
async function fullyMigrated(client: Client): Promise<boolean> {
  const newest = Math.max(...readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER }).map((m) => m.folderMillis));
  const rs = await client.execute("SELECT created_at FROM __drizzle_migrations ORDER BY created_at DESC LIMIT 1");
  const last = rs.rows[0]?.["created_at"];
  return last !== undefined && last !== null && Number(last) >= newest;
}
