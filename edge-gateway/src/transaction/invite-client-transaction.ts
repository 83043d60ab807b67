import type { SipRequest, SipResponse } from "../../../sip/message";
import { buildAck } from "./build-ack";
import { TransactionMachine } from "./transaction-machine";
import { nextInterval } from "./timers";
import { TransactionStateError } from "./transaction-state-error";
import type { ClientTransactionUser, Destination, ResponseDisposition, TransactionContext } from "./transaction-context";

/** States of the INVITE client transaction (RFC 3261 17.1.1.2, Figure 5). */
export type InviteClientState = "Calling" | "Proceeding" | "Accepted" | "Completed" | "Terminated";

const TRANSITIONS: Readonly<Record<InviteClientState, readonly InviteClientState[]>> = {
  Calling: ["Proceeding", "Accepted", "Completed", "Terminated"],
  Proceeding: ["Accepted", "Completed", "Terminated"],
  Accepted: ["Terminated"],
  Completed: ["Terminated"],
  Terminated: [],
};

/** Construction options of an `InviteClientTransaction`. */
export interface InviteClientTransactionOptions {
  /** The INVITE, its top Via already carrying `branch`. */
  readonly request: SipRequest;
  readonly branch: string;
  readonly destination: Destination;
  readonly context: TransactionContext;
  readonly user: ClientTransactionUser<InviteClientTransaction>;
  /** The transaction layer's bookkeeping when the transaction ends (out of its table), before the TU hears. */
  readonly ended?: (transaction: InviteClientTransaction) => void;
}

/**
 * Client transaction for INVITE (RFC 3261 17.1.1): retransmits on Timer A, times out on Timer B, ACKs
 * 3xx-6xx itself (re-ACKing retransmissions during Timer D). A 2xx moves it to RFC 6026's Accepted state
 * for Timer M, where every 2xx (retransmissions, other forks' answers) goes to the TU: a response whose
 * top Via is the proxy's is thus always matched to a transaction, never forwarded as a stray.
 */
export class InviteClientTransaction extends TransactionMachine<InviteClientState, InviteClientTransaction> {
  readonly kind = "invite-client" as const;
  readonly request: SipRequest;
  readonly branch: string;
  readonly method = "INVITE";
  readonly destination: Destination;
  protected override user: ClientTransactionUser<InviteClientTransaction>;
  private started = false;
  private intervalA: number;
  private ackRequest: SipRequest | undefined;

  constructor(options: InviteClientTransactionOptions) {
    super(options.context, options.user, "Calling", TRANSITIONS, options.ended);
    if (options.request.method !== "INVITE") {
      throw new TypeError(`InviteClientTransaction cannot carry ${options.request.method}`);
    }
    this.request = options.request;
    this.branch = options.branch;
    this.destination = options.destination;
    this.user = options.user;
    this.intervalA = options.context.timers.A;
  }

  /** The ACK this transaction generated for a 3xx-6xx response, once in Completed. */
  get ack(): SipRequest | undefined {
    return this.ackRequest;
  }

  /** Sends the INVITE and starts Timers A and B; callable once. */
  start(): void {
    if (this.started) throw new TransactionStateError(this.kind, this.current, "start");
    this.started = true;
    // 17.1.1.2: "The "Calling" state MUST be entered when the TU initiates a new client transaction with an
    // INVITE request. The client transaction MUST pass the request to the transport layer for transmission".
    if (!this.transmit(this.request)) return;
    // 17.1.1.2: "If an unreliable transport is being used, the client transaction MUST start timer A with a
    // value of T1." ... "the client transaction MUST start timer B with a value of 64*T1 seconds".
    this.timers.start("B", this.context.timers.B, () => this.onTimerB());
    this.timers.start("A", this.intervalA, () => this.onTimerA());
  }

