/**
 * The proxy core (RFC 3261 section 16) over the transaction layer. This file only wires the concerns:
 *
 * - ingress.ts: parsing, bad input, admission of new requests (16.3, overload, screening), stateless refusals
 * - in-dialog.ts: Route-based relaying of in-dialog requests and ACKs along proven dialogs (16.4, 16.11, 16.12)
 * - decisions.ts: the worker's request and response decisions
 * - forking.ts: branches (16.6); timer-c.ts: Timer C (16.8); cancel.ts: CANCEL (9.1, 16.10)
 * - response-choice.ts: responses from branches, what goes upstream (16.7)
 * - response-context.ts: the state machines of a response context and its branches
 *
 * Mechanism only: every policy choice comes from the worker's decision.
 */
import type { RelayTarget } from "../../../contract/v1";
import { normalizeHost } from "../../../sip/host";
import type { SipHeader, SipRequest, SipResponse } from "../../../sip/message";
import { cseqOf } from "../../../sip/core-headers";
import { headerValue } from "../../../sip/message";
import { serializeMessage } from "../../../sip/serializer";
import type { Via } from "../../../sip/via";
import { hasMagicCookie } from "../transaction/transaction-key";
import type { ServerTransaction } from "../transaction/transaction-layer";
import { TransactionLayer } from "../transaction/transaction-layer";
import type { EncodedResponse } from "../transaction/transaction-context";
import type { TransactionKey } from "../transaction/transaction-key";
import type { Listener, TransportAddress } from "../transport/transport";
import { cancelAll, cancelBranch, onCallerCancel, releaseHeldCancel } from "./cancel";
import { askRequest, decideResponse } from "./decisions";
import { DialogProof } from "./dialog-proof";
import type { ProxyCoreOptions, ProxyEnv } from "./env";
import { relay } from "./forking";
import { admitNewRequest, parseDatagram, replyStateless } from "./ingress";
import { forwardAck } from "./in-dialog";
import { hostPort, LocalAddresses } from "./local-address";
import { createResponse } from "./local-response";
import { addContactAlias, DIALOG_FORMING } from "./nat-alias";
import { OutcomeMeter } from "./outcome-meter";
import { DEFAULT_OVERLOAD_LIMITS, OverloadGuard } from "./overload";
import { type Branch, type CancelCause, type OutboundDestination, ResponseContext } from "./response-context";
import { maybeFinish, onBranchGaveUp, onBranchResponse, sendFinal } from "./response-choice";
import { clearTimerC, startTimerC } from "./timer-c";
import { PEER_RECORD_ROUTED } from "./peer-route";
import { loopHash, responseDestination, stampVia } from "./via-routing";

export type { ProxyCoreOptions } from "./env";

/** The longest an INVITE waits for its 100 (Trying) while its decision is made (RFC 3261 17.2.1: 200 ms). */
const TRYING_AFTER_MS = 200;

/** The stateful proxy. */
export class ProxyCore implements ProxyEnv {
  readonly layer: TransactionLayer;
  readonly local: LocalAddresses;
  readonly proof: DialogProof;
  readonly overload: OverloadGuard;
  readonly meter: OutcomeMeter;
  readonly retryAfter: string;
  private drainingNow = false;
  private readonly contexts = new Map<ServerTransaction, ResponseContext>();

  constructor(readonly o: ProxyCoreOptions) {
    this.local = new LocalAddresses(o.phones === o.pbx ? [o.phones] : [o.phones, o.pbx], o.aliases ?? []);
    this.proof = new DialogProof(o.secret, o.previousSecret);
    this.retryAfter = String(o.retryAfterS ?? 5);
    this.layer = new TransactionLayer({
      send: (message, destination) => this.transmit(message, destination as OutboundDestination),
      ...(o.clock ? { clock: o.clock } : {}),
      ...(o.timers ? { timers: o.timers } : {}),
      sendTrying: true,
      // 17.2.1: a 100 (Trying) is owed unless the TU answers within 200 ms. The 100 goes when the INVITE is
      // relayed (forking.ts) or when 200 ms pass undecided; a rejection decided before then goes alone, once,
      // and the caller, still retransmitting, gets it again for each copy. One spoofed INVITE then costs one
      // datagram, and a rejection after a 100 is retransmitted on Timer G (the caller no longer resends).
      tryingAfterMs: TRYING_AFTER_MS,
      serverUser: {
        onTransportError: (_t, cause) => o.log.warn("server transaction transport error", { error: String(cause) }),
        onTerminated: (t) => this.contexts.delete(t),
      },
    });
    this.overload = new OverloadGuard(
      { ...DEFAULT_OVERLOAD_LIMITS, ...o.limits },
      { total: () => this.layer.counts().server, inProgress: () => this.layer.serversInProgress() },
      o.retryAfterS ?? 5,
      o.random,
      () => this.layer.clock.now(),
    );
    this.meter = new OutcomeMeter(o.metrics, this.layer.clock);
    o.metrics.gauge("edge_gateway_transactions", () => this.layer.size());
    o.metrics.gauge("edge_gateway_server_transactions", () => this.layer.counts().server);
    o.metrics.gauge("edge_gateway_response_contexts", () => this.contexts.size);
    o.metrics.gauge("edge_gateway_pending_decisions", () => this.overload.pendingDecisions);
    o.metrics.gauge("edge_gateway_load_challenges_remembered", () => this.overload.challenges.size);
  }

