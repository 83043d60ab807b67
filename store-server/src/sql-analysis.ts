/**
 * A small SQLite tokenizer, enough to answer what the store server must know before running SQL: where
 * statements end, which parameters a statement has (and the index SQLite gives each), and whether a statement
 * may write. The `libsql` package exposes neither `sqlite3_stmt_readonly` nor parameter names, and it aborts
 * the process when asked to bind by name a statement that has an anonymous `?`, so the server binds by index
 * only and needs the parameter layout from here.
 *
 * Being wrong about "may write" is safe in one direction: a read classed as a write only waits for the write
 * lock. The other direction is covered by the server retrying an autocommit statement under the lock when it
 * gets SQLITE_BUSY.
 */

/** What the server needs to know about one statement. */
export interface StatementInfo {
  /** First keyword, upper case ("" when the statement starts with something else). */
  readonly keyword: string;
  /** The statement may change the database (or is unknown): it must run under the write lock. */
  readonly writes: boolean;
  /** `BEGIN IMMEDIATE` or `BEGIN EXCLUSIVE`: starts a write transaction, so it must take the write lock. */
  readonly beginsWrite: boolean;
  /** `BEGIN ... READONLY` (libSQL's read transaction, which the embedded engine parses but does not enforce). */
  readonly beginsReadOnly: boolean;
  /** The statement is an `EXPLAIN` (nothing is executed). */
  readonly isExplain: boolean;
}

/** The analysis of one SQL text. */
export interface SqlAnalysis {
  /** The non-empty statements, in order. */
  readonly statements: readonly StatementInfo[];
  /** Parameter names by index (index 0 is unused); `null` for an anonymous `?`. */
  readonly paramNames: readonly (string | null)[];
  /** Named (and `?NNN`) parameters with their full spelling (`:a`, `@a`, `$a`, `?3`) mapped to their index. */
  readonly paramIndex: ReadonlyMap<string, number>;
  /** The text contains a NUL character (the engine would silently ignore everything after it). */
  readonly hasNul: boolean;
}

type Token =
  | { kind: "word"; upper: string }
  | { kind: "param"; text: string }
  | { kind: "semi" }
  | { kind: "other"; text: string };

const enum Ch {
  Tab = 9,
  Newline = 10,
  Return = 13,
  Space = 32,
  Quote = 34,
  Hash = 35,
  Dollar = 36,
  Apostrophe = 39,
  ParenOpen = 40,
  ParenClose = 41,
  Star = 42,
  Minus = 45,
  Slash = 47,
  Zero = 48,
  Nine = 57,
  Colon = 58,
  Semicolon = 59,
  Question = 63,
  At = 64,
  BracketOpen = 91,
  BracketClose = 93,
  Underscore = 95,
  Backtick = 96,
}

function isDigit(c: number): boolean {
  return c >= Ch.Zero && c <= Ch.Nine;
}

function isIdStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === Ch.Underscore || c >= 0x80;
}

/** Characters allowed after the first one of an identifier (SQLite also allows `$` there). */
function isIdChar(c: number): boolean {
  return isIdStart(c) || isDigit(c) || c === Ch.Dollar;
}

function isSpace(c: number): boolean {
  return c === Ch.Space || c === Ch.Tab || c === Ch.Newline || c === Ch.Return || c === 11 || c === 12;
}

/** Index just past a quoted run that started at `start` with `quote`; a doubled quote is an escaped one. */
function skipQuoted(sql: string, start: number, quote: number): number {
  let i = start + 1;
  for (;;) {
    const at = sql.indexOf(String.fromCharCode(quote), i);
    if (at < 0) return sql.length;
    if (quote !== Ch.BracketClose && sql.charCodeAt(at + 1) === quote) {
      i = at + 2;
      continue;
    }
    return at + 1;
  }
}

/** Index just past a parameter token (`:name`, `@name`, `$name`, with SQLite's `::` and `(...)` forms). */
function skipNamedParam(sql: string, start: number): number {
  let i = start + 1;
  let nameChars = 0;
  while (i < sql.length) {
    const c = sql.charCodeAt(i);
    if (isIdChar(c)) {
      nameChars++;
      i++;
    } else if (c === Ch.ParenOpen && nameChars > 0) {
      const close = sql.indexOf(")", i);
      return close < 0 ? sql.length : close + 1;
    } else if (c === Ch.Colon && sql.charCodeAt(i + 1) === Ch.Colon) {
      i += 2;
    } else {
      break;
    }
  }
  return i;
}

