/**
 * How long datagrams wait before the gateway reads them: the socket's receive queue in the kernel plus the
 * event loop's backlog. Measured in band: every `intervalMs` a probe datagram goes to the listener from a
 * socket of the gateway's own, and the time it took to come out is the time the SIP datagrams queued beside
 * it waited (the queue is FIFO). A probe still not out tells as much: the queue is at least its age.
 *
 * This is the queue overload control must keep short (proxy/overload.ts): requests read after their
 * client's T1 (500 ms) have been retransmitted already. No count the gateway keeps can see it.
 *
 * A probe reports a delay as old as the delay itself: the time its datagram took to come out. Where the
 * kernel's socket table gives the bytes queued in the listener's buffer now (receive-backlog.ts), the delay
 * is that of the queue as it is now: the datagrams queued (its bytes over the bytes a datagram takes there,
 * which a probe learns from the bytes it was sent behind and the datagrams read before it came out) times
 * the event loop's busy time per datagram read over the last probe intervals. A queue that stops growing,
 * or drains, shows at once; and so does a loop that reads faster (after a cut, refusals cost a fraction of
 * the work admitted).
 *
 * A probe is recognised by its source (the probe socket's own address, which a stranger on the network cannot
 * send from) and a random token; anything else goes on to the SIP stack.
 */
import { randomBytes } from "node:crypto";
import { isWildcardAddress } from "../../../sip/host";
import { receiveBacklog, type ReceiveBacklog } from "./receive-backlog";
import type { TransportAddress } from "./transport";
import { listenUdp, type UdpListener } from "./udp-transport";

const MAGIC = "edge-queue-probe ";

/** A probe out longer than this was dropped by a full socket buffer; it stops counting, the drop is counted. */
export const PROBE_LOST_MS = 2_000;

/**
 * The least queue (bytes of the listener's buffer) a probe must be sent behind to teach what a datagram takes
 * there: some 30 SIP datagrams, so that one datagram more or less weighs little.
 */
export const PACE_MIN_BYTES = 64 * 1024;

export interface QueueDelayProbeOptions {
  readonly now?: () => number;
  /** The bytes queued in the listener's buffer now; by default from the kernel's socket table, where there is one. */
  readonly backlog?: ReceiveBacklog | undefined;
  /** The event loop's busy time so far (ms); by default Node's own count (performance.eventLoopUtilization). */
  readonly activeMs?: () => number;
}

/** The queue's delay and whether it is the queue's as it is now (true) or as the last probe found it. */
export interface QueueDelay {
  readonly ms: number;
  readonly current: boolean;
  /** The probe's own reading (ms): the same as `ms` when not current. */
  readonly probeMs: number;
}

interface Outstanding {
  readonly sent: number;
  /** Bytes queued in the listener's buffer as the probe was sent; undefined without a reading. */
  readonly behind: number | undefined;
  /** Datagrams read from the listener before it was sent. */
  readonly readsBefore: number;
}

/** A learnt value moved halfway to a new reading: the reading itself when there was none. */
function halfway(learnt: number | undefined, reading: number): number {
  return learnt === undefined ? reading : (learnt + reading) / 2;
}

export class QueueDelayProbe {
  private readonly prefix = `${MAGIC}${randomBytes(8).toString("hex")} `;
  /** The probes not yet read, by sequence number (oldest first). */
  private readonly out = new Map<number, Outstanding>();
  /** Datagrams read from the listener so far, the probes' own not counted. */
  private reads = 0;
  /** The bytes a datagram takes in the listener's buffer, as the probes sent behind enough of them found. */
  private bytesPerDatagram: number | undefined;
  /** The event loop's busy time per datagram read (ms), over the last probe intervals. */
  private msPerDatagram: number | undefined;
  private readsAtSend = 0;
  private activeAtSend: number;
  private next = 0;
  private last = 0;
  private lostCount = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  private constructor(
    /** The probe socket: a probe comes from its address. */
    private readonly socket: UdpListener,
    /** Where the probes go: the listener's address (loopback for a wildcard bind). */
    readonly to: TransportAddress,
    /** The listener's bound address: the datagrams that arrive on it are counted. */
    private readonly listener: TransportAddress,
    private readonly now: () => number,
    private readonly backlog: ReceiveBacklog | undefined,
    private readonly activeMs: () => number,
  ) {
    this.activeAtSend = activeMs();
  }

  /** The probe socket's address: a probe comes from here. */
  get from(): TransportAddress {
    return this.socket.local;
  }

