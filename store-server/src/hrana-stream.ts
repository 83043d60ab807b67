/**
 * One Hrana stream: its connection, its stored SQL texts, its baton and whether it holds the write lock.
 *
 * Locking rule: before running anything that may write (a write statement, `BEGIN IMMEDIATE`, a batch or a
 * sequence containing one) the stream awaits the write lease; after each request it gives the lease back if
 * its connection is no longer inside a transaction. So an interactive write transaction keeps the lease across
 * pipeline calls until COMMIT, ROLLBACK, close or idle expiry, and an autocommit write holds it only for itself.
 */
import type { SqlValue } from "./hrana-values";
import type { BatchCond, BatchStep, ProtoError, ProtoStmt, StmtResult, StreamRequest } from "./hrana-proto";
import { isBusyError, toStoreError, type ConnectionPool, type SqlConnection } from "./connection-pool";
import type { SqlAnalysis, StatementInfo } from "./sql-analysis";
import { StoreError } from "./store-error";
import type { WriteLease, WriteQueue } from "./write-queue";

/**
 * The waits before each new attempt of a statement refused with SQLITE_BUSY outside a transaction: about a
 * quarter of a second in all, like a short busy_timeout but spent off the event loop.
 */
const BUSY_RETRY_DELAYS_MS = [1, 2, 4, 8, 16, 32, 64, 128] as const;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Most SQL texts a stream may store at once (as sqld, to bound memory). */
const MAX_STORED_SQL = 1000;

/** The `response` of an ok stream result. */
export type StreamResponse =
  | { type: "close" }
  | { type: "execute"; result: StmtResult }
  | { type: "batch"; result: { step_results: (StmtResult | null)[]; step_errors: (ProtoError | null)[] } }
  | { type: "sequence" }
  | {
      type: "describe";
      result: {
        params: { name: string | null }[];
        cols: { name: string; decltype: string | null }[];
        is_explain: boolean;
        is_readonly: boolean;
      };
    }
  | { type: "store_sql" }
  | { type: "close_sql" }
  | { type: "get_autocommit"; is_autocommit: boolean };

/** Converts any error to its wire form. */
export function protoErrorOf(error: unknown): ProtoError {
  const storeError = toStoreError(error);
  return { message: storeError.message, code: storeError.code };
}

/** One stream over one connection; requests must be handled one at a time (the server guarantees it). */
export class HranaStream {
  /** The baton the next pipeline call must present; `null` while a call is running or once closed. */
  baton: string | null = null;
  /** Set while a pipeline call is being handled. */
  busy = false;
  /** Idle-expiry timer, owned by the server. */
  idleTimer: NodeJS.Timeout | undefined;

  readonly #connection: SqlConnection;
  readonly #pool: ConnectionPool;
  readonly #queue: WriteQueue;
  readonly #sqls = new Map<number, string>();
  #lease: WriteLease | null = null;
  #closed = false;

  private constructor(
    readonly id: number,
    connection: SqlConnection,
    pool: ConnectionPool,
    queue: WriteQueue,
  ) {
    this.#connection = connection;
    this.#pool = pool;
    this.#queue = queue;
  }

  /** Opens a stream with a connection from `pool` (waiting if the pool is at its limit). */
  static async open(id: number, pool: ConnectionPool, queue: WriteQueue): Promise<HranaStream> {
    const connection = await pool.acquire();
    return new HranaStream(id, connection, pool, queue);
  }

  /** True once the stream has been closed (by a `close` request, expiry or server shutdown). */
  get closed(): boolean {
    return this.#closed;
  }

  /** True while this stream holds the write lock. */
  get holdsWriteLock(): boolean {
    return this.#lease !== null;
  }

  /** Handles one request; throws a `StoreError` for an error result. The stream stays usable after errors. */
  async handle(request: StreamRequest): Promise<StreamResponse> {
    if (request.type === "close") {
      this.close();
      return { type: "close" };
    }
    this.#assertOpen();
    try {
      return await this.#dispatch(request);
    } finally {
      this.#releaseIfIdle();
    }
  }

