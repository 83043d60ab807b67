/**
 * The Hrana v2 stream requests that arrive over HTTP, as typed values, and their decoding from untrusted
 * JSON. A malformed request becomes a `StoreError` (`PROTO_ERROR` or `ARGS_INVALID`) that fails only that
 * request; the rest of the pipeline still runs.
 */
import { valueFromHrana, type SqlValue } from "./hrana-values";
import { StoreError } from "./store-error";

/** A statement: SQL text or a stored SQL id, with decoded arguments. */
export interface ProtoStmt {
  readonly sql: string | undefined;
  readonly sqlId: number | undefined;
  readonly args: readonly SqlValue[];
  readonly namedArgs: readonly { readonly name: string; readonly value: SqlValue }[];
  readonly wantRows: boolean;
}

/** A batch step condition. */
export type BatchCond =
  | { readonly type: "ok" | "error"; readonly step: number }
  | { readonly type: "not"; readonly cond: BatchCond }
  | { readonly type: "and" | "or"; readonly conds: readonly BatchCond[] }
  | { readonly type: "is_autocommit" };

/** One batch step. */
export interface BatchStep {
  readonly condition: BatchCond | undefined;
  readonly stmt: ProtoStmt;
}

/** A stream request. */
export type StreamRequest =
  | { readonly type: "close" }
  | { readonly type: "execute"; readonly stmt: ProtoStmt }
  | { readonly type: "batch"; readonly steps: readonly BatchStep[] }
  | { readonly type: "sequence"; readonly sql: string | undefined; readonly sqlId: number | undefined }
  | { readonly type: "describe"; readonly sql: string | undefined; readonly sqlId: number | undefined }
  | { readonly type: "store_sql"; readonly sqlId: number; readonly sql: string }
  | { readonly type: "close_sql"; readonly sqlId: number }
  | { readonly type: "get_autocommit" };

/** The statement result sent back for `execute` and for each batch step. */
export interface StmtResult {
  cols: { name: string | null; decltype: string | null }[];
  rows: unknown[][];
  affected_row_count: number;
  last_insert_rowid: string | null;
}

/** The wire form of an error. */
export interface ProtoError {
  message: string;
  code: string;
}

const MAX_COND_DEPTH = 64;

function protoError(message: string): StoreError {
  return new StoreError("PROTO_ERROR", message);
}

function asObject(raw: unknown, what: string): Record<string, unknown> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw protoError(`${what} must be an object`);
  return raw as Record<string, unknown>;
}

function optionalString(obj: Record<string, unknown>, key: string): string | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw protoError(`"${key}" must be a string`);
  return value;
}

function optionalSqlId(obj: Record<string, unknown>): number | undefined {
  const value = obj["sql_id"];
  if (value === undefined || value === null) return undefined;
  return sqlIdOf(value);
}

function sqlIdOf(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
    throw protoError('"sql_id" must be a non-negative 32-bit integer');
  }
  return value;
}

function sqlSource(obj: Record<string, unknown>): { sql: string | undefined; sqlId: number | undefined } {
  const sql = optionalString(obj, "sql");
  const sqlId = optionalSqlId(obj);
  if (sql !== undefined && sqlId !== undefined) throw protoError('Give either "sql" or "sql_id", not both');
  if (sql === undefined && sqlId === undefined) throw protoError('Give "sql" or "sql_id"');
  return { sql, sqlId };
}

function decodeStmt(raw: unknown): ProtoStmt {
  const obj = asObject(raw, "stmt");
  const { sql, sqlId } = sqlSource(obj);
  const rawArgs = obj["args"] ?? [];
  if (!Array.isArray(rawArgs)) throw protoError('"args" must be an array');
  const rawNamed = obj["named_args"] ?? [];
  if (!Array.isArray(rawNamed)) throw protoError('"named_args" must be an array');
  const args = rawArgs.map(valueFromHrana);
  const namedArgs = rawNamed.map((entry: unknown) => {
    const named = asObject(entry, "A named argument");
    const name = named["name"];
    if (typeof name !== "string" || name === "") throw protoError("A named argument needs a non-empty name");
    return { name, value: valueFromHrana(named["value"]) };
  });
  const wantRows = obj["want_rows"];
  if (wantRows !== undefined && wantRows !== null && typeof wantRows !== "boolean") {
    throw protoError('"want_rows" must be a boolean');
  }
  return { sql, sqlId, args, namedArgs, wantRows: wantRows !== false };
}

function decodeCond(raw: unknown, stepIndex: number, depth: number): BatchCond {
  if (depth > MAX_COND_DEPTH) throw protoError("Batch condition is nested too deeply");
  const obj = asObject(raw, "A batch condition");
  const type = obj["type"];
  switch (type) {
    case "ok":
    case "error": {
      const step = obj["step"];
      if (typeof step !== "number" || !Number.isInteger(step) || step < 0 || step >= stepIndex) {
        throw protoError(`Batch step ${stepIndex}: a condition may only refer to an earlier step`);
      }
      return { type, step };
    }
    case "not":
      return { type, cond: decodeCond(obj["cond"], stepIndex, depth + 1) };
    case "and":
    case "or": {
      const conds = obj["conds"];
      if (!Array.isArray(conds)) throw protoError(`"${type}" condition needs "conds"`);
      return { type, conds: conds.map((c: unknown) => decodeCond(c, stepIndex, depth + 1)) };
    }
    case "is_autocommit":
      return { type };
    default:
      throw protoError(`Unknown batch condition type ${JSON.stringify(type)}`);
  }
}

function decodeBatch(raw: unknown): BatchStep[] {
  const batch = asObject(raw, "batch");
  const steps = batch["steps"];
  if (!Array.isArray(steps)) throw protoError('"batch.steps" must be an array');
  return steps.map((rawStep: unknown, index: number) => {
    const step = asObject(rawStep, "A batch step");
    const rawCond = step["condition"];
    const condition = rawCond === undefined || rawCond === null ? undefined : decodeCond(rawCond, index, 0);
    return { condition, stmt: decodeStmt(step["stmt"]) };
  });
}

/** Decodes one entry of a pipeline's `requests`; throws a `StoreError` when it is malformed. */
export function decodeStreamRequest(raw: unknown): StreamRequest {
  const obj = asObject(raw, "A request");
  const type = obj["type"];
  switch (type) {
    case "close":
    case "get_autocommit":
      return { type };
    case "execute":
      return { type, stmt: decodeStmt(obj["stmt"]) };
    case "batch":
      return { type, steps: decodeBatch(obj["batch"]) };
    case "sequence":
    case "describe":
      return { type, ...sqlSource(obj) };
    case "store_sql": {
      const sql = obj["sql"];
      if (typeof sql !== "string") throw protoError('"store_sql" needs "sql"');
      return { type, sqlId: sqlIdOf(obj["sql_id"]), sql };
    }
    case "close_sql":
      return { type, sqlId: sqlIdOf(obj["sql_id"]) };
    default:
      throw protoError(`Unknown request type ${JSON.stringify(type)}`);
  }
}
