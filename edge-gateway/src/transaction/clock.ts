/**
 * Time source for the transaction layer. Every RFC 3261 timer goes through an injected `Clock`, so the
 * state machines run unchanged against real time in production and against a `ManualClock` in tests.
 */

declare const timerHandle: unique symbol;

/** Opaque handle returned by `Clock.setTimer`, accepted by `Clock.clearTimer` of the same clock. */
export interface TimerHandle {
  readonly [timerHandle]: true;
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

/**
 * A `Clock` on `setTimeout`; its timers are unref'd so pending retransmissions never keep Node alive. The
 * handle is the Timeout itself: every lingering transaction holds a timer (Timer J: 32 s), so a table of
 * handles beside Node's own timer lists would only cost memory and a hash per timer.
 */
export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timeout = setTimeout(fn, ms);
    timeout.unref();
    return timeout as unknown as TimerHandle;
  }

  clearTimer(handle: TimerHandle): void {
    // clearTimeout of a fired or cleared Timeout does nothing.
    clearTimeout(handle as unknown as NodeJS.Timeout);
  }
}

/** The handles a ManualClock gives out. */
interface ManualHandle {
  readonly id: number;
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
    const handle: ManualHandle = { id };
    return handle as unknown as TimerHandle;
  }

  clearTimer(handle: TimerHandle): void {
    this.pending.delete((handle as unknown as ManualHandle).id);
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
