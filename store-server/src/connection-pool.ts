/**
 * Connections of the embedded `libsql` engine to one database file, and the pool that hands them to streams.
 *
 * Every connection runs with busy_timeout 0 (nothing may block the event loop; writers are ordered by the
 * write queue instead), synchronous NORMAL, foreign keys on and 64-bit integers as BigInt. The file is put
 * in WAL mode once, so readers on other connections never wait for the writer. For `:memory:` there is one
 * shared connection, since separate in-memory connections would be separate databases.
 */
import Database from "libsql";
import { analyzeSql, type SqlAnalysis, type StatementInfo } from "./sql-analysis";
import type { SqlValue } from "./hrana-values";
import { valueToHrana } from "./hrana-values";
import type { StmtResult } from "./hrana-proto";
import { StoreError } from "./store-error";

type Db = Database.Database;
type Stmt = Database.Statement;

const SQLITE_CODE_NAMES = [
  "SQLITE_OK", "SQLITE_ERROR", "SQLITE_INTERNAL", "SQLITE_PERM", "SQLITE_ABORT", "SQLITE_BUSY",
  "SQLITE_LOCKED", "SQLITE_NOMEM", "SQLITE_READONLY", "SQLITE_INTERRUPT", "SQLITE_IOERR", "SQLITE_CORRUPT",
  "SQLITE_NOTFOUND", "SQLITE_FULL", "SQLITE_CANTOPEN", "SQLITE_PROTOCOL", "SQLITE_EMPTY", "SQLITE_SCHEMA",
  "SQLITE_TOOBIG", "SQLITE_CONSTRAINT", "SQLITE_MISMATCH", "SQLITE_MISUSE", "SQLITE_NOLFS", "SQLITE_AUTH",
  "SQLITE_FORMAT", "SQLITE_RANGE", "SQLITE_NOTADB", "SQLITE_NOTICE", "SQLITE_WARNING",
];

/** Keywords whose `changes` count is meaningful (SQLite does not reset it for other statements). */
const CHANGING_KEYWORDS = new Set(["INSERT", "UPDATE", "DELETE", "REPLACE", "WITH"]);

/**
 * Turns whatever the engine threw into a `StoreError`. SQLite errors carry the primary result code name
 * (`SQLITE_CONSTRAINT`, like sqld and the `file:` client), the extended name stays in the message.
 */
export function toStoreError(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  if (error instanceof Error) {
    const { code, rawCode } = error as Error & { code?: unknown; rawCode?: unknown };
    if (typeof rawCode === "number") {
      const name = SQLITE_CODE_NAMES[rawCode & 0xff] ?? (typeof code === "string" ? code : "SQLITE_UNKNOWN");
      return new StoreError(name, error.message, 400, { cause: error });
    }
    if (typeof code === "string" && code.startsWith("SQLITE_")) return new StoreError(code, error.message, 400, { cause: error });
    return new StoreError("SQL_INPUT_ERROR", error.message, 400, { cause: error });
  }
  return new StoreError("SQL_INPUT_ERROR", String(error));
}

/** True when the error is SQLite's "database is locked" (any SQLITE_BUSY variant). */
export function isBusyError(error: StoreError): boolean {
  return error.code === "SQLITE_BUSY";
}

interface Prepared {
  readonly stmt: Stmt;
  readonly reader: boolean;
}

/** Column names and declared types; read after each run, since a schema change re-prepares the statement. */
function columnsOf(stmt: Stmt): { name: string; decltype: string | null }[] {
  return stmt.columns().map((c) => ({ name: c.name, decltype: c.type ?? null }));
}

/** A small least-recently-used map. */
class Lru<V> {
  readonly #map = new Map<string, V>();
  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.capacity) {
      const oldest = this.#map.keys().next();
      if (oldest.done !== true) this.#map.delete(oldest.value);
    }
  }

  clear(): void {
    this.#map.clear();
  }
}

