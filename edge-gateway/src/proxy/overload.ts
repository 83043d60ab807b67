/**
 * Overload control: the gateway's state is bounded. Past `maxTransactions` live server transactions or
 * `maxPendingDecisions` worker calls in flight, NEW requests are refused with 503 and a jittered
 * Retry-After (RFC 3261 21.5.4, 20.33; the jitter spreads the retries of many clients refused at once),
 * sent statelessly and once. Retransmissions of requests in progress still reach their transactions.
 */

export interface OverloadLimits {
  readonly maxTransactions: number;
  readonly maxPendingDecisions: number;
}

export const DEFAULT_OVERLOAD_LIMITS: OverloadLimits = { maxTransactions: 10_000, maxPendingDecisions: 1_000 };

export type OverloadReason = "transactions" | "pending_decisions";

export class OverloadGuard {
  private pending = 0;

  constructor(
    private readonly limits: OverloadLimits,
    private readonly serverTransactions: () => number,
    private readonly retryAfterS: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** Why a new request must be refused now, or undefined when it may be taken. */
  refusal(needsDecision: boolean): OverloadReason | undefined {
    if (this.serverTransactions() >= this.limits.maxTransactions) return "transactions";
    if (needsDecision && this.pending >= this.limits.maxPendingDecisions) return "pending_decisions";
    return undefined;
  }

  /** True when one more worker call may start (a response decision has no request to refuse). */
  canDecide(): boolean {
    return this.pending < this.limits.maxPendingDecisions;
  }

  /** Worker calls in flight. */
  get pendingDecisions(): number {
    return this.pending;
  }

  /** Counts a worker call for its whole duration. */
  track<T>(call: Promise<T>): Promise<T> {
    this.pending++;
    return call.finally(() => this.pending--);
  }

  /** Retry-After in seconds: the configured value plus up to as much again, at random. */
  retryAfter(): string {
    return String(this.retryAfterS + Math.floor(this.random() * (this.retryAfterS + 1)));
  }
}
