/**
 * The store thread's libSQL client for an embedded `file:` database: the part of @libsql/client's `Client`
 * that drizzle's libsql driver uses (execute, batch), over the `libsql` driver's synchronous Database, with
 * two things the general client does not do on every statement:
 *
 * - prepared statements are kept (a bounded LRU keyed by SQL text; drizzle's SQL text is stable per query
 *   shape, the values travel as arguments), so a lookup is not re-prepared on every call;
 * - a row is a plain object of the column values, shaped by one small prototype per statement (named
 *   columns as own enumerable properties, the positions and `length` on the prototype), instead of one
 *   `Object.defineProperty` per value.
 *
 * Semantics follow @libsql/client's `file:` client with intMode "number": integers outside the safe range
 * throw a RangeError, a batch runs in one deferred transaction and is rolled back when a statement fails,
 * `undefined` arguments are refused. One addition: a batch inside a transaction the caller opened is a
 * savepoint (all or nothing, committed with the enclosing transaction) where @libsql/client would fail; the
 * store thread's group commit relies on it. With the routing lookups prepared (worker/src/store/libsql-store.ts),
 * a lookup through the store thread went from 335 to 73 µs on average, hop included
 * (`npx tsx bench/node-runtime-hop.ts 3000`; docs/benchmarks.md).
 *
 * Only the store thread uses it (store-thread-main.ts); URLs other than `file:` keep @libsql/client.
 */
import { fileURLToPath } from "node:url";
import type { Client, InArgs, InStatement, InValue, ResultSet, Row, TransactionMode } from "@libsql/client";
import Database from "libsql";

type Db = InstanceType<typeof Database>;
/** What is used of the driver's statement (better-sqlite3's API). */
interface Stmt {
  readonly reader: boolean;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  raw(on: boolean): unknown;
  safeIntegers(on: boolean): unknown;
  columns(): { name: string; type: string | null }[];
}

/** How many prepared statements are kept; drizzle's IN (...) lists make one text per list length. */
export const STATEMENT_CACHE_SIZE = 256;

interface Prepared {
  readonly stmt: Stmt;
  /** Returns rows (SELECT, or a write with RETURNING). */
  readonly returnsData: boolean;
  readonly columns: string[];
  readonly columnTypes: string[];
  /** Builds one row object from the raw values, or undefined when there are no columns. */
  readonly makeRow: ((values: unknown[]) => Row) | undefined;
}

const VALUES = Symbol("values");

/** The database path of a `file:` URL (`file:relative/x.db`, `file:/abs/x.db`, `file:///abs/x.db`). */
export function filePathOf(url: string): string {
  if (!url.startsWith("file:")) throw new Error(`not a file: URL: ${url}`);
  if (url.startsWith("file://")) return fileURLToPath(url.replace(/\?.*$/, ""));
  return decodeURIComponent(url.slice("file:".length).replace(/\?.*$/, ""));
}

function rowMaker(columns: readonly string[]): (values: unknown[]) => Row {
  // Positions and length live on the prototype, so only the column names are own enumerable properties
  // (drizzle reads rows both ways: by position for typed selects, by name for raw SQL).
  const proto: Record<PropertyKey, unknown> = {};
  Object.defineProperty(proto, "length", { value: columns.length, enumerable: false });
  for (let i = 0; i < columns.length; i++) {
    Object.defineProperty(proto, i, {
      get(this: { [VALUES]: unknown[] }) {
        return this[VALUES][i];
      },
      enumerable: false,
    });
  }
  // The first of two columns with one name wins, as in @libsql/client.
  const named: [string, number][] = [];
  const seen = new Set<string>();
  columns.forEach((c, i) => {
    if (!seen.has(c)) {
      seen.add(c);
      named.push([c, i]);
    }
  });
  return (values) => {
    const row = Object.create(proto) as Record<PropertyKey, unknown>;
    Object.defineProperty(row, VALUES, { value: values, enumerable: false });
    for (const [name, i] of named) row[name] = values[i];
    return row as unknown as Row;
  };
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function fromSql(v: unknown): unknown {
  if (typeof v === "bigint") {
    if (v < MIN_SAFE || v > MAX_SAFE) throw new RangeError("Received integer which cannot be safely represented as a JavaScript number");
    return Number(v);
  }
  if (v instanceof Buffer) return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
  return v;
}

function toSql(v: InValue | undefined): unknown {
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new RangeError("Only finite numbers (not Infinity or NaN) can be passed as arguments");
    return v;
  }
  if (typeof v === "boolean") return v ? 1 : 0;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (v instanceof Date) return v.valueOf();
  if (v === undefined) throw new TypeError("undefined cannot be passed as argument to the database");
  return v;
}

