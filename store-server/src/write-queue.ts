/**
 * An asynchronous FIFO lock for the database's single writer.
 *
 * The `libsql` API is synchronous, so a connection that waited on SQLite's own lock (busy timeout) would
 * block the event loop, and with it the stream that holds the lock and would release it. Instead every
 * stream that is about to write awaits a lease from this queue; SQLite never sees two writers at once.
 */
import { StoreError } from "./store-error";

/** Proof of holding the write lock; `release()` hands it to the next waiter and is safe to call twice. */
export interface WriteLease {
  readonly released: boolean;
  release(): void;
}

interface Waiter {
  readonly grant: (lease: WriteLease) => void;
  readonly fail: (error: unknown) => void;
}

/** The FIFO write lock: one lease at a time, handed to waiters in arrival order. */
export class WriteQueue {
  #holder: WriteLease | null = null;
  #waiters: Waiter[] = [];
  #head = 0;
  #closedWith: StoreError | null = null;

  /** True while some stream holds the lease. */
  get isHeld(): boolean {
    return this.#holder !== null;
  }

  /** How many acquirers are waiting. */
  get waiting(): number {
    return this.#waiters.length - this.#head;
  }

  /** Resolves with the lease once every earlier acquirer has released it; rejects after `close()`. */
  acquire(): Promise<WriteLease> {
    if (this.#closedWith !== null) return Promise.reject(this.#closedWith);
    if (this.#holder === null && this.waiting === 0) {
      return Promise.resolve(this.#grantNew());
    }
    return new Promise<WriteLease>((grant, fail) => {
      this.#waiters.push({ grant, fail });
    });
  }

  /** Rejects every waiter and all later `acquire()` calls; the current lease stays valid until released. */
  close(reason = "The store server is shutting down"): void {
    if (this.#closedWith !== null) return;
    this.#closedWith = new StoreError("SERVER_SHUTTING_DOWN", reason, 503);
    const waiters = this.#waiters.slice(this.#head);
    this.#waiters = [];
    this.#head = 0;
    for (const waiter of waiters) waiter.fail(this.#closedWith);
  }

  #grantNew(): WriteLease {
    let released = false;
    const lease: WriteLease = {
      get released() {
        return released;
      },
      release: () => {
        if (released) return;
        released = true;
        if (this.#holder === lease) this.#handOver();
      },
    };
    this.#holder = lease;
    return lease;
  }

  #handOver(): void {
    this.#holder = null;
    const next = this.#waiters[this.#head];
    if (next === undefined) return;
    this.#waiters[this.#head] = undefined as unknown as Waiter;
    this.#head++;
    if (this.#head === this.#waiters.length) {
      this.#waiters = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
      this.#waiters = this.#waiters.slice(this.#head);
      this.#head = 0;
    }
    // The lease is assigned now, before the waiter's continuation runs, so nobody can barge in between.
    next.grant(this.#grantNew());
  }
}
