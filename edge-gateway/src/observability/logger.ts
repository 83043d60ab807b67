/**
 * JSON logs, one object per line (`{"level":"info","t":"<ISO time>",...fields,"msg":"..."}`), written by
 * pino. Two properties matter under a flood:
 *
 * - Writing never blocks the event loop: stdout is a pino (sonic-boom) destination with `sync: false`, whose
 *   buffer is bounded (lines beyond it are dropped, not queued without end); `flush()` drains it on close.
 * - A message kind (level + message text) that fires per datagram cannot flood the log: each kind has a
 *   token bucket (a burst, then a steady rate); lines over it are counted, and a "log lines suppressed"
 *   summary with the count per kind follows within SUMMARY_MS.
 *
 * The Logger interface is what the rest of the gateway uses; only this file knows pino.
 */
import pino from "pino";

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** A logger its owner can flush (on close): what createLogger returns. */
export interface FlushableLogger extends Logger {
  /** Writes the pending "suppressed" summary and waits until everything written so far is out. */
  flush(): Promise<void>;
}

export interface LoggerOptions {
  /** Lines of one kind let through at once (default 20). */
  readonly burst?: number;
  /** Lines of one kind per second after the burst (default 5). */
  readonly perSecond?: number;
  /** Monotonic milliseconds (tests). */
  readonly now?: () => number;
  /** File descriptor or path for the asynchronous destination when no `write` is given (default 1, stdout). */
  readonly dest?: number | string;
}

/** Delay between the first suppressed line and the summary that counts them. */
const SUMMARY_MS = 10_000;
/** Kinds tracked at most (messages are constant strings in the code; this only bounds a mistake). */
const MAX_KINDS = 1000;
/** Bound on waiting for the destination to drain on close. */
const FLUSH_BOUND_MS = 2000;
/** Bound on the asynchronous destination's buffer: past it lines are dropped rather than held. */
const MAX_BUFFER = 16 * 1024 * 1024;

interface Bucket {
  tokens: number;
  last: number;
  suppressed: number;
}

/**
 * A logger writing JSON lines through pino: to `write` when given (tests, a log file of the caller's), else
 * asynchronously to stdout (or `options.dest`).
 */
export function createLogger(level: LogLevel, write?: (line: string) => void, options: LoggerOptions = {}): FlushableLogger {
  const destination = write
    ? undefined
    : pino.destination({ dest: options.dest ?? 1, sync: false, maxLength: MAX_BUFFER, mkdir: typeof options.dest === "string" });
  const stream: pino.DestinationStream = destination ?? { write: (s: string) => write!(s.endsWith("\n") ? s.slice(0, -1) : s) };
  const p = pino(
    {
      level,
      base: undefined,
      timestamp: () => `,"t":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );

  const burst = options.burst ?? 20;
  const perSecond = options.perSecond ?? 5;
  const now = options.now ?? (() => performance.now());
  const buckets = new Map<string, Bucket>();
  let summaryTimer: ReturnType<typeof setTimeout> | undefined;

  const summarize = (): void => {
    if (summaryTimer) clearTimeout(summaryTimer);
    summaryTimer = undefined;
    const kinds: Record<string, number> = {};
    let total = 0;
    for (const [kind, b] of buckets) {
      if (b.suppressed === 0) continue;
      kinds[kind] = b.suppressed;
      total += b.suppressed;
      b.suppressed = 0;
    }
    if (total > 0) p.warn({ suppressed: total, kinds }, "log lines suppressed");
  };

  /** Whether a line of `kind` may be written now; counts it as suppressed otherwise. */
  const allow = (kind: string): boolean => {
    const t = now();
    let b = buckets.get(kind);
    if (!b) {
      if (buckets.size >= MAX_KINDS) buckets.clear();
      b = { tokens: burst, last: t, suppressed: 0 };
      buckets.set(kind, b);
    }
    b.tokens = Math.min(burst, b.tokens + ((t - b.last) / 1000) * perSecond);
    b.last = t;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return true;
    }
    b.suppressed++;
    if (!summaryTimer) {
      summaryTimer = setTimeout(summarize, SUMMARY_MS);
      summaryTimer.unref?.();
    }
    return false;
  };

  const at =
    (lvl: LogLevel) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      // Below the threshold costs nothing, not even a token.
      if (!p.isLevelEnabled(lvl)) return;
      if (!allow(`${lvl} ${msg}`)) return;
      if (fields) p[lvl](fields, msg);
      else p[lvl](msg);
    };

  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    flush: () =>
      new Promise<void>((resolve) => {
        summarize();
        if (!destination) return resolve();
        // Bounded: closing never hangs on a stuck stdout.
        const bound = setTimeout(resolve, FLUSH_BOUND_MS);
        bound.unref?.();
        const done = (): void => {
          clearTimeout(bound);
          resolve();
        };
        // sonic-boom's flush() does not wait with minLength 0; its "drain" event does, once the lines queued
        // so far are written. Whether any are queued is only in its (pinned version's) private fields.
        const d = destination as unknown as { fd: number; _writing?: boolean; _len?: number };
        const drain = (): void => {
          if (d._writing === true || (d._len ?? 0) > 0) destination.once("drain", done);
          else done();
        };
        if (d.fd >= 0) drain();
        else destination.once("ready", drain);
      }),
  };
}
