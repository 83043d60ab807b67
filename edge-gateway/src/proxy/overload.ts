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
 *
 * Why the queue bound: when the gateway's own event loop is the bottleneck (the Node runtime makes its
 * decisions in-process), the queue is the socket's receive buffer in the kernel, which none of the counts
 * above can see: every request admitted is answered quickly once read, but read late, past T1. The gateway
 * measures that queue's delay in band (transport/queue-delay.ts). While it is above `maxQueueDelayMs`, a
 * growing share of new out-of-dialog requests is refused at once (a 503 costs a small fraction of a relayed
 * transaction); once the queue is short and the loop has idle time, the share falls to what fits (LoadShedder).
 * A request and its response each wait in it, so the queue must stay under half of T1. It overshoots the
 * bound: a probe reports a delay as old as the delay itself, and the first cut needs two samples over the
 * bound, so at twice capacity the queue peaks 100-250 ms above it. Hence 100 ms, not 150: at 150 the
 * peaks passed 250 ms and clients retransmitted (docs/benchmarks.md, "The receive-queue bound").
 *
 * Why answers to a challenge are spared: a phone registers in two requests, the second answering its PBX's
 * 401. Refusing the second wastes the work done for the first, so while the receive queue is under its
 * bound the load bound admits a request that answers a challenge the gateway relayed, once per challenge
 * (challenge-answers.ts), and its refusals fall on new work.
 */

import { ChallengeAnswers } from "./challenge-answers";

export interface OverloadLimits {
  readonly maxTransactions: number;
  readonly maxPendingDecisions: number;
  /** Longest the oldest worker call in flight may have waited before new requests are refused (ms). */
  readonly maxDecisionWaitMs: number;
  /** Receive-queue delay (ms) above which a growing share of new requests is refused; 0 switches it off. */
  readonly maxQueueDelayMs: number;
}

export const DEFAULT_OVERLOAD_LIMITS: OverloadLimits = { maxTransactions: 10_000, maxPendingDecisions: 1_000, maxDecisionWaitMs: 250, maxQueueDelayMs: 100 };

/**
 * How long a relayed challenge is remembered (between one and two of these): a phone answers at once, and
 * under load its answer waits at most a few hundred ms in the receive queue. A password typed by hand comes
 * later and is treated as any new request.
 */
const CHALLENGE_LIFETIME_MS = 2_000;

export type OverloadReason = "transactions" | "pending_decisions" | "decision_wait";

/**
 * The share of new requests to refuse, steered by samples (one every LOAD_SAMPLE_MS) of the receive queue's
 * delay and of the event loop's utilization:
 * - the queue's delay at or above the bound on two samples running, and not falling: the requests admitted
 *   are cut to bound / delay of what they were (a queue twice too long halves them), and by a step at least:
 *   the queue grows as fast as arrivals exceed what the loop serves, and it must stop growing before
 *   requests wait past T1;
 * - above the bound but falling: held, the queue is draining already (rising on would overshoot, and the
 *   refused share would swing between too much and too little);
 * - after a cut, no further cut for as long as the queue's delay was then: the delay read until then is
 *   that of datagrams queued before the cut, which the cut cannot have shortened, and cutting again on it
 *   cut twice or three times for one excess (the share swung to MAX_SHARE and the loop went idle while the
 *   queue drained; measured, docs/benchmarks.md). A cut too small shows after the hold, and is cut again.
 *   A reading under the bound ends the hold: the backlog is gone, and a rise after it is new load;
 * - under half the bound: the requests admitted grow by a quarter per sample, by a small step at least (a
 *   busy loop with a short queue is no overload; if the load is still too much the queue grows again and the
 *   share rises again), and with the loop below TARGET_UTILIZATION at least to the share that would bring the
 *   loop to the target (admitted load scales the busy time): an overload that has passed leaves an idle loop,
 *   and nothing is refused. Growing by a share of what is admitted, not by a fixed step, brings the admitted
 *   requests from the least (MAX_SHARE) back to all of them in 1.5 s instead of 5: a load that jumps finds the
 *   loop slow for its first second (code not yet optimised for it, the heap growing), and the cut that this
 *   needs must not outlive it by seconds of refusals the loop had time for (measured, docs/benchmarks.md);
 * - drained (under a tenth of the bound) with the loop below the target: the requests admitted at least
 *   double per sample. The share that fits, above, counts the loop's time as the admitted requests' alone,
 *   but while most are refused the refusals take much of it (a 503 costs a fifth of a relayed OPTIONS): after
 *   a cut to MAX_SHARE, the fit alone let a few percent more in per sample while the loop idled (measured,
 *   docs/benchmarks.md);
 * - otherwise (under the bound, not yet short) held.
 *
 * Those rules read a probe's delay, which is as old as the delay itself. Where the queue's delay is read as
 * the queue is now (transport/queue-delay.ts: the bytes queued in the socket's buffer, where the kernel tells,
 * at the loop's current pace), one rule steers instead, from the second sample over the bound until nothing
 * is refused: the admitted requests are divided by 1 + the queue's growth per ms + its distance from half
 * the bound over DRAIN_MS (the entry also needs the probe's delay over the bound: near capacity the reading
 * of the queue now swings with each burst and collection). A queue that grows by 100 ms in a 100 ms sample
 * means the loop gets twice what it serves; a queue that falls means it has room. No hold is needed, as the
 * next sample shows what a cut did;
 * the admitted requests at most double per sample, and at least double with the queue drained and the loop
 * under TARGET_UTILIZATION. Measured against the rules above at twice capacity: the same goodput, about a
 * sixth of the retransmissions, REGISTER's median latency 120 ms instead of 210 (docs/benchmarks.md).
 *
 * A pause is no overload: a full GC of a large heap, or any long task, holds the loop for a few hundred
 * milliseconds, and the datagrams that arrived meanwhile wait as long, but the loop drains them at once. The
 * sampler sees a pause as its own lateness (under load the loop still runs its timers every few ms); for
 * PAUSE_GRACE samples after one the share does not rise.
 */
