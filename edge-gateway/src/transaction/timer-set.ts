import type { Clock, TimerHandle } from "./clock";

/** Names of the RFC 3261 transaction timers (Table 4). */
export type TimerName = "A" | "B" | "D" | "E" | "F" | "G" | "H" | "I" | "J" | "K" | "L" | "M";

/**
 * The running timers of one transaction, by RFC name: starting a timer replaces the one of the same name,
 * and `stopAll` on termination guarantees no callback outlives the transaction.
 */
export class TimerSet {
  private readonly running = new Map<TimerName, TimerHandle>();

  constructor(private readonly clock: Clock) {}

  start(name: TimerName, ms: number, fn: () => void): void {
    this.stop(name);
    const handle = this.clock.setTimer(ms, () => {
      // A replaced timer was cleared and cannot fire, but stay defensive about whose handle this is.
      if (this.running.get(name) === handle) this.running.delete(name);
      fn();
    });
    this.running.set(name, handle);
  }

  stop(name: TimerName): void {
    const handle = this.running.get(name);
    if (handle === undefined) return;
    this.clock.clearTimer(handle);
    this.running.delete(name);
  }

  stopAll(): void {
    for (const handle of this.running.values()) this.clock.clearTimer(handle);
    this.running.clear();
  }

  /** Names of the timers currently running, for tests and diagnostics. */
  names(): TimerName[] {
    return [...this.running.keys()];
  }
}