  /** Entry point of the transport: one datagram. Never throws. */
  onDatagram(bytes: Uint8Array, source: TransportAddress, listener: Listener): void {
    try {
      this.receive(bytes, source, listener);
    } catch (err) {
      this.o.metrics.inc("edge_gateway_internal_errors_total");
      this.o.log.error("datagram handling failed", { source, error: err instanceof Error ? err.stack : String(err) });
    }
  }

  /** True once `startDraining` was called. */
  get draining(): boolean {
    return this.drainingNow;
  }

  /**
   * Graceful shutdown, first step: from now on new out-of-dialog requests get 503 + Retry-After (see
   * ingress.ts); transactions in progress, in-dialog requests, ACKs and CANCELs go on as before.
   */
  startDraining(): void {
    this.drainingNow = true;
  }

  /** Response contexts with no final response upstream yet (a 2xx being decided counts): what a drain waits for. */
  unansweredCount(): number {
    let n = 0;
    for (const ctx of this.contexts.values()) if (ctx.open || ctx.state === "Choosing" || ctx.deciding2xx) n++;
    return n;
  }

  /**
   * Graceful shutdown, at the drain's bound: every context still without a final response gets one now.
   * An INVITE's branches are CANCELled (9.1; RFC 3326 Reason), and the caller gets 503 + Retry-After, so
   * that it retries elsewhere (RFC 3263 4.3) or later (21.5.4); one whose caller already CANCELled gets the
   * 487 it asked for. Returns how many were ended. A context whose callee already answered 2xx, the 2xx
   * being with the worker, is left alone: a 503 would go up before that 2xx (16.7 step 5 sends every 2xx),
   * telling the caller the call failed and then that it succeeded.
   */
  endUnanswered(): number {
    let n = 0;
    for (const ctx of [...this.contexts.values()]) {
      if ((!ctx.open && ctx.state !== "Choosing") || ctx.deciding2xx) continue;
      n++;
      if (ctx.request.method === "INVITE") cancelAll(this, ctx, 'SIP;cause=503;text="Proxy shutting down"', "other-branch");
      const res = ctx.cancelled
        ? createResponse(ctx.request, 487, "Request Terminated")
        : createResponse(ctx.request, 503, "Service Unavailable", [{ name: "Retry-After", value: this.overload.retryAfter() }]);
      this.sendFinal(ctx, res, true);
    }
    if (n > 0) this.o.metrics.inc("edge_gateway_drain_ended_total", {}, n);
    return n;
  }

  /** Stops every transaction (shutdown). */
  close(): void {
    this.layer.close();
    this.contexts.clear();
  }

  // ---- ProxyEnv: sending ---------------------------------------------------------------------------------

  transmit(message: SipRequest | SipResponse | EncodedResponse, destination: OutboundDestination): void {
    this.o.metrics.inc("edge_gateway_sent_total", { kind: message.kind });
    destination.listener.send("bytes" in message ? message.bytes : serializeMessage(message), destination);
  }

  out(to: TransportAddress, listener: Listener): OutboundDestination {
    return { ip: to.ip, port: to.port, transport: "udp", listener };
  }

  listenerFor(side: RelayTarget["side"] | undefined, arrivedOn: Listener): Listener {
    if (side === "pbx") return this.o.pbx;
    if (side === "phones") return this.o.phones;
    // In-dialog: the other side of where it arrived.
    return arrivedOn === this.o.phones ? this.o.pbx : this.o.phones;
  }

  respond(ctx: ResponseContext, res: SipResponse, once = false): void {
    try {
      ctx.server.respond(res, { retransmit: !once });
    } catch (err) {
      // A response after the final one (a late worker answer, say) is not sent; the state machine says so.
      this.o.log.debug("response not sent", { status: res.status, error: String(err) });
    }
  }

  reply(ctx: ResponseContext, status: number, reason: string, extra: SipHeader[] = [], once = false): void {
    this.sendFinal(ctx, createResponse(ctx.request, status, reason, extra), once);
  }