function* tokenize(sql: string): Generator<Token> {
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (isSpace(c)) {
      i++;
    } else if (c === Ch.Minus && sql.charCodeAt(i + 1) === Ch.Minus) {
      const eol = sql.indexOf("\n", i);
      i = eol < 0 ? n : eol + 1;
    } else if (c === Ch.Slash && sql.charCodeAt(i + 1) === Ch.Star) {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === Ch.Semicolon) {
      i++;
      yield { kind: "semi" };
    } else if (c === Ch.Apostrophe || c === Ch.Quote || c === Ch.Backtick) {
      const end = skipQuoted(sql, i, c);
      yield { kind: "other", text: sql.slice(i, end) };
      i = end;
    } else if (c === Ch.BracketOpen) {
      const end = skipQuoted(sql, i, Ch.BracketClose);
      yield { kind: "other", text: sql.slice(i, end) };
      i = end;
    } else if (c === Ch.Question) {
      let end = i + 1;
      while (end < n && isDigit(sql.charCodeAt(end))) end++;
      yield { kind: "param", text: sql.slice(i, end) };
      i = end;
    } else if (c === Ch.Colon || c === Ch.At || c === Ch.Dollar) {
      const end = skipNamedParam(sql, i);
      if (end === i + 1) {
        yield { kind: "other", text: sql[i] ?? "" };
      } else {
        yield { kind: "param", text: sql.slice(i, end) };
      }
      i = end;
    } else if (isIdStart(c)) {
      let end = i + 1;
      while (end < n && isIdChar(sql.charCodeAt(end))) end++;
      yield { kind: "word", upper: sql.slice(i, end).toUpperCase() };
      i = end;
    } else if (isDigit(c)) {
      // Numbers (including 1e5, 0x1F, 1.5): a run of identifier characters and dots.
      let end = i + 1;
      while (end < n && (isIdChar(sql.charCodeAt(end)) || sql.charCodeAt(end) === 46)) end++;
      yield { kind: "other", text: sql.slice(i, end) };
      i = end;
    } else {
      yield { kind: "other", text: sql[i] ?? "" };
      i++;
    }
  }
}

/** Pragmas that only change the connection (or only read) even when given a value. */
const CONNECTION_PRAGMAS = new Set([
  "analysis_limit",
  "automatic_index",
  "busy_timeout",
  "cache_size",
  "cache_spill",
  "case_sensitive_like",
  "cell_size_check",
  "count_changes",
  "defer_foreign_keys",
  "foreign_keys",
  "full_column_names",
  "hard_heap_limit",
  "ignore_check_constraints",
  "legacy_alter_table",
  "mmap_size",
  "query_only",
  "recursive_triggers",
  "reverse_unordered_selects",
  "short_column_names",
  "soft_heap_limit",
  "temp_store",
  "threads",
  "trusted_schema",
]);

/** Pragmas whose parenthesised argument names what to read, not a value to set. */
const QUERY_PRAGMAS = new Set([
  "foreign_key_check",
  "foreign_key_list",
  "index_info",
  "index_list",
  "index_xinfo",
  "integrity_check",
  "quick_check",
  "table_info",
  "table_list",
  "table_xinfo",
]);

/** Pragmas that write even without an argument. */
const WRITING_PRAGMAS = new Set(["incremental_vacuum", "optimize", "wal_checkpoint"]);

/** Statement keywords that never change the database by themselves. */
const READ_KEYWORDS = new Set([
  "SELECT",
  "VALUES",
  "EXPLAIN",
  "COMMIT",
  "END",
  "ROLLBACK",
  "SAVEPOINT",
  "RELEASE",
  "ATTACH",
  "DETACH",
]);

const DML_WORDS = new Set(["INSERT", "UPDATE", "DELETE", "REPLACE"]);

/** Collects the first tokens of one statement and the few facts the classification needs. */
class StatementBuilder {
  readonly head: Token[] = [];
  tokenCount = 0;
  hasDmlWord = false;
  trigger: "no" | "body" | "after-semi" | "after-end" = "no";

  add(token: Token): void {
    this.tokenCount++;
    if (this.head.length < 6) this.head.push(token);
    if (token.kind === "word" && DML_WORDS.has(token.upper)) this.hasDmlWord = true;
    if (this.trigger === "no" && this.head.length <= 5 && isTriggerHead(this.head)) this.trigger = "body";
    else if (this.trigger === "after-semi") this.trigger = token.kind === "word" && token.upper === "END" ? "after-end" : "body";
    else if (this.trigger === "after-end") this.trigger = "body";
  }