  /** A response matched to this transaction (17.1.3); returns whether it went to the TU. */
  receiveResponse(response: SipResponse): ResponseDisposition {
    const event = `response ${response.status}`;
    switch (this.current) {
      case "Terminated":
        return "terminated";
      case "Accepted":
        // RFC 6026 section 7.2: "Any 2xx responses that match this client transaction and that are received
        // while in the "Accepted" state MUST be passed up to the TU. The client transaction MUST NOT
        // generate an ACK to the 2xx response". Anything else is absorbed.
        if (response.status >= 200 && response.status < 300) {
          this.user.onResponse(response, this);
          return "delivered";
        }
        return "absorbed";
      case "Completed":
        if (response.status >= 300 && this.ackRequest !== undefined) {
          // 17.1.1.2: "Any retransmissions of the final response that are received while in the "Completed"
          // state MUST cause the ACK to be re-passed to the transport layer for retransmission, but the newly
          // received response MUST NOT be passed up to the TU."
          this.transmit(this.ackRequest);
        }
        return "absorbed";
      case "Calling":
      case "Proceeding":
        if (response.status < 100) return "absorbed";
        if (response.status < 200) {
          // 17.1.1.2: "If the client transaction receives a provisional response while in the "Calling"
          // state, it transitions to the "Proceeding" state. In the "Proceeding" state, the client transaction
          // SHOULD NOT retransmit the request any longer. Furthermore, the provisional response MUST be passed
          // to the TU. Any further provisional responses MUST be passed up to the TU while in the "Proceeding"
          // state." Timer B only guards "Calling"; beyond it Timer C of the proxy core applies.
          if (this.current === "Calling") {
            this.transition("Proceeding", event);
            this.timers.stop("A");
            this.timers.stop("B");
          }
          this.user.onResponse(response, this);
          return "delivered";
        }
        if (response.status < 300) {
          // RFC 6026 section 7.2 (updating 17.1.1.2): "If, while in the "Calling" or "Proceeding" state, a 2xx
          // response is received, the client transaction MUST transition to the "Accepted" state, and the
          // response MUST be passed up to the TU. ... When the "Accepted" state is entered, timer M MUST be
          // set to fire in 64*T1".
          this.transition("Accepted", event);
          this.timers.stop("A");
          this.timers.stop("B");
          this.timers.start("M", this.context.timers.M, () => this.onTimerM());
          this.user.onResponse(response, this);
          return "delivered";
        }
        // 17.1.1.2: "When in either the "Calling" or "Proceeding" states, reception of a response with status
        // code from 300-699 MUST cause the client transaction to transition to "Completed". The client
        // transaction MUST pass the received response up to the TU, and the client transaction MUST generate
        // an ACK request, even if the transport is reliable".
        this.transition("Completed", event);
        this.timers.stop("A");
        this.timers.stop("B");
        this.ackRequest = buildAck(this.request, response);
        // 17.1.1.2: "The client transaction SHOULD start timer D when it enters the "Completed" state, with a
        // value of at least 32 seconds for unreliable transports".
        this.timers.start("D", this.context.timers.D, () => this.onTimerD());
        this.user.onResponse(response, this);
        // 17.1.1.2: "... and then pass the ACK to the transport layer for transmission. The ACK MUST be sent
        // to the same address, port, and transport to which the original request was sent."
        this.sendAck();
        return "delivered";
    }
  }

  /** Sends the ACK unless the TU's `onResponse` already ended the transaction. */
  private sendAck(): void {
    if (this.current === "Completed" && this.ackRequest !== undefined) this.transmit(this.ackRequest);
  }

  private onTimerA(): void {
    if (this.current !== "Calling") return;
    // 17.1.1.2: "When timer A fires, the client transaction MUST retransmit the request by passing it to the
    // transport layer, and MUST reset the timer with a value of 2*T1." (doubling each time, no cap)
    if (!this.transmit(this.request)) return;
    this.intervalA = nextInterval(this.intervalA);
    this.timers.start("A", this.intervalA, () => this.onTimerA());
  }

  private onTimerB(): void {
    if (this.current !== "Calling") return;
    // 17.1.1.2: "If the client transaction is still in the "Calling" state when timer B fires, the client
    // transaction SHOULD inform the TU that a timeout has occurred."
    this.transition("Terminated", "Timer B");
    this.user.onTimeout?.(this);
    this.notifyTerminated();
  }

  private onTimerM(): void {
    if (this.current !== "Accepted") return;
    // RFC 6026 section 7.2: "If timer M fires while the INVITE client transaction is in the "Accepted"
    // state, the transaction MUST transition to the "Terminated" state."
    this.terminate("Timer M");
  }

  private onTimerD(): void {
    if (this.current !== "Completed") return;
    // 17.1.1.2: "If timer D fires while the client transaction is in the "Completed" state, the client
    // transaction MUST move to the terminated state."
    this.terminate("Timer D");
  }

  private transmit(message: SipRequest): boolean {
    return this.send(message, this.destination);
  }
}
