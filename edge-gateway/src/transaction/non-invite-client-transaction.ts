import type { SipRequest, SipResponse } from "../../../sip/message";
import { TransactionMachine } from "./transaction-machine";
import { nextInterval } from "./timers";
import { TransactionStateError } from "./transaction-state-error";
import type { ClientTransactionUser, Destination, ResponseDisposition, TransactionContext } from "./transaction-context";

/** States of the non-INVITE client transaction (RFC 3261 17.1.2.2, Figure 6). */
export type NonInviteClientState = "Trying" | "Proceeding" | "Completed" | "Terminated";

const TRANSITIONS: Readonly<Record<NonInviteClientState, readonly NonInviteClientState[]>> = {
  Trying: ["Proceeding", "Completed", "Terminated"],
  Proceeding: ["Completed", "Terminated"],
  Completed: ["Terminated"],
  Terminated: [],
};

/** Construction options of a `NonInviteClientTransaction`. */
export interface NonInviteClientTransactionOptions {
  /** The request, its top Via already carrying `branch`. */
  readonly request: SipRequest;
  readonly branch: string;
  readonly destination: Destination;
  readonly context: TransactionContext;
  readonly user: ClientTransactionUser<NonInviteClientTransaction>;
  /** The transaction layer's bookkeeping when the transaction ends (out of its table), before the TU hears. */
  readonly ended?: (transaction: NonInviteClientTransaction) => void;
}

/** The TU of a Completed transaction whose TU did not ask to hear of its end. */
const COMPLETED_USER: ClientTransactionUser<NonInviteClientTransaction> = { onResponse: () => undefined };

/**
 * Client transaction for any request but INVITE and ACK (RFC 3261 17.1.2): retransmits the request on
 * Timer E until a response, times out on Timer F, absorbs response retransmissions for Timer K.
 */
export class NonInviteClientTransaction extends TransactionMachine<NonInviteClientState, NonInviteClientTransaction> {
  readonly kind = "non-invite-client" as const;
  private sent: SipRequest | undefined;
  readonly branch: string;
  readonly method: string;
  readonly destination: Destination;
  protected override user: ClientTransactionUser<NonInviteClientTransaction>;
  private started = false;
  private intervalE: number;

  constructor(options: NonInviteClientTransactionOptions) {
    super(options.context, options.user, "Trying", TRANSITIONS, options.ended);
    if (options.request.method === "INVITE" || options.request.method === "ACK") {
      throw new TypeError(`NonInviteClientTransaction cannot carry ${options.request.method}`);
    }
    this.sent = options.request;
    this.branch = options.branch;
    this.method = options.request.method;
    this.destination = options.destination;
    this.user = options.user;
    this.intervalE = options.context.timers.E;
  }

  /** Sends the request and starts Timers E and F; callable once. */
  start(): void {
    if (this.started) throw new TransactionStateError(this.kind, this.current, "start");
    this.started = true;
    // 17.1.2.2: "The request MUST be passed to the transport layer for transmission."
    if (!this.transmit()) return;
    // 17.1.2.2: "When entering this state, the client transaction SHOULD set timer F to fire in 64*T1
    // seconds." ... "If an unreliable transport is in use, the client transaction MUST set timer E to fire
    // in T1 seconds."
    this.timers.start("F", this.context.timers.F, () => this.onTimerF());
    this.timers.start("E", this.intervalE, () => this.onTimerE());
  }

  /** A response matched to this transaction (17.1.3); returns whether it went to the TU. */
  receiveResponse(response: SipResponse): ResponseDisposition {
    switch (this.current) {
      case "Terminated":
        return "terminated";
      case "Completed":
        // 17.1.2.2: the Completed state exists "to buffer any additional response retransmissions that
        // may be received"; they are absorbed.
        return "absorbed";
      case "Trying":
      case "Proceeding":
        if (response.status < 100) return "absorbed";
        if (response.status < 200) {
          // 17.1.2.2: "If a provisional response is received while in the "Trying" state, the response MUST
          // be passed to the TU, and then the client transaction SHOULD move to the "Proceeding" state."
          if (this.current === "Trying") this.transition("Proceeding", `response ${response.status}`);
          this.user.onResponse(response, this);
          return "delivered";
        }
        // 17.1.2.2: "If a final response (status codes 200-699) is received while in the "Trying" state, the
        // response MUST be passed to the TU, and the client transaction MUST transition to the "Completed"
        // state." The same holds in "Proceeding".
        this.transition("Completed", `response ${response.status}`);
        this.timers.stop("E");
        this.timers.stop("F");
        // 17.1.2.2: "Once the client transaction enters the "Completed" state, it MUST set Timer K to fire in
        // T4 seconds for unreliable transports".
        this.timers.start("K", this.context.timers.K, () => this.onTimerK());
        this.user.onResponse(response, this);
        this.releaseUser();
        return "delivered";
    }
  }

  private onTimerE(): void {
    if (this.current !== "Trying" && this.current !== "Proceeding") return;
    // 17.1.2.2: "If timer E fires while still in this state, the timer is reset, but this time with a value
    // of MIN(2*T1, T2)." ... "If Timer E fires while in the "Proceeding" state, the request MUST be passed to
    // the transport layer for retransmission, and Timer E MUST be reset with a value of T2 seconds."
    this.intervalE = this.current === "Trying" ? nextInterval(this.intervalE, this.context.timers.T2) : this.context.timers.T2;
    if (!this.transmit()) return;
    this.timers.start("E", this.intervalE, () => this.onTimerE());
  }

  private onTimerF(): void {
    if (this.current !== "Trying" && this.current !== "Proceeding") return;
    // 17.1.2.2: "If Timer F fires while the client transaction is still in the "Trying" state, the client
    // transaction SHOULD inform the TU about the timeout, and then it SHOULD enter the "Terminated" state."
    // Likewise in "Proceeding".
    this.transition("Terminated", "Timer F");
    this.user.onTimeout?.(this);
    this.notifyTerminated();
  }

  private onTimerK(): void {
    if (this.current !== "Completed") return;
    // 17.1.2.2: "If Timer K fires while in this state, the client transaction MUST transition to the
    // "Terminated" state."
    this.terminate("Timer K");
  }

  /**
   * Once Completed the transaction only absorbs response retransmissions until Timer K: the TU hears nothing
   * more from it but its end, if it asked for that. Let go of it and of the request, which the TU's state
   * (a proxy's response context, its branches and their messages) would otherwise keep alive for T4.
   */
  private releaseUser(): void {
    if (!this.user.onTerminated) this.user = COMPLETED_USER;
    this.sent = undefined;
  }

  private transmit(): boolean {
    return this.sent !== undefined && this.send(this.sent, this.destination);
  }
}