/** Named-argument spellings tried when a name arrives without its prefix. */
const PARAM_PREFIXES = [":", "@", "$"] as const;

/** One engine connection with its prepared-statement cache. */
export class SqlConnection {
  #db: Db;
  readonly #file: string;
  readonly #statements = new Lru<Prepared>(256);
  readonly #analyze: (sql: string) => SqlAnalysis;
  #lastRowidStmt: Stmt | undefined;
  #queryOnly = false;
  /** A PRAGMA or a script ran, so connection settings may differ from the defaults. */
  #settingsTouched = false;
  #open = true;
  /**
   * Statements that failed with SQLITE_BUSY (any variant, in a transaction or not) and have not run since.
   * The `libsql` driver does not reset a statement that failed so, and has no reset call: the statement
   * stays active, so the connection's next read transaction never ends (not even at ROLLBACK), every later
   * read would see the database as it was then, and no checkpoint could pass that point. Running the same
   * statement again to its end resets it (the stream's retries do). Otherwise, once no transaction is
   * open, the engine connection is replaced by a new one (`#renewIfPinned`), and the old statement lets its
   * snapshot go when it is garbage collected.
   */
  readonly #pinned = new Set<string>();

  readonly #settings: string;

  /**
   * Opens a connection to `file` and applies the per-connection settings. `autoCheckpoint` false: commits
   * never checkpoint the WAL (`wal_autocheckpoint = 0`); the server's checkpoint thread does.
   */
  constructor(file: string, analyze: (sql: string) => SqlAnalysis, autoCheckpoint = true) {
    this.#analyze = analyze;
    this.#file = file;
    this.#settings = autoCheckpoint ? "PRAGMA foreign_keys = ON" : "PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0";
    this.#db = this.#openEngine();
  }

  #openEngine(): Db {
    const db = new Database(this.#file, { timeout: 0 });
    try {
      db.defaultSafeIntegers(true);
      db.exec(`PRAGMA busy_timeout = 0; PRAGMA synchronous = NORMAL; ${this.#settings}`);
    } catch (error) {
      db.close();
      throw toStoreError(error);
    }
    return db;
  }

  /** Replaces the engine connection once a pinned snapshot's transaction is over (see `#pinned`). */
  #renewIfPinned(): void {
    if (this.#pinned.size === 0 || this.#db.inTransaction) return;
    this.#pinned.clear();
    this.#statements.clear();
    this.#lastRowidStmt = undefined;
    this.#queryOnly = false;
    this.#settingsTouched = false;
    const old = this.#db;
    try {
      this.#db = this.#openEngine();
    } catch {
      // The file cannot be opened again: the connection is of no further use, and the pool drops it.
      this.#open = false;
    }
    try {
      old.close();
    } catch {
      // Closing is best effort.
    }
  }

  /** False once closed. */
  get isOpen(): boolean {
    return this.#open;
  }

  /** True while an explicit transaction is open on this connection. */
  get inTransaction(): boolean {
    return this.#open && this.#db.inTransaction;
  }

  /** Runs a pragma and returns its first value, e.g. `journal_mode = WAL` gives `"wal"`. */
  pragmaValue(pragma: string): unknown {
    const row = this.#db.prepare(`PRAGMA ${pragma}`).raw(true).get() as unknown[] | undefined;
    return row?.[0];
  }

  /** The engine's SQLite version. */
  sqliteVersion(): string {
    const row = this.#db.prepare("SELECT sqlite_version()").raw(true).get() as unknown[] | undefined;
    return String(row?.[0] ?? "unknown");
  }

  /** Analyses `sql` (cached across the pool). */
  analyze(sql: string): SqlAnalysis {
    return this.#analyze(sql);
  }