  /** Handles a `;`; returns true when it ends the statement (inside a trigger body only `; END ;` does). */
  semicolon(): boolean {
    if (this.trigger === "no") return true;
    if (this.trigger === "after-end") return true;
    this.trigger = "after-semi";
    return false;
  }

  finish(): StatementInfo {
    return classify(this.head, this.hasDmlWord);
  }
}

function wordAt(tokens: readonly Token[], i: number): string {
  const t = tokens[i];
  return t !== undefined && t.kind === "word" ? t.upper : "";
}

function isTriggerHead(head: readonly Token[]): boolean {
  let i = 0;
  if (wordAt(head, i) === "EXPLAIN") i++;
  if (wordAt(head, i) !== "CREATE") return false;
  i++;
  if (wordAt(head, i) === "TEMP" || wordAt(head, i) === "TEMPORARY") i++;
  return wordAt(head, i) === "TRIGGER";
}

function classifyPragma(head: readonly Token[]): boolean {
  let i = 1;
  let name = wordAt(head, i).toLowerCase();
  const dot = head[i + 1];
  if (dot !== undefined && dot.kind === "other" && dot.text === ".") {
    i += 2;
    name = wordAt(head, i).toLowerCase();
  }
  if (name === "") return true;
  if (WRITING_PRAGMAS.has(name)) return true;
  const next = head[i + 1];
  const hasValue = next !== undefined && next.kind === "other" && (next.text === "=" || next.text === "(");
  if (!hasValue) return false;
  if (CONNECTION_PRAGMAS.has(name)) return false;
  return !(next.kind === "other" && next.text === "(" && QUERY_PRAGMAS.has(name));
}

function classify(head: readonly Token[], hasDmlWord: boolean): StatementInfo {
  const keyword = wordAt(head, 0);
  const isExplain = keyword === "EXPLAIN";
  if (keyword === "BEGIN") {
    const mode = wordAt(head, 1);
    const beginsWrite = mode === "IMMEDIATE" || mode === "EXCLUSIVE";
    const beginsReadOnly = head.some((t) => t.kind === "word" && t.upper === "READONLY");
    return { keyword, writes: false, beginsWrite, beginsReadOnly, isExplain };
  }
  let writes: boolean;
  if (READ_KEYWORDS.has(keyword)) writes = false;
  else if (keyword === "WITH") writes = hasDmlWord;
  else if (keyword === "PRAGMA") writes = classifyPragma(head);
  else writes = true;
  return { keyword, writes, beginsWrite: false, beginsReadOnly: false, isExplain };
}

/**
 * Splits `sql` into statements, classifies each, and lays out the parameters the way SQLite numbers them:
 * `?` takes the next index, `?NNN` takes NNN, and a name takes the next index the first time it appears.
 */
export function analyzeSql(sql: string): SqlAnalysis {
  const statements: StatementInfo[] = [];
  const paramNames: (string | null)[] = [null];
  const paramIndex = new Map<string, number>();
  let maxIndex = 0;
  let current = new StatementBuilder();

  for (const token of tokenize(sql)) {
    if (token.kind === "semi") {
      if (current.tokenCount === 0) continue;
      if (current.semicolon()) {
        statements.push(current.finish());
        current = new StatementBuilder();
      }
      continue;
    }
    current.add(token);
    if (token.kind !== "param") continue;
    if (token.text === "?") {
      maxIndex++;
      paramNames[maxIndex] = null;
      continue;
    }
    let index = paramIndex.get(token.text);
    if (index === undefined) {
      if (token.text.startsWith("?")) {
        index = Number(token.text.slice(1));
        // SQLite rejects such a statement when preparing it; keep the layout small meanwhile.
        if (!Number.isSafeInteger(index) || index < 1 || index > 32766) continue;
      } else {
        index = maxIndex + 1;
      }
      paramIndex.set(token.text, index);
    }
    if (index > maxIndex) {
      for (let k = maxIndex + 1; k < index; k++) paramNames[k] = null;
      maxIndex = index;
    }
    paramNames[index] ??= token.text;
  }
  if (current.tokenCount > 0) statements.push(current.finish());
  return { statements, paramNames, paramIndex, hasNul: sql.includes("\u0000") };
}