function argsOf(args: InArgs | undefined): unknown[] | Record<string, unknown> {
  if (args === undefined) return [];
  if (Array.isArray(args)) return args.map(toSql);
  const named: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    const name = k[0] === "@" || k[0] === "$" || k[0] === ":" ? k.slice(1) : k;
    named[name] = toSql(v);
  }
  return named;
}

class EmbeddedResultSet implements ResultSet {
  constructor(
    readonly columns: string[],
    readonly columnTypes: string[],
    readonly rows: Row[],
    readonly rowsAffected: number,
    readonly lastInsertRowid: bigint | undefined,
  ) {}
  toJSON(): unknown {
    return {
      columns: this.columns,
      columnTypes: this.columnTypes,
      rows: this.rows.map((r) => Array.prototype.slice.call(r)),
      rowsAffected: this.rowsAffected,
      lastInsertRowid: this.lastInsertRowid?.toString() ?? null,
    };
  }
}

export interface EmbeddedClient extends Client {
  /** Statements prepared so far (cache misses), for tests. */
  prepares(): number;
  /**
   * Whether a transaction is open on the connection. While one is (opened with `BEGIN`, through execute), a
   * batch runs as a savepoint inside it instead of a transaction of its own.
   */
  inTransaction(): boolean;
}

/**
 * The writer's own checkpoint threshold (pages of WAL), a safety net for when the checkpointer thread
 * (thread-store.ts) falls behind (SQLite's default, 1000, would make the writer checkpoint on a commit about
 * once a second under load).
 */
const WRITER_AUTOCHECKPOINT_PAGES = 10_000;

/** The settings of the connection that writes (the store thread's writer): WAL, so that readers never wait for it. */
export async function configureWriter(client: Client): Promise<void> {
  await client.execute("PRAGMA journal_mode = WAL");
  await client.execute("PRAGMA synchronous = NORMAL");
  await client.execute(`PRAGMA wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`);
}

/** A PRAGMA that sets a value (`PRAGMA busy_timeout = 5000`); group 1 is its name. */
const PRAGMA_SETTING = /^\s*PRAGMA\s+(?:\w+\.)?(\w+)\s*=/i;

/** SQLite's "database is locked", any variant (the driver's `code` is the extended name). */
const isBusy = (err: unknown): boolean => String((err as { code?: unknown } | null)?.code ?? "").startsWith("SQLITE_BUSY");