  async #dispatch(request: Exclude<StreamRequest, { type: "close" }>): Promise<StreamResponse> {
    switch (request.type) {
      case "execute":
        return { type: "execute", result: await this.#execute(request.stmt) };
      case "batch":
        return { type: "batch", result: await this.#batch(request.steps) };
      case "sequence": {
        const sql = this.#resolveSql(request.sql, request.sqlId);
        const analysis = this.#connection.analyze(sql);
        await this.#lockFor(analysis.statements);
        this.#assertOpen();
        this.#connection.executeScript(sql);
        return { type: "sequence" };
      }
      case "describe":
        return { type: "describe", result: this.#connection.describe(this.#resolveSql(request.sql, request.sqlId)) };
      case "store_sql":
        if (this.#sqls.has(request.sqlId)) {
          throw new StoreError("SQL_STORE_TAKEN", `SQL id ${request.sqlId} is already in use`);
        }
        if (this.#sqls.size >= MAX_STORED_SQL) {
          throw new StoreError("SQL_STORE_TOO_MANY", `A stream may store at most ${MAX_STORED_SQL} SQL texts`);
        }
        this.#sqls.set(request.sqlId, request.sql);
        return { type: "store_sql" };
      case "close_sql":
        this.#sqls.delete(request.sqlId);
        return { type: "close_sql" };
      case "get_autocommit":
        return { type: "get_autocommit", is_autocommit: this.#isAutocommit() };
    }
  }

  /** Ends the stream: rolls back an open transaction, gives back the lease and the connection. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.baton = null;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const ownsTransaction = !this.#pool.shared || this.#lease !== null;
    if (ownsTransaction) this.#connection.rollback();
    this.#lease?.release();
    this.#lease = null;
    this.#pool.release(this.#connection);
    this.#sqls.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError("STREAM_CLOSED", "The stream is closed");
  }

  #isAutocommit(): boolean {
    // A shared (in-memory) connection is only ever in this stream's transaction while it holds the lease.
    if (this.#pool.shared && this.#lease === null) return true;
    return !this.#connection.inTransaction;
  }

  #resolveSql(sql: string | undefined, sqlId: number | undefined): string {
    if (sql !== undefined) return sql;
    const stored = sqlId === undefined ? undefined : this.#sqls.get(sqlId);
    if (stored === undefined) throw new StoreError("SQL_NOT_FOUND", `SQL id ${String(sqlId)} is not stored on this stream`);
    return stored;
  }

  #needsLock(statements: readonly StatementInfo[]): boolean {
    if (this.#pool.shared) return true;
    return statements.some((s) => s.writes || s.beginsWrite);
  }

  /** Awaits the write lease if any of `statements` needs it and the stream does not hold it yet. */
  async #lockFor(statements: readonly StatementInfo[]): Promise<void> {
    if (this.#lease !== null || !this.#needsLock(statements)) return;
    await this.#takeLease();
  }

  async #takeLease(): Promise<void> {
    const lease = await this.#queue.acquire();
    if (this.#closed) {
      // Closed (shutdown) while waiting: pass the lock on instead of keeping it.
      lease.release();
      throw new StoreError("STREAM_CLOSED", "The stream was closed while waiting for the write lock");
    }
    this.#lease = lease;
  }

  #releaseIfIdle(): void {
    if (this.#closed) return;
    this.#connection.settle();
    if (this.#lease === null) return;
    if (this.#connection.inTransaction) return;
    this.#lease.release();
    this.#lease = null;
  }

  async #execute(stmt: ProtoStmt): Promise<StmtResult> {
    const sql = this.#resolveSql(stmt.sql, stmt.sqlId);
    const { analysis, info } = this.#connection.single(sql);
    await this.#lockFor([info]);
    this.#assertOpen();
    return this.#run(sql, analysis, info, stmt.args, stmt.namedArgs, stmt.wantRows);
  }

  /**
   * Runs a statement. SQLITE_BUSY outside a transaction means nothing was applied, so the statement is run
   * again, under the write lease, after short waits that never block the event loop (every connection has
   * busy_timeout 0). Two causes: a write the classification missed, refused while another stream writes;
   * and a lock that no stream of this server holds: another process on the file, or the checkpoint thread
   * opening its connection or checkpointing just as a first write starts. The waits are bounded
   * (BUSY_RETRY_DELAYS_MS); past them the client gets the SQLITE_BUSY.
   */
  async #run(
    sql: string,
    analysis: SqlAnalysis,
    info: StatementInfo,
    args: readonly SqlValue[],
    named: readonly { name: string; value: SqlValue }[],
    wantRows: boolean,
  ): Promise<StmtResult> {
    const inTransactionBefore = this.#connection.inTransaction;
    for (let attempt = 0; ; attempt++) {
      try {
        return this.#connection.execute(sql, analysis, info, args, named, wantRows);
      } catch (error) {
        const storeError = toStoreError(error);
        const retriable =
          isBusyError(storeError) && !inTransactionBefore && !this.#connection.inTransaction && attempt < BUSY_RETRY_DELAYS_MS.length;
        if (!retriable) throw storeError;
      }
      if (this.#lease === null) await this.#takeLease();
      // The first retry under a lease just taken needs no wait: the writer that refused us has finished.
      else await sleep(BUSY_RETRY_DELAYS_MS[attempt]!);
      this.#assertOpen();
    }
  }

  async #batch(steps: readonly BatchStep[]): Promise<{ step_results: (StmtResult | null)[]; step_errors: (ProtoError | null)[] }> {
    // Take the lock before the first step when any step may write, so that a BEGIN DEFERRED batch does not
    // read a snapshot that a writer then makes stale (SQLITE_BUSY_SNAPSHOT).
    if (this.#lease === null) {
      const infos: StatementInfo[] = [];
      for (const step of steps) {
        const sql = step.stmt.sql ?? (step.stmt.sqlId === undefined ? undefined : this.#sqls.get(step.stmt.sqlId));
        if (sql !== undefined) infos.push(...this.#connection.analyze(sql).statements);
      }
      await this.#lockFor(infos);
    }
    const results: (StmtResult | null)[] = [];
    const errors: (ProtoError | null)[] = [];
    for (const step of steps) {
      this.#assertOpen();
      if (step.condition !== undefined && !this.#evaluate(step.condition, results, errors)) {
        results.push(null);
        errors.push(null);
        continue;
      }
      try {
        results.push(await this.#execute(step.stmt));
        errors.push(null);
      } catch (error) {
        if (error instanceof StoreError && error.code === "STREAM_CLOSED") throw error;
        results.push(null);
        errors.push(protoErrorOf(error));
      }
    }
    return { step_results: results, step_errors: errors };
  }

  #evaluate(cond: BatchCond, results: readonly (StmtResult | null)[], errors: readonly (ProtoError | null)[]): boolean {
    switch (cond.type) {
      case "ok":
        return results[cond.step] != null;
      case "error":
        return errors[cond.step] != null;
      case "not":
        return !this.#evaluate(cond.cond, results, errors);
      case "and":
        return cond.conds.every((c) => this.#evaluate(c, results, errors));
      case "or":
        return cond.conds.some((c) => this.#evaluate(c, results, errors));
      case "is_autocommit":
        return this.#isAutocommit();
    }
  }
}