export class LoadShedder {
  /** The least share of the admitted requests refused on a sample with the queue too long. */
  static readonly STEP_UP = 0.1;
  /** Never everything: a few new requests still get through, so the recovery is seen at once. */
  static readonly MAX_SHARE = 0.98;
  /** Taken from the share per sample with the queue short, at least. */
  static readonly STEP_DOWN = 0.02;
  /** With the queue short, the requests admitted grow by this factor per sample (or by STEP_DOWN, if more). */
  static readonly GROWTH = 1.25;
  /** With the queue drained and the loop below the target, the requests admitted grow by this factor per sample at least. */
  static readonly DRAINED_GROWTH = 2;
  /** The loop's utilization the falling share aims at. */
  static readonly TARGET_UTILIZATION = 0.85;
  /** Within how long (ms) a queue read as it is now is brought back to half the bound. */
  static readonly DRAIN_MS = 500;
  /** A sample this late (ms) follows a pause of the loop. */
  static readonly PAUSE_MS = 75;
  /** Samples after a pause during which the share does not rise. */
  static readonly PAUSE_GRACE = 3;
  private share = 0;
  private lastDelayMs = 0;
  /** Samples running with the queue at or above the bound. */
  private over = 0;
  /** Samples left of the grace after a pause. */
  private grace = 0;
  /** Until when (clock ms) the last cut holds: the delay read before then is the backlog from before it. */
  private heldUntil = -Infinity;
  /** When (clock ms) the last sample of the queue as it is now came. */
  private lastAt: number | undefined;