  #prepare(sql: string): Prepared {
    const cached = this.#statements.get(sql);
    if (cached !== undefined) return cached;
    let prepared: Prepared;
    try {
      const stmt = this.#db.prepare(sql);
      const reader = stmt.reader;
      if (reader) stmt.raw(true);
      prepared = { stmt, reader };
    } catch (error) {
      throw toStoreError(error);
    }
    this.#statements.set(sql, prepared);
    return prepared;
  }

  /** Checks that `sql` is exactly one statement and returns its analysis and classification. */
  single(sql: string): { analysis: SqlAnalysis; info: StatementInfo } {
    const analysis = this.#analyze(sql);
    if (analysis.hasNul) throw new StoreError("SQL_INPUT_ERROR", "SQL text must not contain NUL characters");
    const [info, extra] = analysis.statements;
    if (info === undefined) throw new StoreError("SQL_NO_STATEMENT", "SQL text does not contain any statement");
    if (extra !== undefined) throw new StoreError("SQL_MANY_STATEMENTS", "SQL text contains more than one statement");
    return { analysis, info };
  }

  /** Builds the positional binding array from Hrana's positional and named arguments. */
  #bindings(analysis: SqlAnalysis, args: readonly SqlValue[], named: readonly { name: string; value: SqlValue }[]): SqlValue[] {
    const paramCount = analysis.paramNames.length - 1;
    if (args.length > paramCount) {
      throw new StoreError("ARGS_INVALID", `The statement has ${paramCount} parameters, but ${args.length} positional arguments were given`);
    }
    if (named.length === 0) return args as SqlValue[];
    const values: SqlValue[] = new Array<SqlValue>(paramCount).fill(null);
    args.forEach((value, i) => {
      values[i] = value;
    });
    for (const { name, value } of named) {
      const first = name.charCodeAt(0);
      // ':' '@' '$' '?': the name is spelled in full; otherwise any prefix matches.
      if (first === 58 || first === 64 || first === 36 || first === 63) {
        const index = analysis.paramIndex.get(name);
        if (index !== undefined) values[index - 1] = value;
        continue;
      }
      for (const prefix of PARAM_PREFIXES) {
        const index = analysis.paramIndex.get(prefix + name);
        if (index !== undefined) values[index - 1] = value;
      }
    }
    return values;
  }

  /** `last_insert_rowid()` exactly (the engine's run() result rounds it to a double) and `changes()`. */
  #rowidAndChanges(): { rowid: string; changes: number } {
    this.#lastRowidStmt ??= this.#db.prepare("SELECT last_insert_rowid(), changes()").raw(true);
    const row = this.#lastRowidStmt.get() as unknown[] | undefined;
    return { rowid: String(row?.[0] ?? 0), changes: Number(row?.[1] ?? 0) };
  }

  /** Executes one statement; the caller has taken the write lock if `info` says it needs it. */
  execute(
    sql: string,
    analysis: SqlAnalysis,
    info: StatementInfo,
    args: readonly SqlValue[],
    named: readonly { name: string; value: SqlValue }[],
    wantRows: boolean,
  ): StmtResult {
    this.#assertOpen();
    if (info.keyword === "PRAGMA") this.#settingsTouched = true;
    const bindings = this.#bindings(analysis, args, named);
    const prepared = this.#prepare(sql);
    // Running a statement again resets it first: only a new SQLITE_BUSY leaves it pinned (see #pinned).
    this.#pinned.delete(sql);
    try {
      if (prepared.reader) {
        const rows = prepared.stmt.all(bindings) as unknown[][];
        let affected = 0;
        let lastRowid: string | null = null;
        if (info.writes) {
          const { rowid, changes } = this.#rowidAndChanges();
          lastRowid = rowid;
          affected = CHANGING_KEYWORDS.has(info.keyword) ? changes : 0;
        }
        return {
          cols: columnsOf(prepared.stmt),
          rows: wantRows ? rows.map((row) => row.map(valueToHrana)) : [],
          affected_row_count: affected,
          last_insert_rowid: lastRowid,
        };
      }
      const result = prepared.stmt.run(bindings);
      if (info.beginsReadOnly && !this.#queryOnly) {
        // Enforce what sqld enforces: no writes inside a read transaction, until it ends.
        this.#db.exec("PRAGMA query_only = ON");
        this.#queryOnly = true;
      }
      let lastRowid: string | null = null;
      if (info.writes) {
        const raw: unknown = result.lastInsertRowid;
        if (typeof raw === "bigint") lastRowid = raw.toString();
        else if (typeof raw === "number" && Number.isSafeInteger(raw)) lastRowid = String(raw);
        else lastRowid = this.#rowidAndChanges().rowid;
      }
      return {
        cols: [],
        rows: [],
        affected_row_count: CHANGING_KEYWORDS.has(info.keyword) ? result.changes : 0,
        last_insert_rowid: lastRowid,
      };
    } catch (error) {
      const storeError = toStoreError(error);
      if (isBusyError(storeError)) this.#pinned.add(sql);
      throw storeError;
    }
  }

  /** Describes a statement without running it. */
  describe(sql: string): {
    params: { name: string | null }[];
    cols: { name: string; decltype: string | null }[];
    is_explain: boolean;
    is_readonly: boolean;
  } {
    this.#assertOpen();
    const { analysis, info } = this.single(sql);
    const prepared = this.#prepare(sql);
    return {
      params: analysis.paramNames.slice(1).map((name) => ({ name })),
      cols: prepared.reader ? columnsOf(prepared.stmt) : [],
      is_explain: info.isExplain,
      is_readonly: !info.writes,
    };
  }

  /** Runs a script of statements without arguments or results (`sequence`). */
  executeScript(sql: string): void {
    this.#assertOpen();
    if (sql.includes("\u0000")) throw new StoreError("SQL_INPUT_ERROR", "SQL text must not contain NUL characters");
    this.#settingsTouched = true;
    try {
      this.#db.exec(sql);
    } catch (error) {
      throw toStoreError(error);
    }
  }

  /** Ends read-only mode once the read transaction that set it is over; called after every request. */
  settle(): void {
    if (!this.#open) return;
    this.#renewIfPinned();
    if (!this.#queryOnly || !this.#open || this.#db.inTransaction) return;
    this.#db.exec("PRAGMA query_only = OFF");
    this.#queryOnly = false;
  }

  /** Rolls back an open transaction; returns false if the connection is still in one afterwards. */
  rollback(): boolean {
    if (!this.#open) return true;
    try {
      if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
      this.settle();
    } catch {
      // Reported through the return value: the pool then drops the connection.
    }
    return this.#open && !this.#db.inTransaction && !this.#queryOnly;
  }

  /** Puts back the settings a client may have changed (drizzle-kit turns foreign keys off and on). */
  reset(): boolean {
    if (!this.rollback()) return false;
    if (!this.#settingsTouched) return true;
    try {
      this.#db.exec(this.#settings);
      this.#settingsTouched = false;
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the connection; later calls fail with `STREAM_CLOSED` instead of touching the engine. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#statements.clear();
    this.#lastRowidStmt = undefined;
    try {
      this.#db.close();
    } catch {
      // Closing is best effort.
    }
  }

  #assertOpen(): void {
    if (!this.#open) throw new StoreError("STREAM_CLOSED", "The connection is closed");
  }
}

/** Options of a {@link ConnectionPool}. */
export interface ConnectionPoolOptions {
  /** Database file path, or `:memory:`. */
  readonly file: string;
  /** Most connections open at once (streams beyond that wait for one). Default 64. */
  readonly maxConnections?: number;
  /** Most idle connections kept for reuse. Default 8. */
  readonly maxIdle?: number;
  /** False: connections never checkpoint on commit (a checkpoint thread does). Default true. */
  readonly autoCheckpoint?: boolean;
}

/**
 * Hands out connections: reused from an idle list, newly opened up to `maxConnections`, or awaited in FIFO
 * order. For `:memory:` every stream gets the one shared connection (`shared` is then true).
 */
export class ConnectionPool {
  readonly shared: boolean;
  readonly #file: string;
  readonly #maxConnections: number;
  readonly #maxIdle: number;
  readonly #autoCheckpoint: boolean;
  readonly #analyses = new Lru<SqlAnalysis>(1024);
  readonly #idle: SqlConnection[] = [];
  readonly #all = new Set<SqlConnection>();
  readonly #waiters: { grant: (c: SqlConnection) => void; fail: (e: unknown) => void }[] = [];
  readonly #sharedConnection: SqlConnection | undefined;
  #closed = false;

  /** Opens the first connection, putting a file database in WAL mode; throws if the file cannot be used. */
  constructor(options: ConnectionPoolOptions) {
    this.#file = options.file;
    this.shared = options.file === ":memory:";
    this.#maxConnections = Math.max(1, options.maxConnections ?? 64);
    this.#maxIdle = Math.max(0, options.maxIdle ?? 64);
    this.#autoCheckpoint = options.autoCheckpoint ?? true;
    const first = this.#open();
    if (this.shared) {
      this.#sharedConnection = first;
      return;
    }
    try {
      const mode = first.pragmaValue("journal_mode = WAL");
      if (String(mode).toLowerCase() !== "wal") {
        throw new StoreError("SQLITE_ERROR", `Could not put ${options.file} in WAL mode (journal_mode is ${String(mode)})`);
      }
    } catch (error) {
      first.close();
      this.#all.delete(first);
      throw toStoreError(error);
    }
    this.#idle.push(first);
  }

  /** Analyses SQL text, with a cache shared by all connections. */
  analyze = (sql: string): SqlAnalysis => {
    let analysis = this.#analyses.get(sql);
    if (analysis === undefined) {
      analysis = analyzeSql(sql);
      this.#analyses.set(sql, analysis);
    }
    return analysis;
  };

  /** How many connections are open. */
  get size(): number {
    return this.#all.size;
  }

  /** Gets a connection for a new stream. */
  acquire(): Promise<SqlConnection> {
    if (this.#closed) return Promise.reject(new StoreError("SERVER_SHUTTING_DOWN", "The store server is shutting down", 503));
    if (this.#sharedConnection !== undefined) return Promise.resolve(this.#sharedConnection);
    const idle = this.#idle.pop();
    if (idle !== undefined) return Promise.resolve(idle);
    if (this.#all.size < this.#maxConnections) {
      try {
        return Promise.resolve(this.#open());
      } catch (error) {
        return Promise.reject(toStoreError(error));
      }
    }
    return new Promise((grant, fail) => this.#waiters.push({ grant, fail }));
  }

  /** Takes a connection back from a stream that ended; it is reset, reused or closed. */
  release(connection: SqlConnection): void {
    if (connection === this.#sharedConnection) return;
    if (this.#closed || !connection.isOpen || !connection.reset()) {
      this.#discard(connection);
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter.grant(connection);
    } else if (this.#idle.length < this.#maxIdle) {
      this.#idle.push(connection);
    } else {
      this.#discard(connection);
    }
  }

  /** Closes every connection and fails waiting acquirers. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const error = new StoreError("SERVER_SHUTTING_DOWN", "The store server is shutting down", 503);
    for (const waiter of this.#waiters.splice(0)) waiter.fail(error);
    this.#idle.length = 0;
    for (const connection of this.#all) {
      connection.rollback();
      connection.close();
    }
    this.#all.clear();
  }

  #open(): SqlConnection {
    const connection = new SqlConnection(this.#file, this.analyze, this.#autoCheckpoint);
    this.#all.add(connection);
    return connection;
  }

  #discard(connection: SqlConnection): void {
    connection.close();
    this.#all.delete(connection);
    if (this.#closed) return;
    const waiter = this.#waiters.shift();
    if (waiter === undefined) return;
    try {
      waiter.grant(this.#open());
    } catch (error) {
      waiter.fail(toStoreError(error));
    }
  }
}
