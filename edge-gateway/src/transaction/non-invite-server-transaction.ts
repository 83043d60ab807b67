import type { SipRequest, SipResponse } from "../../../sip/message";
import { ByteSlab } from "../../../sip/byte-slab";
import { serializeMessage } from "../../../sip/serializer";
import { TransactionMachine } from "./transaction-machine";
import { ownCopy, type TransactionKey } from "./transaction-key";
import { TransactionStateError } from "./transaction-state-error";
import type { Destination, EncodedResponse, RequestDisposition, ServerTransactionUser, TransactionContext } from "./transaction-context";

/**
 * The bytes of answered transactions' final responses. They are all kept for Timer J from about the time
 * they are written, so a slab of them is let go about when its last one is: slabs shared with messages sent
 * and dropped at once would each be kept for 32 s by the one final response in them.
 */
const FINAL_RESPONSES = new ByteSlab();

/** States of the non-INVITE server transaction (RFC 3261 17.2.2, Figure 8). */
export type NonInviteServerState = "Trying" | "Proceeding" | "Completed" | "Terminated";

const TRANSITIONS: Readonly<Record<NonInviteServerState, readonly NonInviteServerState[]>> = {
  Trying: ["Proceeding", "Completed", "Terminated"],
  Proceeding: ["Completed", "Terminated"],
  Completed: ["Terminated"],
  Terminated: [],
};

/** Construction options of a `NonInviteServerTransaction`. */
export interface NonInviteServerTransactionOptions {
  /** The request that created the transaction (any method but INVITE and ACK). */
  readonly request: SipRequest;
  /** Its matching key (top Via branch and sent-by, the request method). */
  readonly key: TransactionKey;
  /** Where responses go (18.2.2: received/rport of the top Via), computed by the caller. */
  readonly replyTo: Destination;
  readonly context: TransactionContext;
  readonly user: ServerTransactionUser<NonInviteServerTransaction>;
  /** The transaction layer's bookkeeping when the transaction ends (out of its table), before the TU hears. */
  readonly ended?: (transaction: NonInviteServerTransaction) => void;
}

/**
 * Server transaction for any request but INVITE and ACK (RFC 3261 17.2.2): discards retransmissions in
 * Trying, answers them with the last response in Proceeding and Completed, and lingers for Timer J.
 *
 * Answered, it keeps only what a retransmitted request needs: the final response's bytes and where they go.
 * The request and the parsed response are let go: Timer J keeps an answered transaction for 32 s, so under
 * load these are most of the gateway's live memory, and every byte kept is copied by the garbage collector.
 */
export class NonInviteServerTransaction extends TransactionMachine<NonInviteServerState, NonInviteServerTransaction> {
  readonly kind = "non-invite-server" as const;
  private received: SipRequest | undefined;
  readonly branch: string;
  readonly sentBy: string;
  readonly method: string;
  readonly replyTo: Destination;
  protected override user: ServerTransactionUser<NonInviteServerTransaction>;
  private provisional: SipResponse | undefined;
  private final: EncodedResponse | undefined;

  constructor(options: NonInviteServerTransactionOptions) {
    super(options.context, options.user, "Trying", TRANSITIONS, options.ended);
    if (options.request.method === "INVITE" || options.request.method === "ACK") {
      throw new TypeError(`NonInviteServerTransaction cannot carry ${options.request.method}`);
    }
    this.received = options.request;
    // Kept for Timer J after the request itself is let go: copies, not slices of the request's text.
    this.branch = ownCopy(options.key.branch);
    this.sentBy = ownCopy(options.key.sentBy);
    this.method = options.request.method;
    this.replyTo = options.replyTo;
    this.user = options.user;
  }

  /** The request, until the final response is sent (then only that response's bytes are kept). */
  get request(): SipRequest | undefined {
    return this.received;
  }

  /** The status of the most recent response sent (final if any, else the last provisional). */
  get lastStatus(): number | undefined {
    return (this.final ?? this.provisional)?.status;
  }

  /**
   * Sends a response from the TU. Throws `TransactionStateError` in Completed or Terminated (an illegal
   * transition: a response after the final one); a failing send is reported through `onTransportError`.
   */
  respond(response: SipResponse, _options: { readonly retransmit?: boolean } = {}): void {
    // `_options` mirrors the INVITE server transaction's: a non-INVITE final is never retransmitted on its
    // own (17.2.2), only in answer to a retransmitted request, so every final is already sent once.
    if (response.status < 100 || response.status > 699) {
      throw new RangeError(`non-invite-server transaction: invalid status ${response.status}`);
    }
    const event = `respond ${response.status}`;
    if (this.current !== "Trying" && this.current !== "Proceeding") {
      throw new TransactionStateError(this.kind, this.current, event);
    }
    if (response.status < 200) {
      // 17.2.2: "While in the "Trying" state, if the TU passes a provisional response to the server
      // transaction, the server transaction MUST enter the "Proceeding" state. The response MUST be passed to
      // the transport layer for transmission. Any further provisional responses that are received from the TU
      // while in the "Proceeding" state MUST be passed to the transport layer for transmission."
      this.provisional = response;
      if (!this.transmit(response)) return;
      if (this.current === "Trying") this.transition("Proceeding", event);
      return;
    }
    // 17.2.2: "If the TU passes a final response (status codes 200-699) to the server while in the
    // "Proceeding" state, the transaction MUST enter the "Completed" state, and the response MUST be passed to
    // the transport layer for transmission." The same holds in "Trying".
    let final: EncodedResponse;
    try {
      final = { kind: "response", status: response.status, bytes: serializeMessage(response, FINAL_RESPONSES) };
    } catch (cause) {
      // A response that cannot be written fails as its send would have (17.2.4): a transport error.
      this.transportError(cause);
      return;
    }
    this.final = final;
    this.received = undefined;
    this.provisional = undefined;
    if (!this.transmit(final)) return;
    this.transition("Completed", event);
    // 17.2.2: "When the server transaction enters the "Completed" state, it MUST set Timer J to fire in 64*T1
    // seconds for unreliable transports".
    this.timers.start("J", this.context.timers.J, () => this.onTimerJ());
  }

  /** A retransmission of the request matched to this transaction (17.2.3); always absorbed. */
  receiveRequest(_request: SipRequest): RequestDisposition {
    switch (this.current) {
      case "Terminated":
        return "terminated";
      case "Trying":
        // 17.2.2: "Once in the "Trying" state, any further request retransmissions are discarded."
        return "absorbed";
      case "Proceeding":
        // 17.2.2: "If a retransmission of the request is received while in the "Proceeding" state, the most
        // recently sent provisional response MUST be passed to the transport layer for retransmission."
        if (this.provisional !== undefined) this.transmit(this.provisional);
        return "absorbed";
      case "Completed":
        // 17.2.2: "While in the "Completed" state, the server transaction MUST pass the final response to the
        // transport layer for retransmission whenever a retransmission of the request is received."
        if (this.final !== undefined) this.transmit(this.final);
        return "absorbed";
    }
  }

  private onTimerJ(): void {
    if (this.current !== "Completed") return;
    // 17.2.2: "The server transaction remains in this state until Timer J fires, at which point it MUST
    // transition to the "Terminated" state."
    this.terminate("Timer J");
  }

  private transmit(response: SipResponse | EncodedResponse): boolean {
    return this.send(response, this.replyTo);
  }
}