  constructor(
    private readonly maxQueueDelayMs: number,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * One sample: the receive queue's delay (ms), the loop's utilization (0..1) over the last interval, how
   * late (ms) the sample itself came, and, when the delay is the queue's as it is now (not as a probe found
   * it, one delay ago), what the probe itself reads.
   */
  sample(queueDelayMs: number, utilization: number, lateMs = 0, probeMs?: number): void {
    if (this.maxQueueDelayMs <= 0) return;
    if (lateMs >= LoadShedder.PAUSE_MS) this.grace = LoadShedder.PAUSE_GRACE;
    if (probeMs !== undefined) {
      this.steer(queueDelayMs, utilization, probeMs);
      return;
    }
    const falling = queueDelayMs < this.lastDelayMs;
    this.lastDelayMs = queueDelayMs;
    if (queueDelayMs >= this.maxQueueDelayMs) {
      if (this.grace > 0) {
        this.grace--;
        return;
      }
      this.over++;
      const at = this.now();
      if (this.over >= 2 && !falling && at >= this.heldUntil) {
        const admitted = (1 - this.share) * Math.min(1 - LoadShedder.STEP_UP, this.maxQueueDelayMs / queueDelayMs);
        this.share = Math.min(LoadShedder.MAX_SHARE, 1 - admitted);
        this.heldUntil = at + queueDelayMs;
      }
      return;
    }
    this.over = 0;
    // The backlog from before the last cut has been read: a rise from here is new, and is cut at once.
    this.heldUntil = -Infinity;
    if (this.grace > 0) this.grace--;
    if (this.share === 0 || queueDelayMs >= this.maxQueueDelayMs / 2) return;
    const admitted = 1 - this.share;
    let next = 1 - Math.max(admitted + LoadShedder.STEP_DOWN, admitted * LoadShedder.GROWTH);
    const target = LoadShedder.TARGET_UTILIZATION;
    if (utilization < target) {
      // Admitting (1 - share) of the requests keeps the loop `utilization` busy; (1 - fit) would keep it at the target.
      next = Math.min(next, 1 - (admitted * target) / Math.max(utilization, 0.01));
      if (queueDelayMs < this.maxQueueDelayMs / 10) next = Math.min(next, 1 - admitted * LoadShedder.DRAINED_GROWTH);
    }
    this.share = next < 0.01 ? 0 : next;
  }

  /**
   * With the queue's delay as it is now: the admitted requests scaled by the rate at which the queue grows
   * (a queue that grows by its interval per interval doubles the work the loop gets: halve it) and by its
   * distance from half the bound, to be closed within DRAIN_MS. Overload begins with two samples over the bound.
   */
  private steer(queueDelayMs: number, utilization: number, probeMs: number): void {
    const at = this.now();
    const previous = this.lastDelayMs;
    const interval = this.lastAt === undefined ? 100 : Math.max(1, at - this.lastAt);
    this.lastAt = at;
    this.lastDelayMs = queueDelayMs;
    if (this.grace > 0) {
      this.grace--;
      return;
    }
    // Entering overload takes the probe's word too: near capacity the reading of the queue now swings with
    // each burst and collection, and a refusal there is a call lost that the loop had time for.
    const bound = this.maxQueueDelayMs;
    if (queueDelayMs >= bound && (this.share > 0 || probeMs >= bound)) this.over++;
    else this.over = 0;
    if (this.share === 0 && this.over < 2) return;
    const excess = (queueDelayMs - previous) / interval + (queueDelayMs - bound / 2) / LoadShedder.DRAIN_MS;
    let admitted = (1 - this.share) / Math.max(0.5, 1 + excess);
    // An idle loop with nothing queued: the cut is more than the load needs.
    if (utilization < LoadShedder.TARGET_UTILIZATION && queueDelayMs < bound / 10) {
      admitted = Math.max(admitted, (1 - this.share) * LoadShedder.DRAINED_GROWTH);
    }
    const next = 1 - Math.min(1, admitted);
    this.share = next < 0.01 ? 0 : Math.min(LoadShedder.MAX_SHARE, next);
  }

  /** True while the last sample found the receive queue at or above the bound. */
  get queueLong(): boolean {
    return this.maxQueueDelayMs > 0 && this.lastDelayMs >= this.maxQueueDelayMs;
  }

  /** The share of new requests refused now (0..MAX_SHARE). */
  get refusedShare(): number {
    return this.share;
  }

  /** True for this new request's share of the refusals. */
  refuse(): boolean {
    return this.share > 0 && this.random() < this.share;
  }
}

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
  /** The share of new requests refused for the receive queue's delay (gateway.ts feeds it samples). */
  readonly load: LoadShedder;
  /** Requests whose challenge was relayed: their answers are not refused for the load (challenge-answers.ts). */
  readonly challenges: ChallengeAnswers;

  constructor(
    private readonly limits: OverloadLimits,
    private readonly servers: ServerTransactionCounts,
    private readonly retryAfterS: number,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.load = new LoadShedder(limits.maxQueueDelayMs, random, now);
    this.challenges = new ChallengeAnswers(limits.maxTransactions, CHALLENGE_LIFETIME_MS, now);
  }

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
