import type { SipRequest, SipResponse } from "../../../sip/message";
import { buildTrying } from "./build-trying";
import { TransactionMachine } from "./transaction-machine";
import { nextInterval } from "./timers";
import type { TransactionKey } from "./transaction-key";
import { TransactionStateError } from "./transaction-state-error";
import type { Destination, RequestDisposition, ServerTransactionUser, TransactionContext } from "./transaction-context";

/** States of the INVITE server transaction (RFC 3261 17.2.1, Figure 7). */
export type InviteServerState = "Proceeding" | "Accepted" | "Completed" | "Confirmed" | "Terminated";

const TRANSITIONS: Readonly<Record<InviteServerState, readonly InviteServerState[]>> = {
  Proceeding: ["Accepted", "Completed", "Terminated"],
  Accepted: ["Terminated"],
  Completed: ["Confirmed", "Terminated"],
  Confirmed: ["Terminated"],
  Terminated: [],
};

/** Construction options of an `InviteServerTransaction`. */
export interface InviteServerTransactionOptions {
  /** The INVITE that created the transaction. */
  readonly request: SipRequest;
  /** Its matching key (top Via branch and sent-by, method INVITE). */
  readonly key: TransactionKey;
  /** Where responses go (18.2.2: received/rport of the top Via), computed by the caller. */
  readonly replyTo: Destination;
  readonly context: TransactionContext;
  readonly user: ServerTransactionUser<InviteServerTransaction>;
  /** The transaction layer's bookkeeping when the transaction ends (out of its table), before the TU hears. */
  readonly ended?: (transaction: InviteServerTransaction) => void;
  /** Send 100 (Trying) from `start()` (default true); false only if the TU answers within 200 ms. */
  readonly sendTrying?: boolean;
  /**
   * With `sendTrying`: hold the 100 (Trying) until the TU calls `trying()` or this many ms have passed with
   * nothing sent (17.2.1 lets a transaction whose TU answers within 200 ms send none). Unset: at once.
   */
  readonly tryingAfterMs?: number;
}

/**
 * Server transaction for INVITE (RFC 3261 17.2.1): answers 100 Trying (at once, or held until the TU asks
 * for it or 200 ms pass with nothing sent), resends the last provisional on INVITE retransmissions,
 * retransmits a 3xx-6xx on Timer G until the ACK (Timer H gives up), absorbs ACKs for Timer I. A 2xx from
 * the TU moves it to Accepted (RFC 6026) until Timer L; 2xx retransmission is not its job.
 */
export class InviteServerTransaction extends TransactionMachine<InviteServerState, InviteServerTransaction> {
  readonly kind = "invite-server" as const;
  readonly request: SipRequest;
  readonly branch: string;
  readonly sentBy: string;
  readonly method = "INVITE";
  readonly replyTo: Destination;
  protected override user: ServerTransactionUser<InviteServerTransaction>;
  private readonly sendTrying: boolean;
  private readonly tryingAfterMs: number | undefined;
  private started = false;
  private intervalG: number;
  private provisional: SipResponse | undefined;
  private final: SipResponse | undefined;

  constructor(options: InviteServerTransactionOptions) {
    super(options.context, options.user, "Proceeding", TRANSITIONS, options.ended);
    if (options.request.method !== "INVITE") {
      throw new TypeError(`InviteServerTransaction cannot carry ${options.request.method}`);
    }
    this.request = options.request;
    this.branch = options.key.branch;
    this.sentBy = options.key.sentBy;
    this.replyTo = options.replyTo;
    this.user = options.user;
    this.sendTrying = options.sendTrying ?? true;
    this.tryingAfterMs = options.tryingAfterMs;
    this.intervalG = options.context.timers.G;
  }

  /** The most recent response sent (final if any, else the last provisional). */
  get lastResponse(): SipResponse | undefined {
    return this.final ?? this.provisional;
  }

  /** Enters Proceeding and, unless disabled, sends 100 (Trying); callable once. */
  start(): void {
    if (this.started) throw new TransactionStateError(this.kind, this.current, "start");
    this.started = true;
    // 17.2.1: "When a server transaction is constructed for a request, it enters the "Proceeding" state. The
    // server transaction MUST generate a 100 (Trying) response unless it knows that the TU will generate a
    // provisional or final response within 200 ms, in which case it MAY generate a 100 (Trying) response."
    if (!this.sendTrying) return;
    if (this.tryingAfterMs === undefined) this.respond(buildTrying(this.request));
    else this.timers.start("Trying", this.tryingAfterMs, () => this.trying());
  }

  /**
   * Sends the held 100 (Trying) now, if nothing has been sent yet: the TU is about to forward the INVITE,
   * whose answer may take longer than the caller's T1.
   */
  trying(): void {
    if (!this.sendTrying || this.current !== "Proceeding" || this.provisional !== undefined) return;
    this.respond(buildTrying(this.request));
  }

