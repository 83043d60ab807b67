/**
 * The legacy `endpoint_locations` table in MySQL or MariaDB, through mysql2: connect from a URL, check the
 * table's shape, read it in keyset pages, and write a set of changes in one transaction (all or nothing).
 * Every message names the server by its redacted URL.
 */
import type { Connection, RowDataPacket } from "mysql2/promise";
import { UsageError } from "../args";
import { redactUrl } from "./redact";
import { LEGACY_COLUMNS, type LegacyChanges, type LegacyRow } from "./rows";
import { LegacySourceError } from "./source-error";

/** The table's name; the schema. */
export const LEGACY_TABLE = "endpoint_locations";
/** Rows per SELECT page and per multi-row statement. */
export const LEGACY_PAGE = 1000;
const CONNECT_TIMEOUT_MS = 5000;

/** Connection settings from a `mysql://user:password@host:port/database` URL, and its redacted form. */
export interface MysqlSettings {
  readonly display: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

/** Parses `--mysql`; a bad URL is a usage error (exit 2), named without its password. */
export function parseMysqlUrl(text: string): MysqlSettings {
  const display = redactUrl(text);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--mysql '${display}' is not a URL (mysql://user:password@host:port/database)`);
  }
  if (url.protocol !== "mysql:" && url.protocol !== "mariadb:") {
    throw new UsageError(`--mysql '${display}' must be a mysql:// or mariadb:// URL`);
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (database === "" || database.includes("/")) {
    throw new UsageError(`--mysql '${display}' must name the database: mysql://user:password@host:port/database`);
  }
  if (url.username === "") throw new UsageError(`--mysql '${display}' must name the user: mysql://user:password@host:port/database`);
  if (url.search !== "" || url.hash !== "") throw new UsageError(`--mysql '${display}' must not have a query or fragment`);
  return {
    display,
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database,
  };
}

function describeConnectFailure(err: unknown): string {
  const e = err as { code?: string; message?: string };
  switch (e.code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ETIMEDOUT":
      return `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host not found";
    case "ER_ACCESS_DENIED_ERROR":
      return `login refused: ${e.message ?? "access denied"}`;
    case "ER_BAD_DB_ERROR":
      return `no such database: ${e.message ?? ""}`;
    default:
      return e.message || e.code || String(err);
  }
}

interface ColumnInfo extends RowDataPacket {
  COLUMN_NAME: string;
  DATA_TYPE: string;
  COLUMN_KEY: string;
}

const STRING_TYPES = new Set(["varchar", "char"]);

/** The legacy table on one server, checked; {@link close} when done. */
export interface LegacyTable {
  readonly display: string;
  /** Every row, read in pages inside one consistent snapshot. */
  readAll(): Promise<LegacyRow[]>;
  /**
   * In one transaction: reads the table (its rows locked until commit), asks `plan` what to change, applies
   * it (deletes, then inserts and updates as multi-row upserts), commits. A failure rolls it all back.
   */
  sync(plan: (current: readonly LegacyRow[]) => LegacyChanges): Promise<LegacyChanges>;
  close(): Promise<void>;
}

/** Connects and checks that `endpoint_locations` exists with the legacy shape; throws {@link LegacySourceError}. */
export async function openLegacyTable(settings: MysqlSettings, options: { forWriting: boolean }): Promise<LegacyTable> {
  const where = `MySQL at ${settings.display}`;
  let conn: Connection;
  try {
    // Loaded here, not at start-up: the other edgectl commands do not pay for the driver.
    const mysql = (await import("mysql2/promise")).default;
    conn = await mysql.createConnection({
      host: settings.host,
      port: settings.port,
      user: settings.user,
      password: settings.password,
      database: settings.database,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // DATETIME as its text: no time zone conversion on the way in or out.
      dateStrings: true,
      timezone: "Z",
      multipleStatements: false,
    });
  } catch (err) {
    throw new LegacySourceError(`cannot use ${where}: ${describeConnectFailure(err)}`);
  }
  const fail = async (message: string): Promise<never> => {
    await conn.end().catch(() => undefined);
    throw new LegacySourceError(message);
  };
  try {
    const [columns] = await conn.query<ColumnInfo[]>(
      `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_KEY FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [LEGACY_TABLE],
    );
    if (columns.length === 0) return await fail(`${where}: table ${LEGACY_TABLE} does not exist in database ${settings.database}`);
    const found = columns.map((c) => `${c.COLUMN_NAME} ${String(c.DATA_TYPE).toLowerCase()}${c.COLUMN_KEY === "PRI" ? " primary key" : ""}`);
    const expected = LEGACY_COLUMNS.map((name) => `${name} ${name === "expires" ? "datetime" : "varchar"}${name === "aor" ? " primary key" : ""}`);
    const fits =
      columns.length === LEGACY_COLUMNS.length &&
      LEGACY_COLUMNS.every((name) => {
        const c = columns.find((col) => String(col.COLUMN_NAME).toLowerCase() === name);
        if (!c) return false;
        const type = String(c.DATA_TYPE).toLowerCase();
        const typeOk = name === "expires" ? type === "datetime" : STRING_TYPES.has(type);
        return typeOk && (name !== "aor" || c.COLUMN_KEY === "PRI");
      });
    if (!fits) {
      return await fail(`${where}: table ${LEGACY_TABLE} has another shape: expected (${expected.join(", ")}), found (${found.join(", ")})`);
    }
    if (options.forWriting) {
      const [tables] = await conn.query<RowDataPacket[]>(
        "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
        [LEGACY_TABLE],
      );
      const engine = String(tables[0]?.["ENGINE"] ?? "");
      if (engine.toLowerCase() !== "innodb") {
        return await fail(
          `${where}: table ${LEGACY_TABLE} uses the ${engine || "unknown"} engine, which has no transactions; ` +
            `run ALTER TABLE ${LEGACY_TABLE} ENGINE=InnoDB first`,
        );
      }
    }
  } catch (err) {
    if (err instanceof LegacySourceError) throw err;
    return await fail(`${where}: ${describeConnectFailure(err)}`);
  }

  async function readPages(lock: boolean): Promise<LegacyRow[]> {
    const rows: LegacyRow[] = [];
    let after: string | undefined;
    for (;;) {
      const [page] = await conn.query<RowDataPacket[]>(
        `SELECT aor, contact_ip, contact_port, contact_uri, expires FROM ${LEGACY_TABLE}
          ${after === undefined ? "" : "WHERE aor > ?"} ORDER BY aor LIMIT ${LEGACY_PAGE}${lock ? " FOR UPDATE" : ""}`,
        after === undefined ? [] : [after],
      );
      for (const r of page) {
        rows.push({
          aor: String(r["aor"]),
          contact_ip: String(r["contact_ip"]),
          contact_port: String(r["contact_port"]),
          contact_uri: String(r["contact_uri"]),
          expires: String(r["expires"]),
        });
      }
      if (page.length < LEGACY_PAGE) return rows;
      after = String(page[page.length - 1]!["aor"]);
    }
  }

  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof LegacySourceError) throw err;
      throw new LegacySourceError(`${where}: ${what} failed: ${describeConnectFailure(err)}`);
    }
  };

  return {
    display: settings.display,
    readAll: () =>
      wrap("reading", async () => {
        await conn.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
        try {
          return await readPages(false);
        } finally {
          await conn.query("COMMIT").catch(() => undefined);
        }
      }),
    sync: (plan) =>
      wrap("writing", async () => {
        await conn.beginTransaction();
        try {
          const changes = plan(await readPages(true));
          for (let i = 0; i < changes.deletes.length; i += LEGACY_PAGE) {
            const chunk = changes.deletes.slice(i, i + LEGACY_PAGE);
            await conn.query(`DELETE FROM ${LEGACY_TABLE} WHERE aor IN (?)`, [chunk]);
          }
          // An update may change the AoR's spelling (domain case): the upsert matches the primary key as
          // MySQL compares it, and rewrites the aor too.
          const upserts = [...changes.updates.map(({ currentAor: _, ...row }) => row), ...changes.inserts];
          for (let i = 0; i < upserts.length; i += LEGACY_PAGE) {
            const chunk = upserts.slice(i, i + LEGACY_PAGE).map((r) => LEGACY_COLUMNS.map((c) => r[c]));
            await conn.query(
              `INSERT INTO ${LEGACY_TABLE} (${LEGACY_COLUMNS.join(", ")}) VALUES ? ON DUPLICATE KEY UPDATE ` +
                LEGACY_COLUMNS.map((c) => `${c} = VALUES(${c})`).join(", "),
              [chunk],
            );
          }
          await conn.commit();
          return changes;
        } catch (err) {
          await conn.rollback().catch(() => undefined);
          throw err;
        }
      }),
    close: () => conn.end().catch(() => undefined),
  };
}
