/**
 * Time source for the transaction layer. Every RFC 3261 timer goes through an injected `Clock`, so the
 * state machines run unchanged against real time in production and against a `ManualClock` in tests.
 */

/** Opaque handle returned by `Clock.setTimer`, accepted by `Clock.clearTimer`. */
export interface TimerHandle {
  readonly id: number;
}

/** Monotonic milliseconds plus one-shot timers; the only time API the transaction layer uses. */
export interface Clock {
  /** Milliseconds on a monotonic scale; only differences are meaningful. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds unless cleared first. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  /** Cancels a pending timer; clearing a fired or already cleared timer does nothing. */
  clearTimer(handle: TimerHandle): void;
}

/** A `Clock` on `setTimeout`; its timers are unref'd so pending retransmissions never keep Node alive. */
export class RealClock implements Clock {
  private nextId = 1;
  private readonly timeouts = new Map<number, NodeJS.Timeout>();

  now(): number {
    return performance.now();
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = this.nextId++;
    const timeout = setTimeout(() => {
      this.timeouts.delete(id);
      fn();
    }, ms);
    timeout.unref();
    this.timeouts.set(id, timeout);
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    const timeout = this.timeouts.get(handle.id);
    if (timeout === undefined) return;
    clearTimeout(timeout);
    this.timeouts.delete(handle.id);
  }
}

interface PendingTimer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * A `Clock` that moves only when told: `advance(ms)` fires every timer due by then in due-time order
 * (ties in creation order), including timers set by the callbacks it fires.
 */
export class ManualClock implements Clock {
  private current: number;
  private nextId = 1;
  private readonly pending = new Map<number, PendingTimer>();

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = this.nextId++;
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.pending.set(id, { id, at: this.current + delay, fn });
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    this.pending.delete(handle.id);
  }

  /** Moves time forward by `ms`, firing due timers one by one with `now()` set to each one's due time. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`ManualClock.advance: invalid duration ${ms}`);
    const target = this.current + ms;
    for (let next = this.earliest(target); next !== undefined; next = this.earliest(target)) {
      this.pending.delete(next.id);
      this.current = next.at;
      next.fn();
    }
    this.current = target;
  }

  /** Number of timers set and neither fired nor cleared. */
  pendingCount(): number {
    return this.pending.size;
  }

  private earliest(limit: number): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const timer of this.pending.values()) {
      if (timer.at > limit) continue;
      if (best === undefined || timer.at < best.at || (timer.at === best.at && timer.id < best.id)) best = timer;
    }
    return best;
  }
}
