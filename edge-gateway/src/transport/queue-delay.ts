/**
 * How long datagrams wait before the gateway reads them: the socket's receive queue in the kernel plus the
 * event loop's backlog. Measured in band: every `intervalMs` a probe datagram goes to the listener from a
 * socket of the gateway's own, and the time it took to come out is the time the SIP datagrams queued beside
 * it waited (the queue is FIFO). A probe still not out tells as much: the queue is at least its age.
 *
 * This is the queue overload control must keep short (proxy/overload.ts): requests read after their
 * client's T1 (500 ms) have been retransmitted already. No count the gateway keeps can see it.
 *
 * A probe is recognised by its source (the probe socket's own address, which a stranger on the network cannot
 * send from) and a random token; anything else goes on to the SIP stack.
 */
import { randomBytes } from "node:crypto";
import { isWildcardAddress } from "../../../sip/host";
import type { TransportAddress } from "./transport";
import { listenUdp, type UdpListener } from "./udp-transport";

const MAGIC = "edge-queue-probe ";

/** A probe out longer than this was dropped by a full socket buffer; it stops counting, the drop is counted. */
export const PROBE_LOST_MS = 2_000;

export class QueueDelayProbe {
  private readonly prefix = `${MAGIC}${randomBytes(8).toString("hex")} `;
  /** Send times of the probes not yet read, by sequence number (oldest first). */
  private readonly out = new Map<number, number>();
  private next = 0;
  private last = 0;
  private lostCount = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  private constructor(
    /** The probe socket: a probe comes from its address. */
    private readonly socket: UdpListener,
    /** Where the probes go: the listener's address (loopback for a wildcard bind). */
    readonly to: TransportAddress,
    private readonly now: () => number,
  ) {}

  /** The probe socket's address: a probe comes from here. */
  get from(): TransportAddress {
    return this.socket.local;
  }

  /** Binds the probe socket beside `listener` (same address, a free port) and sends a probe every `intervalMs`. */
  static async start(listener: TransportAddress, intervalMs: number, now: () => number = () => performance.now()): Promise<QueueDelayProbe> {
    const ip = isWildcardAddress(listener.ip) ? (listener.ip.includes(":") ? "::1" : "127.0.0.1") : listener.ip;
    // Nothing is ever sent to the probe socket; what arrives there is dropped, as are send errors. A probe
    // leaves as its send time is taken.
    const socket = await listenUdp({ ip, port: 0, sendAtOnce: true }, () => undefined, () => undefined);
    const probe = new QueueDelayProbe(socket, { ip, port: listener.port, transport: "udp" }, now);
    probe.timer = setInterval(() => probe.send(), intervalMs);
    probe.timer.unref();
    probe.send();
    return probe;
  }

  private send(): void {
    const t = this.now();
    for (const [seq, sent] of this.out) {
      if (t - sent < PROBE_LOST_MS) break;
      this.out.delete(seq);
      this.lostCount++;
    }
    const seq = this.next++;
    this.out.set(seq, t);
    this.socket.send(Buffer.from(`${this.prefix}${seq}`), this.to);
  }

  /** True (and measured) when the datagram is one of this probe's; false for anything else. */
  intercept(bytes: Uint8Array, source: TransportAddress): boolean {
    const from = this.socket.local;
    if (source.port !== from.port || source.ip !== from.ip || bytes.length > 64) return false;
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
    if (!text.startsWith(this.prefix)) return false;
    const seq = Number(text.slice(this.prefix.length));
    const sent = this.out.get(seq);
    if (sent !== undefined) {
      this.last = this.now() - sent;
      // Probes come out in order: one read means the ones sent before it were dropped or read already.
      for (const s of this.out.keys()) {
        if (s > seq) break;
        if (s < seq) this.lostCount++;
        this.out.delete(s);
      }
    }
    return true;
  }

  /** The queue's delay now (ms): the last probe's, or the age of the oldest one still queued when that is more. */
  delayMs(): number {
    const t = this.now();
    for (const sent of this.out.values()) return Math.max(this.last, Math.min(t - sent, PROBE_LOST_MS));
    return this.last;
  }

  /** Probes the socket buffer dropped (it overflowed). */
  get lost(): number {
    return this.lostCount;
  }

  close(): Promise<void> {
    clearInterval(this.timer);
    return this.socket.close();
  }
}
