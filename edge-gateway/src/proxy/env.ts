/**
 * What the proxy core's concern modules share: the options, the transaction layer, the gateway's addresses,
 * and the hooks by which one concern hands over to another. ProxyCore implements it. A concern imports
 * another only "downwards" (response choice uses CANCEL); every hand-over that would close a cycle (a
 * branch created by forking reporting to response choice, a CANCEL giving up, Timer C) goes through this
 * interface, so the import graph has no cycle.
 */
import type { RelayTarget } from "../../../contract/v1";
import type { SipHeader, SipRequest, SipResponse } from "../../../sip/message";
import type { ParseLimits } from "../../../sip/parser";
import type { Logger } from "../observability/logger";
import type { Metrics } from "../observability/metrics";
import type { Clock } from "../transaction/clock";
import type { TransactionLayer } from "../transaction/transaction-layer";
import type { TimerConfig } from "../transaction/timers";
import type { Listener, TransportAddress } from "../transport/transport";
import type { WorkerClient } from "../worker-client/worker-client";
import type { DialogProof } from "./dialog-proof";
import type { LocalAddresses } from "./local-address";
import type { OutcomeMeter } from "./outcome-meter";
import type { OverloadGuard, OverloadLimits } from "./overload";
import type { Branch, OutboundDestination, ResponseContext } from "./response-context";

export interface ProxyCoreOptions {
  /** Socket facing the phones, and socket facing the Asterisk boxes (the same one on a one-address gateway). */
  readonly phones: Listener;
  readonly pbx: Listener;
  readonly worker: WorkerClient;
  readonly log: Logger;
  readonly metrics: Metrics;
  /**
   * The gateway's configured secret: the key of the dialog proofs in Record-Route and NAT aliases is derived
   * from it, so every gateway of a deployment accepts the dialogs of the others, across restarts.
   */
  readonly secret: string;
  /** During a secret rotation window: the previous secret, whose dialog proofs are still accepted. */
  readonly previousSecret?: string;
  readonly clock?: Clock;
  readonly timers?: Partial<TimerConfig>;
  /** Retry-After (seconds) on the 503 sent when the worker is down or slow, or the gateway overloaded. */
  readonly retryAfterS?: number;
  /** Extra host names that mean "this gateway" in Route / Request-URI. */
  readonly aliases?: readonly string[];
  /** Bounds of the gateway's state (overload control). */
  readonly limits?: Partial<OverloadLimits>;
  /**
   * Called once per new out-of-dialog request right after parsing (retransmissions are not screened
   * again). False drops it silently (counted in `edge_gateway_dropped_total{reason="screen"}`); a
   * User-Agent deny list, say, lives outside the core.
   */
  readonly screen?: (req: SipRequest, source: TransportAddress, listener: Listener) => boolean;
  /** Size limits of the SIP grammar for every datagram received (DEFAULT_PARSE_LIMITS when unset). */
  readonly parseLimits?: ParseLimits | undefined;
  /** Randomness of the Retry-After jitter (tests). */
  readonly random?: () => number;
}

/** The shared state and the hand-over hooks between concerns. */
export interface ProxyEnv {
  readonly o: ProxyCoreOptions;
  readonly layer: TransactionLayer;
  readonly local: LocalAddresses;
  readonly proof: DialogProof;
  readonly overload: OverloadGuard;
  /** Per-tenant outcomes and added latency of initial requests. */
  readonly meter: OutcomeMeter;
  /** Retry-After of a 503 for a failed worker call. */
  readonly retryAfter: string;
  /** Shutting down: new out-of-dialog requests are refused (503), the rest goes on (docs/operations.md). */
  readonly draining: boolean;

  transmit(message: SipRequest | SipResponse, destination: OutboundDestination): void;
  out(to: TransportAddress, listener: Listener): OutboundDestination;
  /** The socket to leave from: the decision's side, else (in-dialog) the other side of where it arrived. */
  listenerFor(side: RelayTarget["side"] | undefined, arrivedOn: Listener): Listener;
  /** Sends `res` on the server transaction; `once` for local rejections (no Timer G retransmission). */
  respond(ctx: ResponseContext, res: SipResponse, once?: boolean): void;
  /** A local response built from the request (8.2.6). */
  reply(ctx: ResponseContext, status: number, reason: string, extra?: SipHeader[], once?: boolean): void;

  // Hand-overs between concerns.
  relay(ctx: ResponseContext, req: SipRequest, targets: readonly RelayTarget[], recordRoute: boolean, inDialog: boolean): void;
  onBranchResponse(ctx: ResponseContext, branch: Branch, res: SipResponse): void;
  /** A branch ends without a response of its own (a timeout is a 408, 16.8; a transport error a 503, 16.9). */
  onBranchGaveUp(ctx: ResponseContext, branch: Branch, status?: number, reason?: string): void;
  cancelBranch(ctx: ResponseContext, branch: Branch, reason: string | undefined, cause: "caller" | "timer-c" | "other-branch"): void;
  startTimerC(ctx: ResponseContext, branch: Branch): void;
  clearTimerC(branch: Branch): void;
  /** 16.7 step 6 once every branch is final. */
  maybeFinish(ctx: ResponseContext): void;
  /** Sends a final response upstream (any 2xx of an INVITE; else only the first final). */
  sendFinal(ctx: ResponseContext, res: SipResponse, local?: boolean): void;
  decideResponse(ctx: ResponseContext, branch: Branch | undefined, res: SipResponse, answerKey: string | undefined): void;
  /** Ends a context that is never to be answered (dropped by policy). */
  endSilently(ctx: ResponseContext): void;
  internalError(ctx: ResponseContext, err: unknown): void;
}
