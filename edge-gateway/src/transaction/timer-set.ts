import type { Clock, TimerHandle } from "./clock";

/** Names of the RFC 3261 transaction timers (Table 4). */
export type TimerName = "A" | "B" | "D" | "E" | "F" | "G" | "H" | "I" | "J" | "K" | "L" | "M";

interface Running {
  readonly name: TimerName;
  readonly handle: TimerHandle;
}

/**
 * The running timers of one transaction, by RFC name: starting a timer replaces the one of the same name,
 * and `stopAll` on termination guarantees no callback outlives the transaction. A transaction runs at most
 * three at once, so they are kept in a short list (a Map per transaction cost more memory than the
 * lingering transaction itself keeps).
 */
export class TimerSet {
  private running: Running[] = [];

  constructor(private readonly clock: Clock) {}

  start(name: TimerName, ms: number, fn: () => void): void {
    this.stop(name);
    const handle = this.clock.setTimer(ms, () => {
      // A replaced timer was cleared and cannot fire, but stay defensive about whose handle this is.
      const i = this.running.findIndex((r) => r.handle === handle);
      if (i >= 0) this.running.splice(i, 1);
      fn();
    });
    this.running.push({ name, handle });
  }

  stop(name: TimerName): void {
    const i = this.running.findIndex((r) => r.name === name);
    if (i < 0) return;
    this.clock.clearTimer(this.running[i]!.handle);
    this.running.splice(i, 1);
  }

  stopAll(): void {
    for (const r of this.running) this.clock.clearTimer(r.handle);
    this.running = [];
  }

  /** Names of the timers currently running, in the order they were started, for tests and diagnostics. */
  names(): TimerName[] {
    return this.running.map((r) => r.name);
  }
}
