import type { Clock, TimerHandle } from "./clock";

/**
 * Names of the RFC 3261 transaction timers (Table 4), and "Trying": the 200 ms within which an INVITE server
 * transaction sends 100 (Trying) if its TU has sent nothing (17.2.1).
 */
export type TimerName = "A" | "B" | "D" | "E" | "F" | "G" | "H" | "I" | "J" | "K" | "L" | "M" | "Trying";

/**
 * The running timers of one transaction, by RFC name: starting a timer replaces the one of the same name,
 * and `stopAll` on termination guarantees no callback outlives the transaction.
 *
 * No machine of RFC 3261 section 17 runs more than two timers at once (A and B, E and F, G and H; one of
 * D, I, J, K, L, M while it lingers), so two slots hold them, and a Map only a third, which none starts.
 * Every transaction has a set, and an answered one lingers for Timer J (32 s): a Map per set cost 224 B
 * of each of them, the slots about a fifth of that.
 */
export class TimerSet {
  private name0: TimerName | undefined;
  private handle0: TimerHandle | undefined;
  private name1: TimerName | undefined;
  private handle1: TimerHandle | undefined;
  private more: Map<TimerName, TimerHandle> | undefined;

  constructor(private readonly clock: Clock) {}

  start(name: TimerName, ms: number, fn: () => void): void {
    this.stop(name);
    const handle = this.clock.setTimer(ms, () => {
      // A replaced timer was cleared and cannot fire, but stay defensive about whose handle this is.
      this.forget(name, handle);
      fn();
    });
    if (this.name0 === undefined) {
      this.name0 = name;
      this.handle0 = handle;
    } else if (this.name1 === undefined) {
      this.name1 = name;
      this.handle1 = handle;
    } else {
      (this.more ??= new Map()).set(name, handle);
    }
  }

  stop(name: TimerName): void {
    const handle = this.take(name);
    if (handle !== undefined) this.clock.clearTimer(handle);
  }

  stopAll(): void {
    if (this.handle0 !== undefined) this.clock.clearTimer(this.handle0);
    if (this.handle1 !== undefined) this.clock.clearTimer(this.handle1);
    this.name0 = this.handle0 = this.name1 = this.handle1 = undefined;
    if (this.more === undefined) return;
    for (const handle of this.more.values()) this.clock.clearTimer(handle);
    this.more = undefined;
  }

  /** Names of the timers currently running, for tests and diagnostics. */
  names(): TimerName[] {
    const out: TimerName[] = [];
    if (this.name0 !== undefined) out.push(this.name0);
    if (this.name1 !== undefined) out.push(this.name1);
    if (this.more !== undefined) out.push(...this.more.keys());
    return out;
  }

  /** Takes `name` out of its slot and returns its handle; undefined when it is not running. */
  private take(name: TimerName): TimerHandle | undefined {
    let handle: TimerHandle | undefined;
    if (this.name0 === name) {
      handle = this.handle0;
      this.name0 = this.handle0 = undefined;
    } else if (this.name1 === name) {
      handle = this.handle1;
      this.name1 = this.handle1 = undefined;
    } else if (this.more !== undefined) {
      handle = this.more.get(name);
      this.more.delete(name);
      if (this.more.size === 0) this.more = undefined;
    }
    return handle;
  }

  /** The handle running under `name`; undefined when none is. */
  private handleOf(name: TimerName): TimerHandle | undefined {
    if (this.name0 === name) return this.handle0;
    if (this.name1 === name) return this.handle1;
    return this.more?.get(name);
  }

  /** A timer that fired: out of its slot, if the slot still holds this handle. */
  private forget(name: TimerName, handle: TimerHandle): void {
    if (this.handleOf(name) === handle) this.take(name);
  }
}