/** Opens the `file:` database of `url` (created if missing). */
export function createEmbeddedClient(url: string): EmbeddedClient {
  const path = filePathOf(url);
  let db: Db = new Database(path);
  const cache = new Map<string, Prepared>();
  let prepares = 0;
  let closed = false;
  /**
   * The connection settings the caller made (PRAGMA statements run outside a transaction, by name, last
   * value wins), to make again on a new engine connection.
   */
  const settings = new Map<string, string>();
  /**
   * Statements that failed with SQLITE_BUSY (any variant, in a transaction or not) and have not run since.
   * The driver does not reset a statement that failed so, and has no reset call: the statement stays active,
   * so the connection's next read transaction never ends, and every later read would see the database as
   * it was then, every later write fail with SQLITE_BUSY_SNAPSHOT. Running the same statement again to its
   * end resets it. Otherwise, once no transaction is open, the engine connection is replaced
   * (`renewIfPinned`), and the old statement lets its snapshot go when it is garbage collected.
   */
  const pinned = new Set<string>();

  function renewIfPinned(): void {
    if (pinned.size === 0 || db.inTransaction) return;
    const fresh = new Database(path);
    for (const sql of settings.values()) fresh.exec(sql);
    pinned.clear();
    cache.clear();
    const old = db;
    db = fresh;
    try {
      old.close();
    } catch {
      // Closing is best effort.
    }
  }

  function prepared(sql: string): Prepared {
    const hit = cache.get(sql);
    if (hit) {
      // Most recently used last: Map iteration order is insertion order.
      cache.delete(sql);
      cache.set(sql, hit);
      return hit;
    }
    prepares++;
    const stmt = db.prepare(sql) as unknown as Stmt;
    stmt.safeIntegers(true);
    const returnsData = stmt.reader;
    let columns: string[] = [];
    let columnTypes: string[] = [];
    if (returnsData) {
      stmt.raw(true);
      const defs = stmt.columns();
      columns = defs.map((c) => c.name);
      columnTypes = defs.map((c) => c.type ?? "");
    }
    const entry: Prepared = { stmt, returnsData, columns, columnTypes, makeRow: returnsData ? rowMaker(columns) : undefined };
    cache.set(sql, entry);
    if (cache.size > STATEMENT_CACHE_SIZE) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    return entry;
  }

  function run(stmt: InStatement): ResultSet {
    const { sql, args } = typeof stmt === "string" ? { sql: stmt, args: undefined } : stmt;
    const p = prepared(sql);
    const bound = argsOf(args);
    let result: ResultSet;
    try {
      result = runPrepared(p, bound);
    } catch (err) {
      if (isBusy(err)) pinned.add(sql);
      throw err;
    }
    if (pinned.size > 0) pinned.delete(sql);
    return result;
  }

  function runPrepared(p: Prepared, bound: unknown[] | Record<string, unknown>): ResultSet {
    if (p.returnsData && p.makeRow) {
      const raw = (Array.isArray(bound) ? p.stmt.all(...bound) : p.stmt.all(bound)) as unknown[][];
      const rows = raw.map((values) => {
        for (let i = 0; i < values.length; i++) values[i] = fromSql(values[i]);
        return p.makeRow!(values);
      });
      return new EmbeddedResultSet(p.columns, p.columnTypes, rows, 0, undefined);
    }
    const info = Array.isArray(bound) ? p.stmt.run(...bound) : p.stmt.run(bound);
    return new EmbeddedResultSet([], [], [], info.changes, BigInt(info.lastInsertRowid));
  }

  function checkOpen(): void {
    if (closed) throw new Error("The client is closed");
  }

  const unsupported = (what: string) => (): never => {
    throw new Error(`${what} is not supported by the store thread's embedded client`);
  };

  const client = {
    protocol: "file" as const,
    get closed() {
      return closed;
    },
    prepares: () => prepares,
    execute(stmtOrSql: InStatement | string, args?: InArgs): Promise<ResultSet> {
      try {
        checkOpen();
        const stmt: InStatement = typeof stmtOrSql === "string" && args !== undefined ? { sql: stmtOrSql, args } : stmtOrSql;
        try {
          const result = run(stmt);
          const sql = typeof stmt === "string" ? stmt : stmt.sql;
          const pragma = db.inTransaction ? null : PRAGMA_SETTING.exec(sql);
          if (pragma) settings.set(pragma[1]!.toLowerCase(), sql);
          return Promise.resolve(result);
        } finally {
          renewIfPinned();
        }
      } catch (err) {
        return Promise.reject(err);
      }
    },
    inTransaction: () => db.inTransaction,
    batch(stmts: (InStatement | [string, InArgs?])[], mode: TransactionMode = "deferred"): Promise<ResultSet[]> {
      try {
        checkOpen();
        const statements = (): ResultSet[] => stmts.map((s) => run(Array.isArray(s) ? { sql: s[0], args: s[1] ?? [] } : s));
        if (db.inTransaction) {
          // Inside a transaction the caller opened (the store thread's group commit): the batch is a
          // savepoint, all or nothing within it, committed with the enclosing transaction.
          run("SAVEPOINT edge_batch");
          try {
            const out = statements();
            run("RELEASE edge_batch");
            return Promise.resolve(out);
          } catch (err) {
            // A failed statement that ended the whole transaction (SQLITE_FULL, an I/O error) leaves no
            // savepoint to go back to: the caller sees that through inTransaction().
            if (db.inTransaction) {
              run("ROLLBACK TO edge_batch");
              run("RELEASE edge_batch");
            }
            throw err;
          }
        }
        run(mode === "write" ? "BEGIN IMMEDIATE" : mode === "read" ? "BEGIN TRANSACTION READONLY" : "BEGIN DEFERRED");
        try {
          const out = statements();
          run("COMMIT");
          return Promise.resolve(out);
        } catch (err) {
          if (db.inTransaction) run("ROLLBACK");
          throw err;
        } finally {
          renewIfPinned();
        }
      } catch (err) {
        return Promise.reject(err);
      }
    },
    executeMultiple(sql: string): Promise<void> {
      try {
        checkOpen();
        db.exec(sql);
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err);
      }
    },
    migrate: unsupported("migrate"),
    transaction: unsupported("transaction"),
    sync: unsupported("sync"),
    reconnect: unsupported("reconnect"),
    close(): void {
      if (closed) return;
      closed = true;
      cache.clear();
      db.close();
    },
  };
  return client as unknown as EmbeddedClient;
}