  /** Binds the probe socket beside `listener` (same address, a free port) and sends a probe every `intervalMs`. */
  static async start(listener: TransportAddress, intervalMs: number, options: QueueDelayProbeOptions = {}): Promise<QueueDelayProbe> {
    const ip = isWildcardAddress(listener.ip) ? (listener.ip.includes(":") ? "::1" : "127.0.0.1") : listener.ip;
    // Nothing is ever sent to the probe socket; what arrives there is dropped, as are send errors. A probe
    // leaves as its send time is taken.
    const socket = await listenUdp({ ip, port: 0, sendAtOnce: true }, () => undefined, () => undefined);
    const probe = new QueueDelayProbe(
      socket,
      { ip, port: listener.port, transport: "udp" },
      listener,
      options.now ?? (() => performance.now()),
      "backlog" in options ? options.backlog : receiveBacklog(listener),
      options.activeMs ?? (() => performance.eventLoopUtilization().active),
    );
    probe.timer = setInterval(() => probe.send(), intervalMs);
    probe.timer.unref();
    probe.send();
    return probe;
  }

  private send(): void {
    const t = this.now();
    for (const [seq, { sent }] of this.out) {
      if (t - sent < PROBE_LOST_MS) break;
      this.out.delete(seq);
      this.lostCount++;
    }
    // The loop's busy time per datagram read since the last probe, averaged with the one before.
    const active = this.activeMs();
    const read = this.reads - this.readsAtSend;
    if (read > 0) {
      const ms = (active - this.activeAtSend) / read;
      this.msPerDatagram = halfway(this.msPerDatagram, ms);
    }
    this.readsAtSend = this.reads;
    this.activeAtSend = active;
    const seq = this.next++;
    this.out.set(seq, { sent: t, behind: this.backlog?.(), readsBefore: this.reads });
    this.socket.send(Buffer.from(`${this.prefix}${seq}`), this.to);
  }

  /**
   * True (and measured) when the datagram is one of this probe's; false for anything else. Every datagram the
   * gateway reads goes through here first, with the listener it arrived on: the others read on this probe's
   * listener are counted.
   */
  intercept(bytes: Uint8Array, source: TransportAddress, arrivedOn?: TransportAddress): boolean {
    if (this.measure(bytes, source)) return true;
    if (arrivedOn === undefined || (arrivedOn.port === this.listener.port && arrivedOn.ip === this.listener.ip)) this.reads++;
    return false;
  }

  private measure(bytes: Uint8Array, source: TransportAddress): boolean {
    const from = this.socket.local;
    if (source.port !== from.port || source.ip !== from.ip || bytes.length > 64) return false;
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
    if (!text.startsWith(this.prefix)) return false;
    const seq = Number(text.slice(this.prefix.length));
    const probe = this.out.get(seq);
    if (probe !== undefined) {
      this.last = this.now() - probe.sent;
      // The datagrams read between its send and now were queued before it, in the bytes it was sent behind.
      const ahead = this.reads - probe.readsBefore;
      if (probe.behind !== undefined && probe.behind >= PACE_MIN_BYTES && ahead > 0) {
        this.bytesPerDatagram = halfway(this.bytesPerDatagram, probe.behind / ahead);
      }
      // Probes come out in order: one read means the ones sent before it were dropped or read already.
      for (const s of this.out.keys()) {
        if (s > seq) break;
        if (s < seq) this.lostCount++;
        this.out.delete(s);
      }
    }
    return true;
  }

  /**
   * The queue's delay: the datagrams queued now times the loop's busy time per datagram, once a probe has
   * learnt what a datagram takes in the buffer (current); before that, or without a reading of the buffer,
   * the last probe's delay, or the age of the oldest one still queued when that is more.
   */
  delay(): QueueDelay {
    const probeMs = this.probeDelayMs();
    if (this.bytesPerDatagram !== undefined && this.msPerDatagram !== undefined) {
      const bytes = this.backlog?.();
      if (bytes !== undefined) return { ms: (bytes / this.bytesPerDatagram) * this.msPerDatagram, current: true, probeMs };
    }
    return { ms: probeMs, current: false, probeMs };
  }

  /** The last probe's delay, or the age of the oldest one still queued when that is more. */
  private probeDelayMs(): number {
    const t = this.now();
    for (const { sent } of this.out.values()) return Math.max(this.last, Math.min(t - sent, PROBE_LOST_MS));
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
