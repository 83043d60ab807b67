/**
 * Applies the drizzle-kit migrations in this folder to a libSQL store: a `file:` URL (embedded), or an
 * `http(s)://` / `libsql://` URL (Turso, sqld, or the local store endpoint) with an auth token.
 * Idempotent: drizzle records applied migrations in `__drizzle_migrations`.
 */
import { fileURLToPath } from "node:url";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";

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
    await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    client.close();
  }
}