  // ---- ProxyEnv: hand-overs between concerns ---------------------------------------------------------------

  relay(ctx: ResponseContext, req: SipRequest, targets: readonly RelayTarget[], recordRoute: boolean, inDialog: boolean): void {
    relay(this, ctx, req, targets, recordRoute, inDialog);
  }

  onBranchResponse(ctx: ResponseContext, branch: Branch, res: SipResponse): void {
    onBranchResponse(this, ctx, branch, res);
  }

  onBranchGaveUp(ctx: ResponseContext, branch: Branch, status?: number, reason?: string): void {
    onBranchGaveUp(this, ctx, branch, status, reason);
  }

  cancelBranch(ctx: ResponseContext, branch: Branch, reason: string | undefined, cause: CancelCause): void {
    cancelBranch(this, ctx, branch, reason, cause);
  }

  releaseHeldCancel(ctx: ResponseContext, branch: Branch): void {
    releaseHeldCancel(this, ctx, branch);
  }

  startTimerC(ctx: ResponseContext, branch: Branch): void {
    startTimerC(this, ctx, branch);
  }

  clearTimerC(branch: Branch): void {
    clearTimerC(this, branch);
  }

  maybeFinish(ctx: ResponseContext): void {
    maybeFinish(this, ctx);
  }

  sendFinal(ctx: ResponseContext, res: SipResponse, local = false): void {
    sendFinal(this, ctx, res, local);
    // A non-INVITE's context has done its work once the final response is sent: its server transaction
    // absorbs retransmissions for Timer J (32 s) by itself, and no CANCEL can match it. Kept until Timer J,
    // the context (the decision, its branches and their messages) was most of the gateway's memory under
    // load. An INVITE's stays: CANCELs, 2xx retransmissions and the drain look it up until it ends.
    if (ctx.request.method !== "INVITE" && ctx.state === "Answered") this.contexts.delete(ctx.server);
  }

  decideResponse(ctx: ResponseContext, branch: Branch | undefined, res: SipResponse, answerKey: string | undefined): void {
    decideResponse(this, ctx, branch, res, answerKey);
  }

  /**
   * Ends a server transaction that is never to be answered. It stays, silent, to absorb retransmissions (no
   * worker call for each), and is ended after 64*T1 as Timer J ends an answered one; disposing of it at
   * once left it in the transaction layer's table for good, a leak per dropped request.
   */
  endSilently(ctx: ResponseContext): void {
    ctx.machine.to("Silent", "dropped by policy");
    this.layer.clock.setTimer(this.layer.timers.J, () => ctx.server.abandon("dropped by policy"));
  }

  /** A defect while acting on a worker answer: logged, and the request answered 500 if nothing was sent. */
  internalError(ctx: ResponseContext, err: unknown): void {
    this.o.metrics.inc("edge_gateway_internal_errors_total");
    this.o.log.error("worker answer handling failed", { error: err instanceof Error ? err.stack : String(err) });
    if (!ctx.cancelled) this.sendFinal(ctx, createResponse(ctx.request, 500, "Server Internal Error"), true);
  }

  // ---- receiving -------------------------------------------------------------------------------------------

  private receive(bytes: Uint8Array, source: TransportAddress, listener: Listener): void {
    const parsed = parseDatagram(this, bytes, source, listener);
    if (!parsed) return;
    const { message: msg, topVia } = parsed;
    this.o.metrics.inc("edge_gateway_received_total", { kind: msg.kind });
    if (msg.kind === "response") {
      this.receiveResponse(msg, topVia);
      return;
    }
    // The top Via, parsed once by the parser, stamped with what the gateway observed (18.2.1, RFC 3581).
    const { request, via } = stampVia(msg, source, topVia);
    this.receiveRequest(request, via, source, listener);
  }

