/**
 * The proxy state of one server transaction (16.7's "response context") and of each of its branches, as
 * explicit state machines. Everything else in the core reads and moves these states; no loose flags.
 */
import type { Alternative, RelayTarget } from "../../../contract/v1";
import type { SipRequest, SipResponse } from "../../../sip/message";
import type { TimerHandle } from "../transaction/clock";
import type { Destination } from "../transaction/transaction-context";
import type { ClientTransaction, ServerTransaction } from "../transaction/transaction-layer";
import type { Listener, TransportAddress } from "../transport/transport";
import type { Metered } from "./outcome-meter";
import { StateMachine } from "./proxy-state";

/** A destination with the socket to send from; the transaction layer hands it back to `send`. */
export interface OutboundDestination extends Destination {
  readonly listener: Listener;
}

/**
 * States of a response context:
 * - Deciding: the worker has the request (an initial request) and has not answered.
 * - Forking: branches are being created (a branch failing at once must not end the fork early).
 * - Proceeding: branches are out, no final response went upstream.
 * - Cancelling: as Proceeding, after the caller's CANCEL (16.10): branches are being cancelled.
 * - Choosing: every branch has its final response and the best one is with the worker (16.7 step 6).
 * - Answered: a final response went upstream (later 2xx of other branches are still relayed, 16.7 step 5).
 * - Silent: dropped by policy; it absorbs retransmissions until it ends, and answers nothing.
 */
export type ContextState = "Deciding" | "Forking" | "Proceeding" | "Cancelling" | "Choosing" | "Answered" | "Silent";

const CONTEXT_TRANSITIONS: Readonly<Record<ContextState, readonly ContextState[]>> = {
  Deciding: ["Forking", "Answered", "Silent"],
  Forking: ["Proceeding", "Answered"],
  Proceeding: ["Cancelling", "Choosing", "Answered", "Silent"],
  Cancelling: ["Choosing", "Answered", "Silent"],
  Choosing: ["Answered", "Silent"],
  Answered: [],
  Silent: [],
};

/**
 * States of a branch (one forwarded copy, 16.6):
 * - Calling: sent, nothing heard.
 * - Proceeding: a provisional response arrived (a 100 counts: RFC 3261 9.1 "once a provisional response
 *   has been received").
 * - CancelHeld: a CANCEL is wanted but no provisional arrived (9.1: it "MUST NOT be sent"); sent when one does.
 * - Cancelled: the CANCEL was sent; the final response (487) is awaited, 64*T1 at most.
 * - Completed: the branch has its final response (received or synthesised: a timeout is a 408, 16.8).
 */
export type BranchState = "Calling" | "Proceeding" | "CancelHeld" | "Cancelled" | "Completed";

const BRANCH_TRANSITIONS: Readonly<Record<BranchState, readonly BranchState[]>> = {
  Calling: ["Proceeding", "CancelHeld", "Completed"],
  Proceeding: ["Cancelled", "Completed"],
  CancelHeld: ["Cancelled", "Completed"],
  Cancelled: ["Completed"],
  Completed: [],
};

/** Who asked for a branch's CANCEL: it decides what the caller is told if the branch then gives up. */
export type CancelCause = "caller" | "timer-c" | "other-branch";

/**
 * What a branch needs to fail over (forking.ts, `failOver`): the request and target it was built from, the
 * Record-Route values it carried, and the next hops still to try, in order.
 */
export interface Failover {
  readonly request: SipRequest;
  readonly target: RelayTarget;
  readonly recordRoute: readonly string[];
  readonly inDialog: boolean;
  readonly rest: readonly Alternative[];
}

/** One branch of a response context. */
export class Branch {
  readonly machine = new StateMachine<BranchState>("branch", "Calling", BRANCH_TRANSITIONS);
  transaction: ClientTransaction | undefined;
  final: SipResponse | undefined;
  timerC: TimerHandle | undefined;
  cancelCause: CancelCause | undefined;
  /** The Reason of the wanted CANCEL (RFC 3326), kept while the CANCEL is held. */
  cancelReason: string | undefined;
  /** A provisional response other than 100 arrived (the callee rang): an INVITE no longer fails over. */
  rang = false;
  /** Set when the worker gave next hops for this branch's target (failover within the transaction). */
  failover: Failover | undefined;
  /** The attempt's own time limit, armed only when failing over is possible (forking.ts). */
  attemptTimer: TimerHandle | undefined;

  constructor(
    /** The branch parameter of the gateway's Via on this branch (its CANCEL reuses it, 9.1). */
    readonly id: string,
    readonly request: SipRequest,
    readonly destination: OutboundDestination,
  ) {}

  get state(): BranchState {
    return this.machine.state;
  }
}

/**
 * What the core did with one 2xx (per branch and To tag: every 2xx is a dialog of its own, 16.7 step 5):
 * - deciding: it is with the worker; retransmissions are absorbed, never forwarded undecided.
 * - sent: this response went upstream; a retransmission sends it again (the UAC needs it until it ACKs).
 * - withheld: the worker replaced or dropped it; retransmissions are absorbed.
 */
export type AnswerState = { readonly kind: "deciding" } | { readonly kind: "sent"; readonly response: SipResponse } | { readonly kind: "withheld" };

/** The response context of one server transaction. */
export class ResponseContext {
  readonly machine = new StateMachine<ContextState>("response context", "Deciding", CONTEXT_TRANSITIONS);
  readonly branches: Branch[] = [];
  /** 2xx answers by `branch id + To tag`. */
  readonly answers = new Map<string, AnswerState>();
  wantResponse: "none" | "2xx" | "final" = "none";
  context = "";
  /** The caller CANCELled (16.10): a branch that gives up then ends with 487, not 408. */
  cancelled = false;
  /** Clock time after which no branch fails over any more: 64*T1 after the request arrived (decisions.ts). */
  failoverDeadline: number | undefined;
  /** Rollback-trigger metering of an initial request (outcome-meter.ts); undefined in a dialog. */
  metered: Metered | undefined;

  constructor(
    readonly server: ServerTransaction,
    /** The request as received, Via stamped (what local responses are built from). */
    readonly request: SipRequest,
    readonly source: TransportAddress,
    readonly listener: Listener,
    /** The loop-detection part of this request's branches (16.6 step 8), computed once. */
    readonly loop: string,
  ) {}

  get state(): ContextState {
    return this.machine.state;
  }

  /** True while a 2xx is with the worker: the fork's final choice waits for it. */
  get deciding2xx(): boolean {
    for (const a of this.answers.values()) if (a.kind === "deciding") return true;
    return false;
  }

  /** True when no final response went upstream and none is being chosen. */
  get open(): boolean {
    return this.machine.in("Deciding", "Forking", "Proceeding", "Cancelling");
  }
}
