/**
 * The gateway's life around the proxy core (docs/operations.md):
 *
 * - readiness (`/ready`): the sockets are bound, the worker (and through it the store) answered at least
 *   once, and the gateway is not draining. A signed probe of the worker's `/v1/ping` runs from the start until
 *   it first succeeds, so that an idle gateway becomes ready without waiting for a phone; any successful
 *   worker call counts as well.
 * - the drain on SIGTERM: new out-of-dialog requests get 503 + Retry-After, transactions in progress run on
 *   until they have their final response or the bound passes (then they are ended with one), a short linger
 *   lets the ACKs of those answers through, then the gateway closes and the process exits 0.
 */
import { signRequestSync } from "./worker-client/worker-client";
import { PING_PATH } from "../../contract/v1";
import type { Logger } from "./observability/logger";

/** What /ready reports. */
export interface Readiness {
  readonly ready: boolean;
  readonly sockets: boolean;
  /** The worker answered (a probe or a real call) at least once since start. */
  readonly worker: boolean;
  readonly draining: boolean;
}

/** One readiness check of the decision side: undefined when it answered, else why not. */
export type Ping = () => Promise<string | undefined>;

/**
 * The ping of the `workers` runtime: a signed `POST /v1/ping` (contract PING_PATH) to the worker, which
 * checks the signature and runs `SELECT 1` on its store. A runtime that makes its decisions in process
 * passes its own Ping (its store's) instead.
 */
export function workerHttpPing(url: string, secret: string, timeoutMs: number): Ping {
  const base = new URL(url);
  const path = base.pathname.replace(/\/$/, "") + PING_PATH;
  return async () => {
    try {
      // Signed as the worker client signs its calls (synchronously, off libuv's thread pool).
      const headers = signRequestSync(secret, path, "{}", Date.now());
      const res = await fetch(new URL(path, base.origin), {
        method: "POST",
        body: "{}",
        headers: { ...headers, "content-type": "application/json" },
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body?.cancel();
      // 401: the secrets differ; 503: the worker cannot reach its store.
      return res.status === 200 ? undefined : `HTTP ${res.status}`;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  };
}

export interface WorkerProbeOptions {
  readonly ping: Ping;
  /** Where the decisions are made, for the logs. */
  readonly target: string;
  /** First retry delay; doubled after each failure up to `maxIntervalMs`. */
  readonly intervalMs?: number;
  readonly maxIntervalMs?: number;
  readonly log: Logger;
}

/** Pings until the first success; `reached` is true from then on. */
export class WorkerProbe {
  private reachedOnce = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(private readonly o: WorkerProbeOptions) {}

  get reached(): boolean {
    return this.reachedOnce;
  }

  /** A successful worker call seen elsewhere counts as reaching it. */
  markReached(): void {
    this.reachedOnce = true;
    this.stop();
  }

  start(): void {
    void this.attempt(this.o.intervalMs ?? 500);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async attempt(delay: number): Promise<void> {
    if (this.stopped) return;
    const failure = await this.o.ping();
    if (this.stopped) return;
    if (failure === undefined) {
      this.o.log.info("worker reached", { target: this.o.target });
      this.markReached();
      return;
    }
    this.o.log.warn("worker not reachable yet", { target: this.o.target, error: failure, retryInMs: delay });
    this.timer = setTimeout(() => void this.attempt(Math.min(delay * 2, this.o.maxIntervalMs ?? 10_000)), delay);
  }
}

/** What the drain needs of the proxy core. */
export interface Drainable {
  startDraining(): void;
  unansweredCount(): number;
  endUnanswered(): number;
}

export interface DrainResult {
  /** Milliseconds from the start of the drain until nothing was left unanswered. */
  readonly waitedMs: number;
  /** Transactions ended with a final response at the bound (0 when everything finished by itself). */
  readonly ended: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Drains `core`: refuses new work at once, waits (polling every `pollMs`) until every transaction has its
 * final response or `boundMs` passed, ends the rest, then lingers `lingerMs` for the ACKs and 2xx
 * retransmissions of the last answers (RFC 3261 13.3.1.4: the UAS retransmits its 2xx until the ACK).
 */
export async function drain(core: Drainable, boundMs: number, lingerMs: number, log: Logger, pollMs = 50): Promise<DrainResult> {
  const start = Date.now();
  core.startDraining();
  log.info("draining", { unanswered: core.unansweredCount(), boundMs });
  while (core.unansweredCount() > 0 && Date.now() - start < boundMs) await sleep(pollMs);
  const waitedMs = Date.now() - start;
  const ended = core.endUnanswered();
  if (ended > 0) log.warn("drain bound reached: transactions ended with 503", { ended, boundMs });
  await sleep(lingerMs);
  log.info("drained", { waitedMs, ended });
  return { waitedMs, ended };
}

/**
 * The process's signal handling: the first SIGTERM or SIGINT drains and closes the gateway, then exits 0;
 * a second one closes at once (an operator who will not wait).
 */
export function exitOnSignals(gateway: { drain(): Promise<DrainResult>; close(): Promise<void> }): void {
  let stopping = false;
  let closing = false;
  const onSignal = (): void => {
    const closeAndExit = (): void => {
      if (closing) return;
      closing = true;
      void gateway.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    if (stopping) {
      closeAndExit();
      return;
    }
    stopping = true;
    void gateway.drain().then(closeAndExit, closeAndExit);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
