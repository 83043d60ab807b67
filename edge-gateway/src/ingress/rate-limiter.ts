/**
 * Per-source rate limiting in the manner of Kamailio's pike module: a source that sends more than `density`
 * datagrams within a sampling window of `windowMs` is blocked for `blockMs`; a source that keeps sending
 * above the density while blocked stays blocked (the block is renewed), one that calms down is let in again
 * once the block has run out.
 *
 * The count over the window is a sliding estimate from two fixed windows (the previous one weighted by how
 * much of it still overlaps), so a burst straddling a window boundary is not let through twice. Each datagram
 * costs one Map lookup and a few arithmetic operations.
 *
 * Memory is bounded: at most `maxSources` entries, in a ring. A new source beyond that takes the slot under
 * the CLOCK hand, except that a blocked entry, or one that sent more than once within the last window, gets a second chance (it
 * is passed over by the CLOCK hand), a bounded number of times per insertion (O(1)): a flood of
 * spoofed one-off sources evicts its own one-off entries, while a source that is really sending (a blocked
 * flooder, a phone) stays.
 */

export interface RateLimiterOptions {
  /** Sampling window (ms). */
  readonly windowMs: number;
  /** Datagrams allowed per window and source. */
  readonly density: number;
  /** How long a source stays blocked (ms). */
  readonly blockMs: number;
  /** Entries kept at most. */
  readonly maxSources: number;
}

/** What the limiter says about one datagram. */
export type Verdict =
  /** Within the density. */
  | "ok"
  /** This datagram takes the source over the density: the caller decides (exempt, or block()). */
  | "over"
  /** The source is blocked. */
  | "blocked";

interface Entry {
  /** Start of the current fixed window. */
  start: number;
  /** Count in the previous and in the current window. */
  prev: number;
  cur: number;
  /** Blocked until this time; 0 when not blocked. */
  blockedUntil: number;
  lastSeen: number;
  /** Index in the ring. */
  readonly slot: number;
}

/** Second chances given per insertion at most, so that eviction stays O(1). */
const SECOND_CHANCES = 8;

export class SourceRateLimiter {
  private readonly entries = new Map<string, Entry>();
  /** The keys in the order of their slots; the CLOCK hand walks it when an entry must go. */
  private readonly ring: (string | undefined)[] = [];
  private hand = 0;

  constructor(private readonly o: RateLimiterOptions) {}

  /** Counts one datagram from `key` at `now` (ms, monotonic). */
  hit(key: string, now: number): Verdict {
    let e = this.entries.get(key);
    if (!e) {
      e = { start: now, prev: 0, cur: 0, blockedUntil: 0, lastSeen: now, slot: this.slotFor(key, now) };
      this.entries.set(key, e);
    }
    const w = this.o.windowMs;
    const elapsed = now - e.start;
    if (elapsed >= w) {
      const windows = Math.floor(elapsed / w);
      e.prev = windows === 1 ? e.cur : 0;
      e.cur = 0;
      e.start += windows * w;
    }
    e.cur++;
    e.lastSeen = now;
    // The weighted previous window is a fraction: a steady source right at the density lands on it give or
    // take a rounding error, which must not count as a datagram too many.
    const estimate = e.cur + e.prev * (1 - (now - e.start) / w) - 1e-9;
    if (e.blockedUntil !== 0) {
      if (now < e.blockedUntil) {
        // Still flooding: the block goes on (pike's behaviour: a source is let in once it calms down).
        if (estimate > this.o.density) e.blockedUntil = now + this.o.blockMs;
        return "blocked";
      }
      e.blockedUntil = 0;
    }
    return estimate > this.o.density ? "over" : "ok";
  }

  /** Blocks `key` from `now` for the block time. */
  block(key: string, now: number): void {
    const e = this.entries.get(key);
    if (e) e.blockedUntil = now + this.o.blockMs;
  }

  /** Forgets `key` (an exempt source: its counts start again from zero, it is never blocked). */
  release(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.ring[e.slot] = undefined;
  }

  /** Whether `key` is blocked at `now`. */
  isBlocked(key: string, now: number): boolean {
    const e = this.entries.get(key);
    return e !== undefined && e.blockedUntil !== 0 && now < e.blockedUntil;
  }

  /** Sources blocked at `now` (a scrape-time walk over at most `maxSources` entries). */
  blockedCount(now: number): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.blockedUntil !== 0 && now < e.blockedUntil) n++;
    return n;
  }

  /** Entries held. */
  get size(): number {
    return this.entries.size;
  }

  /** A slot of the ring for a new entry, evicting one when the ring is full (CLOCK, bounded steps). */
  private slotFor(key: string, now: number): number {
    if (this.ring.length < this.o.maxSources) return this.ring.push(key) - 1;
    let chances = SECOND_CHANCES;
    for (;;) {
      const slot = this.hand;
      this.hand = (this.hand + 1) % this.ring.length;
      const held = this.ring[slot];
      const e = held === undefined ? undefined : this.entries.get(held);
      if (e) {
        // Kept: a blocked source, and one that sent more than once within the last window. A spoofed one-off
        // source is neither, so a spoofed flood evicts its own entries first.
        const valuable = now < e.blockedUntil || (now - e.lastSeen < this.o.windowMs && e.cur + e.prev > 1);
        if (valuable && chances-- > 0) continue;
        this.entries.delete(held!);
      }
      this.ring[slot] = key;
      return slot;
    }
  }
}
