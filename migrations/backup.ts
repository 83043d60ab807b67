/**
 * A consistent copy of a live libSQL store into a new database file, with `VACUUM INTO` (SQLite 3.27+, and
 * libSQL): one read transaction, so writers go on meanwhile (WAL) and the copy is a snapshot of one moment,
 * compacted. Works on the embedded file (`file:`; from a connection of its own while the gateway's node
 * runtime or the local store endpoint has it open) and through a local store endpoint (`http://`: the
 * path is then on that server's machine). Not for Turso (`libsql://`): use its point-in-time restore or
 * `turso db shell <db> .dump` (docs/operations.md, "Backup and restore").
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { createClient } from "@libsql/client";

export interface BackupOptions {
  readonly url: string;
  readonly authToken?: string | undefined;
  /** The new database file; must not exist. */
  readonly out: string;
}

export interface BackupResult {
  readonly file: string;
  /** Rows per table in the copy, read back from it. */
  readonly rows: { readonly location: number; readonly domain: number; readonly dispatcher: number };
}

export class BackupError extends Error {
  override readonly name = "BackupError";
}

/** Copies the store at `url` into `out`, then opens the copy and checks it (integrity, row counts). */
export async function backupStore(options: BackupOptions): Promise<BackupResult> {
  if (options.url.startsWith("libsql:")) {
    throw new BackupError("a libsql:// store (Turso) cannot write a file here: use `turso db shell <db> .dump` or its point-in-time restore");
  }
  const file = resolve(options.out);
  if (existsSync(file)) throw new BackupError(`${file} exists; a backup never overwrites`);
  mkdirSync(dirname(file), { recursive: true });
  const source = createClient({ url: options.url, authToken: options.authToken });
  try {
    await source.execute({ sql: "VACUUM INTO ?", args: [file] });
  } finally {
    source.close();
  }
  const copy = createClient({ url: `file:${file}` });
  try {
    const check = await copy.execute("PRAGMA integrity_check");
    if (String(check.rows[0]?.[0]) !== "ok") throw new BackupError(`the copy fails its integrity check: ${String(check.rows[0]?.[0])}`);
    const count = async (table: string): Promise<number> => Number((await copy.execute(`SELECT count(*) FROM ${table}`)).rows[0]?.[0]);
    return { file, rows: { location: await count("location"), domain: await count("domain"), dispatcher: await count("dispatcher") } };
  } finally {
    copy.close();
  }
}