  /**
   * Sends a response from the TU. Throws `TransactionStateError` outside Proceeding (an illegal transition:
   * a response after a final one); a failing send is reported through `onTransportError` instead.
   */
  respond(response: SipResponse, options: { readonly retransmit?: boolean } = {}): void {
    if (response.status < 100 || response.status > 699) {
      throw new RangeError(`invite-server transaction: invalid status ${response.status}`);
    }
    const event = `respond ${response.status}`;
    if (this.current === "Accepted" && response.status >= 200 && response.status < 300) {
      // RFC 6026 section 8.7: "while in the "Accepted" state, ... any 2xx responses passed from the TU MUST
      // be passed to the transport layer for transmission" (further 2xx of a forked INVITE, say).
      this.transmit(response);
      return;
    }
    if (this.current !== "Proceeding") throw new TransactionStateError(this.kind, this.current, event);
    this.timers.stop("Trying");
    if (response.status < 200) {
      // 17.2.1: "The TU passes any number of provisional responses to the server transaction. So long as the
      // server transaction is in the "Proceeding" state, each of these MUST be passed to the transport layer
      // for transmission."
      this.provisional = response;
      this.transmit(response);
      return;
    }
    this.final = response;
    if (response.status < 300) {
      // RFC 6026 section 8.5 (updating 17.2.1): "If, while in the "Proceeding" state, the TU passes a 2xx
      // response to the server transaction, the server transaction MUST pass this response to the transport
      // layer for transmission. It is not retransmitted by the server transaction; retransmissions of 2xx
      // responses are handled by the TU. The server transaction MUST then transition to the "Accepted"
      // state." Timer L keeps it there for 64*T1 to absorb retransmissions of the INVITE.
      if (!this.transmit(response)) return;
      this.transition("Accepted", event);
      this.timers.start("L", this.context.timers.L, () => this.onTimerL());
      return;
    }
    // 17.2.1: "While in the "Proceeding" state, if the TU passes a response with status code from 300 to 699
    // to the server transaction, the response MUST be passed to the transport layer for transmission, and
    // the state machine MUST enter the "Completed" state. For unreliable transports, timer G is set to fire
    // in T1 seconds ... When the "Completed" state is entered, timer H MUST be set to fire in 64*T1 seconds".
    if (!this.transmit(response)) return;
    this.transition("Completed", event);
    // `retransmit: false` is a rejection sent once, as a stateless proxy would (Kamailio's sl_send_reply):
    // no Timer G, so one spoofed INVITE costs one datagram, not a dozen. A retransmitted INVITE is still
    // answered 1:1 from Completed (below), so a caller whose copy was lost gets it again. That holds only
    // while the caller retransmits: once a provisional has gone out (17.1.1.2: Timer A stops on one), the
    // final is its only answer, and Timer G runs.
    if (options.retransmit !== false || this.provisional !== undefined) this.timers.start("G", this.intervalG, () => this.onTimerG());
    this.timers.start("H", this.context.timers.H, () => this.onTimerH());
  }

  /** An INVITE retransmission or an ACK matched to this transaction (17.2.3); always absorbed. */
  receiveRequest(request: SipRequest): RequestDisposition {
    if (this.current === "Terminated") return "terminated";
    if (this.current === "Accepted") {
      // RFC 6026 section 8.7: "The server transaction MUST NOT generate 2xx retransmission on its own. Any
      // retransmission of the INVITE received in the "Accepted" state MUST NOT be passed on to the TU. Any
      // ACKs received while in the "Accepted" state MUST be passed directly to the TU".
      return request.method === "ACK" ? "pass" : "absorbed";
    }
    if (request.method === "ACK") {
      if (this.current === "Completed") {
        // 17.2.1: "If an ACK is received while the server transaction is in the "Completed" state, the server
        // transaction MUST transition to the "Confirmed" state. As Timer G is ignored in this state, any
        // retransmissions of the response will cease." ... "When this state is entered, timer I is set to
        // fire in T4 seconds for unreliable transports".
        this.transition("Confirmed", "ACK");
        this.timers.stop("G");
        this.timers.stop("H");
        this.timers.start("I", this.context.timers.I, () => this.onTimerI());
      }
      // 17.2.1: "The purpose of the "Confirmed" state is to absorb any additional ACK messages that arrive".
      // An ACK before any final response (Proceeding) acknowledges nothing and is dropped.
      return "absorbed";
    }
    if (this.current === "Proceeding") {
      // 17.2.1: "If a request retransmission is received while in the "Proceeding" state, the most recent
      // provisional response that was received from the TU MUST be passed to the transport layer for
      // retransmission."
      if (this.provisional !== undefined) this.transmit(this.provisional);
    } else if (this.current === "Completed" && this.final !== undefined) {
      // 17.2.1: "while in the "Completed" state, if a request retransmission is received, the server SHOULD
      // pass the response to the transport for retransmission."
      this.transmit(this.final);
    }
    return "absorbed";
  }

  private onTimerG(): void {
    if (this.current !== "Completed" || this.final === undefined) return;
    // 17.2.1: "If timer G fires, the response is passed to the transport layer once more for retransmission,
    // and timer G is set to fire in MIN(2*T1, T2) seconds. From then on, when timer G fires, the response is
    // passed to the transport again for transmission, and timer G is reset with a value that doubles, unless
    // that value exceeds T2, in which case it is reset with the value of T2."
    if (!this.transmit(this.final)) return;
    this.intervalG = nextInterval(this.intervalG, this.context.timers.T2);
    this.timers.start("G", this.intervalG, () => this.onTimerG());
  }

  private onTimerL(): void {
    if (this.current !== "Accepted") return;
    // RFC 6026 section 8.7: "If Timer L fires while the INVITE server transaction is in the "Accepted"
    // state, the transaction MUST transition to the "Terminated" state."
    this.terminate("Timer L");
  }

  private onTimerH(): void {
    if (this.current !== "Completed") return;
    // 17.2.1: "If timer H fires while in the "Completed" state, it implies that the ACK was never received. In
    // this case, the server transaction MUST transition to the "Terminated" state, and MUST indicate to the
    // TU that a transaction failure has occurred."
    this.transition("Terminated", "Timer H");
    this.user.onTimeout?.(this);
    this.notifyTerminated();
  }

  private onTimerI(): void {
    if (this.current !== "Confirmed") return;
    // 17.2.1: "Once timer I fires, the server MUST transition to the "Terminated" state."
    this.terminate("Timer I");
  }

  private transmit(response: SipResponse): boolean {
    return this.send(response, this.replyTo);
  }
}