  private receiveRequest(req: SipRequest, via: Via | undefined, source: TransportAddress, listener: Listener): void {
    const refuse = (status: number, reason: string, why: string, extra: readonly SipHeader[] = []): void =>
      replyStateless(this, req, via, source, listener, status, reason, extra, why);
    if (!via?.branch) {
      if (req.method !== "ACK") refuse(400, "Missing Via Branch", "bad_via");
      return;
    }
    // 17.2.3: RFC 2543 matching is not supported.
    if (!hasMagicCookie(via.branch)) {
      if (req.method !== "ACK") refuse(400, "RFC 2543 Transactions Not Supported", "rfc2543");
      return;
    }
    const key: TransactionKey = { branch: via.branch, sentBy: hostPort(normalizeHost(via.host), via.port ?? 5060), method: req.method };
    const replyTo = this.out(responseDestination(via, source), listener);
    const existing = this.layer.findServerTransaction(key);
    if (req.method === "ACK" || (existing !== undefined && existing.state !== "Terminated")) {
      // A retransmission (or an ACK for a non-2xx) is its transaction's; an ACK for a 2xx is relayed (16.11).
      const result = this.layer.receiveRequest(req, key, replyTo);
      if (result.kind === "ack") forwardAck(this, req, via.branch, source, listener);
      else this.o.metrics.inc("edge_gateway_retransmissions_absorbed_total");
      return;
    }
    if (req.method === "CANCEL") {
      this.receiveCancel(req, key, replyTo, refuse);
      return;
    }
    const admission = admitNewRequest(this, req, source, listener);
    switch (admission.kind) {
      case "drop":
        this.o.metrics.inc("edge_gateway_dropped_total", { reason: admission.why });
        return;
      case "reply":
        refuse(admission.status, admission.reason, admission.why, admission.extra);
        // An initial request (no To tag) refused before any decision is a "none" outcome.
        if (admission.initial) this.meter.refusedStatelessly(req.method, admission.status);
        return;
      case "decide":
      case "dialog":
      case "peer":
        break;
    }
    const result = this.layer.receiveRequest(req, key, replyTo);
    if (result.kind !== "new") return;
    const ctx = new ResponseContext(result.transaction, req, source, listener, loopHash(req, via));
    this.contexts.set(result.transaction, ctx);
    if (admission.kind === "decide") {
      ctx.metered = this.meter.arrived(req.method);
      askRequest(this, ctx, admission.request);
      return;
    }
    if (admission.kind === "peer") {
      // Decided by the peer gateway's worker call (docs/routing.md, "Several gateways"): the phone's address
      // comes from the proven Route, the Request-URI and any further Route (a stored Path) stay as sent.
      // Record-Routed like the peer's branch, so the dialog's later requests pass here too (the phone's
      // pinhole); no NAT alias: the Contact is the far end's as the peer relayed it.
      // Not metered here: the gateway whose worker decided it counts the request and its outcome once.
      const target = { requestUri: admission.request.uri, nextHop: admission.target, route: [], headers: { remove: [], set: [], add: [] }, side: "phones" as const };
      this.relay(ctx, admission.request, [target], PEER_RECORD_ROUTED.has(req.method), false);
      return;
    }
    // 16.4 / 16.12: an in-dialog request routed by its Route set; mechanics, not policy.
    const { route } = admission;
    const callId = headerValue(req, "Call-ID") ?? "";
    const fixed = DIALOG_FORMING.has(req.method)
      ? { ...route.request, headers: addContactAlias(route.request.headers, source, (alias) => this.proof.aliasMac(callId, alias)) }
      : route.request;
    this.relay(ctx, fixed, [{ requestUri: route.uri, nextHop: route.nextHop, route: [], headers: { remove: [], set: [], add: [] } }], false, true);
  }

  /** 16.10: a CANCEL matching an INVITE in progress gets 200 and cancels it; any other is refused, statelessly. */
  private receiveCancel(
    cancel: SipRequest,
    key: TransactionKey,
    replyTo: OutboundDestination,
    refuse: (status: number, reason: string, why: string) => void,
  ): void {
    const invite = this.layer.findCancelTarget(key);
    const ctx = invite ? this.contexts.get(invite) : undefined;
    if (!ctx) {
      // 16.10: "If a response context is not found, the element ... MUST statelessly forward" or answer;
      // we answer 481, as a proxy that only relays what it decided to relay.
      refuse(481, "Call/Transaction Does Not Exist", "cancel_no_match");
      return;
    }
    const result = this.layer.receiveRequest(cancel, key, replyTo);
    if (result.kind !== "new") return;
    // 16.10: "the element MUST immediately respond to the CANCEL request with a 200 (OK) response".
    try {
      result.transaction.respond(createResponse(cancel, 200, "OK"));
    } catch (err) {
      this.o.log.debug("CANCEL 200 not sent", { error: String(err) });
    }
    onCallerCancel(this, ctx, cancel);
  }

  // ---- responses -------------------------------------------------------------------------------------------

  /**
   * A response goes to its client transaction and nowhere else: one whose top Via is the gateway's but that
   * matches no transaction is dropped (RFC 6026's Accepted state keeps 2xx retransmissions matched).
   */
  private receiveResponse(res: SipResponse, via: Via): void {
    const cseq = cseqOf(res);
    if (via?.branch && cseq && this.layer.receiveResponse(res, { branch: via.branch, method: cseq.method }).kind !== "stray") return;
    this.o.metrics.inc("edge_gateway_stray_responses_total");
  }
}
