/**
 * Under load, the answer to a challenge goes first.
 *
 * A phone registers in two transactions: its REGISTER is challenged by the tenant's Asterisk (401), and it
 * sends the REGISTER again with credentials. An INVITE challenged with 407 is sent again the same way. When
 * the load bound refuses a share `s` of new requests, each independently, a registration completes only if
 * both of its requests are admitted: (1 - s)^2 of them. The first requests of those whose second is refused
 * were relayed, challenged and relayed back for nothing, and that wasted work is what the loop lacks. At twice
 * capacity, a steady share can complete at most about 0.76x of capacity that way; with the answers admitted,
 * up to 1.0x.
 *
 * So the gateway remembers, for a few seconds, each out-of-dialog request whose 401 or 407 it relayed, by the
 * request's source address, Call-ID and From tag. While the load bound refuses with the receive queue under
 * its bound, a new request with credentials that matches one of those entries is admitted instead, and the
 * entry is used up: the refusals fall on work not yet begun. With the queue at or above the bound, answers
 * are refused like new work: they arrive a challenge round trip after the first requests admitted, so the
 * load bound's cut would not reach them for that long, and admitting them lengthened the queue past T1
 * (measured: 5-10x the retransmissions, docs/benchmarks.md, "Challenged registrations under overload").
 *
 * A stranger gains nothing by it. An entry exists only because the tenant's PBX challenged a request that
 * was admitted, and it admits one request, from the same address, of the same call. The other bounds
 * (transactions, pending decisions, decision wait) still apply to it.
 *
 * Bounded state: two generations of at most `max` entries each, the older one dropped every `lifetimeMs`, so
 * an entry lives between one and two lifetimes. Once a generation is full, further challenges are not
 * remembered: their answers are refused with the same share as any new request.
 */
import type { SipRequest } from "../../../sip/message";
import { headerValue } from "../../../sip/message";
import { headerTag } from "../../../sip/core-headers";
import type { TransportAddress } from "../transport/transport";

export class ChallengeAnswers {
  private current = new Set<string>();
  private previous = new Set<string>();
  private rotatedAt: number;

  constructor(
    private readonly max: number,
    private readonly lifetimeMs: number,
    private readonly now: () => number,
  ) {
    this.rotatedAt = now();
  }

  /** `status` went upstream as the final response to `req`, received from `source`: remembered if a challenge. */
  noteFinal(req: SipRequest, source: TransportAddress, status: number): void {
    if (status !== 401 && status !== 407) return;
    if (headerTag(req, "To") !== undefined) return;
    this.rotate();
    if (this.current.size < this.max) this.current.add(challengeKey(req, source));
  }

  /**
   * True, once per challenge, for a new request from `source` that carries credentials and answers a challenge
   * relayed in the last lifetime or two.
   */
  takeAnswer(req: SipRequest, source: TransportAddress): boolean {
    if (headerValue(req, "Authorization") === undefined && headerValue(req, "Proxy-Authorization") === undefined) return false;
    this.rotate();
    const key = challengeKey(req, source);
    return this.current.delete(key) || this.previous.delete(key);
  }

  /** Challenges remembered now. */
  get size(): number {
    return this.current.size + this.previous.size;
  }

  private rotate(): void {
    const age = this.now() - this.rotatedAt;
    if (age < this.lifetimeMs) return;
    // After two lifetimes without a rotation, the current generation is as stale as the previous one.
    const stale = age >= 2 * this.lifetimeMs;
    this.previous = stale ? new Set() : this.current;
    this.current = new Set();
    this.rotatedAt += stale ? age : this.lifetimeMs;
  }
}

/**
 * A request's call as its source sent it: address, Call-ID and From tag (the same in a request and its answer
 * to a challenge, RFC 3261 8.1.3.5, 22.2). No newline is left in a parsed header value, so the parts cannot
 * run into each other.
 */
function challengeKey(req: SipRequest, source: TransportAddress): string {
  return `${source.ip}\n${source.port}\n${headerValue(req, "Call-ID") ?? ""}\n${headerTag(req, "From") ?? ""}`;
}
