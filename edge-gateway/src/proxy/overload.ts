/**
 * Overload control: the gateway's state is bounded. Past `maxTransactions` server transactions still in
 * progress (not yet answered), past `maxPendingDecisions` worker calls in flight, or while the oldest call in
 * flight has waited longer than `maxDecisionWaitMs`, NEW requests are refused with 503 and a jittered
 * Retry-After (RFC 3261 21.5.4, 20.33; the jitter spreads the retries of many clients refused at once), sent
 * statelessly and once. Retransmissions of requests in progress still reach their transactions.
 *
 * Why the wait bound: a count of calls in flight lets a queue of seconds build up before it binds, longer
 * than a client's retransmission interval (T1 = 500 ms), and then every request is retransmitted and the
 * goodput collapses (measured, docs/benchmarks.md). Refusing while the queue stays older than a fraction of
 * T1 keeps the work admitted answerable in time. "Stays": as in CoDel, the queue must have been too old for a
 * whole interval (4 x the bound, 1 s by default) before requests are refused, so that a burst (a scanner's
 * first requests before the flood limit blocks it) delays a phone's REGISTER instead of refusing it.
 */

export interface OverloadLimits {
  readonly maxTransactions: number;
  readonly maxPendingDecisions: number;
  /** Longest the oldest worker call in flight may have waited before new requests are refused (ms). */
  readonly maxDecisionWaitMs: number;
}

export const DEFAULT_OVERLOAD_LIMITS: OverloadLimits = { maxTransactions: 10_000, maxPendingDecisions: 1_000, maxDecisionWaitMs: 250 };

export type OverloadReason = "transactions" | "pending_decisions" | "decision_wait";

/** How the guard sees the transaction layer: all server transactions, and those still in progress. */
export interface ServerTransactionCounts {
  total(): number;
  inProgress(): number;
}

export class OverloadGuard {
  /** Start times of the calls in flight, oldest first (a Map keeps insertion order). */
  private readonly started = new Map<number, number>();
  private nextId = 0;
  /** Since when the oldest call in flight has been older than the bound; undefined while it is not. */
  private tooOldSince: number | undefined;

  constructor(
    private readonly limits: OverloadLimits,
    private readonly servers: ServerTransactionCounts,
    private readonly retryAfterS: number,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Why a new request must be refused now, or undefined when it may be taken. */
  refusal(needsDecision: boolean): OverloadReason | undefined {
    // The total bounds the in-progress count from above: the scan runs only when the total is high.
    if (this.servers.total() >= this.limits.maxTransactions && this.servers.inProgress() >= this.limits.maxTransactions) {
      return "transactions";
    }
    if (needsDecision && this.started.size >= this.limits.maxPendingDecisions) return "pending_decisions";
    if (needsDecision && this.queueTooOld()) return "decision_wait";
    return undefined;
  }

  /** True once the oldest call in flight has been older than the bound for a whole interval. */
  private queueTooOld(): boolean {
    const now = this.now();
    if (this.oldestWaitMs() <= this.limits.maxDecisionWaitMs) {
      this.tooOldSince = undefined;
      return false;
    }
    this.tooOldSince ??= now;
    return now - this.tooOldSince >= 4 * this.limits.maxDecisionWaitMs;
  }

  /** How long the oldest call in flight has waited (ms); 0 when none is. */
  oldestWaitMs(): number {
    for (const start of this.started.values()) return this.now() - start;
    return 0;
  }

  /** True when one more worker call may start (a response decision has no request to refuse). */
  canDecide(): boolean {
    return this.started.size < this.limits.maxPendingDecisions;
  }

  /** Worker calls in flight. */
  get pendingDecisions(): number {
    return this.started.size;
  }

  /** Counts a worker call for its whole duration. */
  track<T>(call: Promise<T>): Promise<T> {
    const id = this.nextId++;
    this.started.set(id, this.now());
    return call.finally(() => this.started.delete(id));
  }

  /** Retry-After in seconds: the configured value plus up to as much again, at random. */
  retryAfter(): string {
    return String(this.retryAfterS + Math.floor(this.random() * (this.retryAfterS + 1)));
  }
}
