/**
 * Addresses the gateway has relayed to on the Asterisk side, remembered for a while: the tenants' Asterisk
 * boxes, learned from the worker's relay decisions (targets with `side: "pbx"`), so that their traffic is
 * never taken for a flood even when they share the phones' socket. Bounded: the oldest entry goes first when
 * full; each relay refreshes the entry's expiry.
 */
export class LearnedPeers {
  private readonly expiry = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
  ) {}

  /** Remembers `ip` until `now + ttl`. */
  learn(ip: string, now: number): void {
    // Re-inserted so that the Map's order stays the order of last use (the first entry is the stalest).
    this.expiry.delete(ip);
    if (this.expiry.size >= this.max) {
      const oldest = this.expiry.keys().next();
      if (!oldest.done) this.expiry.delete(oldest.value);
    }
    this.expiry.set(ip, now + this.ttlMs);
  }

  /** Whether `ip` was relayed to within the ttl. */
  has(ip: string, now: number): boolean {
    const until = this.expiry.get(ip);
    if (until === undefined) return false;
    if (now < until) return true;
    this.expiry.delete(ip);
    return false;
  }

  get size(): number {
    return this.expiry.size;
  }
}
