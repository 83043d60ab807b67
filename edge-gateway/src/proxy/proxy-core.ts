/**
 * The proxy core (RFC 3261 section 16) over the transaction layer: parses each datagram, answers bad
 * input, runs the transactions, asks the worker about every initial request (and the final responses it
 * wants to see), forks, picks the best response, CANCELs, and routes in-dialog requests by Route without
 * asking anyone. Mechanism only: every policy choice comes from the worker's decision.
 */
import type { RelayTarget, RequestDecision, ResponseDecision } from "../../../contract/v1";
import type { Logger } from "../observability/logger";
import type { Metrics } from "../observability/metrics";
import { parseCSeq } from "../../../sip/cseq";
import { normalizeHost } from "../../../sip/host";
import type { SipHeader, SipRequest, SipResponse } from "../../../sip/message";
import { EMPTY_BODY, headerValue, headerValues } from "../../../sip/message";
import { parseNameAddr, splitHeaderList } from "../../../sip/name-addr";
import { parseMessage } from "../../../sip/parser";
import type { ParseLimits } from "../../../sip/parser";
import { serializeMessage } from "../../../sip/serializer";
import { parseVia, topVia, type Via } from "../../../sip/via";
import type { Clock } from "../transaction/clock";
import type { Destination } from "../transaction/transaction-context";
import type { ClientTransaction, ServerTransaction } from "../transaction/transaction-layer";
import { TransactionLayer } from "../transaction/transaction-layer";
import type { TimerConfig } from "../transaction/timers";
import type { TransactionKey } from "../transaction/transaction-key";
import type { Listener, TransportAddress } from "../transport/transport";
import type { WorkerClient, WorkerFailure } from "../worker-client/worker-client";
import { chooseBestResponse } from "./best-response";
import { buildCancel } from "./build-cancel";
import { hasMixedWildcard, requestEvent, responseEvent } from "./event-builder";
import { forwardRequest, ForwardError, recordRouteValue } from "./forward-request";
import { applyHeaderEdits, HeaderEditError } from "./header-edits";
import { hostPort, LocalAddresses } from "./local-address";
import { createResponse } from "./local-response";
import { addContactAlias, consumeRequestUriAlias } from "./nat-alias";
import { derivedBranch, newBranch, responseDestination, stampTopVia } from "./via-routing";

/** A destination with the socket to send from; the transaction layer hands it back to `send`. */
interface OutboundDestination extends Destination {
  readonly listener: Listener;
}

export interface ProxyCoreOptions {
  /** Socket facing the phones, and socket facing the Asterisk boxes (the same one on a one-address gateway). */
  readonly phones: Listener;
  readonly pbx: Listener;
  readonly worker: WorkerClient;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly clock?: Clock;
  readonly timers?: Partial<TimerConfig>;
  /** Retry-After (seconds) on the 503 sent when the worker is down or slow. */
  readonly retryAfterS?: number;
  /** Extra host names that mean "this gateway" in Route / Request-URI. */
  readonly aliases?: readonly string[];
  /** Size limits of the SIP grammar for every datagram received (DEFAULT_PARSE_LIMITS when unset). */
  readonly parseLimits?: ParseLimits | undefined;
}

/** Methods that create a dialog: their Contacts get the NAT alias. */
const DIALOG_FORMING = new Set(["INVITE", "SUBSCRIBE", "REFER", "NOTIFY", "UPDATE"]);

interface Branch {
  /** The branch parameter of the gateway's Via on this branch (its CANCEL reuses it, 9.1). */
  readonly id: string;
  readonly request: SipRequest;
  readonly destination: OutboundDestination;
  transaction: ClientTransaction | undefined;
  /** A provisional response arrived (a CANCEL may be sent, 9.1). */
  provisional: boolean;
  final: SipResponse | undefined;
  /** CANCEL wanted before any provisional arrived: sent when one does. */
  cancelPending: boolean;
  cancelled: boolean;
  timerC: ReturnType<Clock["setTimer"]> | undefined;
  /** Timer C fired while it rang: the branch was CANCELled by the gateway, not by the caller. */
  timerCExpired?: boolean;
}

/** The proxy state of one server transaction (16.7's "response context"). */
interface ResponseContext {
  readonly server: ServerTransaction;
  readonly request: SipRequest;
  readonly source: TransportAddress;
  readonly listener: Listener;
  readonly branches: Branch[];
  wantResponse: "none" | "2xx" | "final";
  context: string;
  finalSent: boolean;
  cancelled: boolean;
  /** A response is with the worker: later finals wait. */
  deciding: boolean;
  /** Branches are being created: a branch failing at once must not end the fork before the others exist. */
  relaying: boolean;
}

/** The stateful proxy. */
export class ProxyCore {
  private readonly layer: TransactionLayer;
  private readonly local: LocalAddresses;
  private readonly contexts = new Map<ServerTransaction, ResponseContext>();
  private readonly retryAfter: string;

  constructor(private readonly o: ProxyCoreOptions) {
    this.local = new LocalAddresses(o.phones === o.pbx ? [o.phones] : [o.phones, o.pbx], o.aliases ?? []);
    this.retryAfter = String(o.retryAfterS ?? 5);
    this.layer = new TransactionLayer({
      send: (message, destination) => this.transmit(message, destination as OutboundDestination),
      ...(o.clock ? { clock: o.clock } : {}),
      ...(o.timers ? { timers: o.timers } : {}),
      sendTrying: true,
      serverUser: {
        onTransportError: (_t, cause) => o.log.warn("server transaction transport error", { error: String(cause) }),
        onTerminated: (t) => this.contexts.delete(t),
      },
    });
    o.metrics.gauge("edge_gateway_transactions", () => this.layer.size());
    o.metrics.gauge("edge_gateway_response_contexts", () => this.contexts.size);
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

  /** Stops every transaction (shutdown). */
  close(): void {
    this.layer.close();
    this.contexts.clear();
  }

  private transmit(message: SipRequest | SipResponse, destination: OutboundDestination): void {
    this.o.metrics.inc("edge_gateway_sent_total", { kind: message.kind });
    destination.listener.send(serializeMessage(message), destination);
  }

  private out(to: TransportAddress, listener: Listener): OutboundDestination {
    return { ip: to.ip, port: to.port, transport: "udp", listener };
  }

  // ---- receiving -------------------------------------------------------------------------------------

  private receive(bytes: Uint8Array, source: TransportAddress, listener: Listener): void {
    const parsed = parseMessage(bytes, this.o.parseLimits);
    if (!parsed.ok) {
      if (parsed.keepalive) return;
      this.o.metrics.inc("edge_gateway_bad_messages_total", { status: parsed.error.status });
      this.o.log.info("bad message", { source, status: parsed.error.status, reason: parsed.error.reason });
      const p = parsed.partial;
      if (parsed.error.replyable && p && p.method !== "ACK") {
        // RFC 3581 section 4: the reply carries the stamped Via (received, rport), as any other response does.
        const req = stampTopVia({ kind: "request", method: p.method, uri: p.uri, headers: p.headers, body: EMPTY_BODY }, source);
        const replyTo = responseDestination(topVia(req), source);
        this.transmit(createResponse(req, parsed.error.status, parsed.error.reason), this.out(replyTo, listener));
      }
      return;
    }
    const msg = parsed.message;
    this.o.metrics.inc("edge_gateway_received_total", { kind: msg.kind });
    if (msg.kind === "request") this.receiveRequest(stampTopVia(msg, source), source, listener);
    else this.receiveResponse(msg, source, listener);
  }

  private keyOf(req: SipRequest, via: Via | undefined): TransactionKey | undefined {
    if (!via?.branch) return undefined;
    return { branch: via.branch, sentBy: hostPort(normalizeHost(via.host), via.port ?? 5060), method: req.method };
  }

  private receiveRequest(req: SipRequest, source: TransportAddress, listener: Listener): void {
    const via = topVia(req);
    const key = this.keyOf(req, via);
    const replyTo = this.out(responseDestination(via, source), listener);
    if (!key) {
      if (req.method !== "ACK") this.transmit(createResponse(req, 400, "Missing Via Branch"), replyTo);
      return;
    }
    const result = this.layer.receiveRequest(req, key, replyTo);
    switch (result.kind) {
      case "absorbed":
        this.o.metrics.inc("edge_gateway_retransmissions_absorbed_total");
        return;
      case "ack":
        this.forwardAck(req, key.branch, source, listener);
        return;
      case "rfc2543":
        if (req.method !== "ACK") this.transmit(createResponse(req, 400, "RFC 2543 Transactions Not Supported"), replyTo);
        return;
      case "new":
        if (req.method === "CANCEL") this.receiveCancel(req, key, result.transaction);
        else this.receiveNewRequest(req, source, listener, result.transaction);
        return;
    }
  }

  private respond(server: ServerTransaction, res: SipResponse): void {
    try {
      server.respond(res);
    } catch (err) {
      // A response after the final one (a late worker answer, say) is not sent; the state machine says so.
      this.o.log.debug("response not sent", { status: res.status, error: String(err) });
    }
  }

  private reply(server: ServerTransaction, req: SipRequest, status: number, reason: string, extra: SipHeader[] = []): void {
    this.respond(server, createResponse(req, status, reason, extra));
  }

  // ---- in-dialog and ACK: routed by Route / Request-URI, no worker call --------------------------------

  /** Removes the Route values that point at the gateway from the top (one, or two for a double Record-Route). */
  private popOwnRoutes(req: SipRequest): { request: SipRequest; popped: number } {
    const values: string[] = [];
    for (const h of req.headers) if (h.name === "Route") values.push(...splitHeaderList(h.value));
    let popped = 0;
    while (popped < values.length) {
      const na = parseNameAddr(values[popped]!);
      if (!na || !this.local.isLocalUri(na.uri)) break;
      popped++;
    }
    if (popped === 0) return { request: req, popped };
    const rest = values.slice(popped);
    const headers: SipHeader[] = [];
    let placed = false;
    for (const h of req.headers) {
      if (h.name !== "Route") headers.push(h);
      else if (!placed) {
        placed = true;
        for (const v of rest) headers.push({ name: "Route", value: v });
      }
    }
    return { request: { ...req, headers }, popped };
  }

  /** The Request-URI and next hop of an in-dialog request once our Route entries are gone. */
  private inDialogTarget(req: SipRequest): { uri: string; nextHop: TransportAddress | undefined } {
    const alias = consumeRequestUriAlias(req.uri);
    const hasRoute = req.headers.some((h) => h.name === "Route");
    if (alias) return { uri: alias.uri, nextHop: hasRoute ? undefined : alias.target };
    return { uri: req.uri, nextHop: undefined };
  }

  /** The listener facing `to`: the phones' side unless `to` is where the request came from on the other side. */
  private listenerFor(side: RelayTarget["side"] | undefined, arrivedOn: Listener): Listener {
    if (side === "pbx") return this.o.pbx;
    if (side === "phones") return this.o.phones;
    // In-dialog: the other side of where it arrived.
    return arrivedOn === this.o.phones ? this.o.pbx : this.o.phones;
  }

  private forwardAck(req: SipRequest, incomingBranch: string, source: TransportAddress, listener: Listener): void {
    const { request, popped } = this.popOwnRoutes(req);
    if (popped === 0) {
      this.o.metrics.inc("edge_gateway_stray_acks_total");
      return;
    }
    const target = this.inDialogTarget(request);
    const out = this.listenerFor(undefined, listener);
    const branch = derivedBranch(incomingBranch, `${headerValue(req, "Call-ID") ?? ""}|ACK`);
    try {
      const { request: fwd, destination } = forwardRequest(
        request,
        { requestUri: target.uri, nextHop: target.nextHop, route: [] },
        out.advertised,
        branch,
        [],
      );
      // 16.11: the ACK for a 2xx is forwarded statelessly.
      this.transmit(fwd, this.out(destination, out));
    } catch (err) {
      this.o.log.info("ACK not forwarded", { source, error: String(err) });
    }
  }

  private receiveNewRequest(req: SipRequest, source: TransportAddress, listener: Listener, server: ServerTransaction): void {
    const ctx: ResponseContext = {
      server,
      request: req,
      source,
      listener,
      branches: [],
      wantResponse: "none",
      context: "",
      finalSent: false,
      cancelled: false,
      deciding: false,
      relaying: false,
    };
    this.contexts.set(server, ctx);
    // 16.3 step 5: "If the request contains a Proxy-Require header field with one or more option-tags this
    // element does not understand, the element MUST return a 420 (Bad Extension) response. The response MUST
    // include an Unsupported header field listing those option-tags". This gateway supports none.
    const unsupported = headerValues(req, "Proxy-Require").flatMap((v) => splitHeaderList(v));
    if (unsupported.length > 0) {
      this.reply(server, req, 420, "Bad Extension", [{ name: "Unsupported", value: unsupported.join(", ") }]);
      return;
    }
    const toTag = parseNameAddr(headerValue(req, "To") ?? "")?.params["tag"];
    const { request, popped } = this.popOwnRoutes(req);
    if (toTag !== undefined) {
      // 16.4 / 16.12: an in-dialog request routed by its Route set; mechanics, not policy.
      if (popped === 0) {
        this.reply(server, req, 404, "Not Here");
        return;
      }
      const target = this.inDialogTarget(request);
      const fixed = DIALOG_FORMING.has(req.method) ? { ...request, headers: addContactAlias(request.headers, source) } : request;
      this.relay(ctx, fixed, [{ requestUri: target.uri, nextHop: target.nextHop, route: [], headers: { remove: [], set: [], add: [] } }], false, listener);
      return;
    }
    // RFC 3261 10.2.2: "*" is a Contact of its own; mixed with other Contacts the REGISTER is malformed, and
    // the event could not say so (its contacts are a list or "*").
    if (req.method === "REGISTER" && hasMixedWildcard(req)) {
      this.reply(server, req, 400, "Invalid Wildcard Contact");
      return;
    }
    // An initial request: the worker decides.
    this.o.metrics.inc("edge_gateway_worker_calls_total", { kind: "request" });
    const event = requestEvent(request, server.branch, source, listener.local, Date.now());
    void this.o.worker
      .request(event)
      .catch((err: unknown): WorkerFailure => ({ ok: false, reason: "unavailable", detail: String(err) }))
      .then((answer) => {
        if (!answer.ok) {
          this.o.metrics.inc("edge_gateway_worker_failures_total", { reason: answer.reason });
          this.o.log.warn("worker unavailable", { method: req.method, reason: answer.reason, detail: answer.detail });
          if (!ctx.finalSent && !ctx.cancelled) {
            this.reply(server, req, 503, "Service Unavailable", [{ name: "Retry-After", value: this.retryAfter }]);
          }
          return;
        }
        this.applyRequestDecision(ctx, request, answer.decision);
      })
      // An exception after an await is no longer caught by onDatagram: unhandled, it would end the process.
      .catch((err: unknown) => this.internalError(ctx, err));
  }

  /** A defect while acting on a worker answer: logged, and the request answered 500 if nothing was sent. */
  private internalError(ctx: ResponseContext, err: unknown): void {
    this.o.metrics.inc("edge_gateway_internal_errors_total");
    this.o.log.error("worker answer handling failed", { error: err instanceof Error ? err.stack : String(err) });
    if (!ctx.cancelled) this.sendFinal(ctx, createResponse(ctx.request, 500, "Server Internal Error"), false);
  }

  private applyRequestDecision(ctx: ResponseContext, request: SipRequest, decision: RequestDecision): void {
    if (ctx.cancelled) return; // 487 already sent
    switch (decision.action) {
      case "reply":
        this.reply(ctx.server, ctx.request, decision.status, decision.reason, sipHeaders(decision.headers));
        return;
      case "drop":
        this.o.log.info("request dropped by policy", { method: request.method, reason: decision.reason });
        this.endSilently(ctx);
        return;
      case "relay": {
        ctx.wantResponse = decision.wantResponse;
        ctx.context = decision.context;
        const fixed = DIALOG_FORMING.has(request.method) ? { ...request, headers: addContactAlias(request.headers, ctx.source) } : request;
        this.relay(ctx, fixed, decision.targets, decision.recordRoute, ctx.listener);
        return;
      }
    }
  }

  // ---- forwarding and forking --------------------------------------------------------------------------

  private relay(ctx: ResponseContext, req: SipRequest, targets: readonly RelayTarget[], recordRoute: boolean, arrivedOn: Listener): void {
    let refused: ForwardError | undefined;
    ctx.relaying = true;
    for (const t of targets) {
      const out = this.listenerFor(t.side, arrivedOn);
      // 16.6 step 4; two entries when the request crosses from one gateway address to the other.
      const rr = !recordRoute
        ? []
        : out === arrivedOn
          ? [recordRouteValue(out.advertised)]
          : [recordRouteValue(out.advertised), recordRouteValue(arrivedOn.advertised)];
      const branchId = newBranch();
      let built: { request: SipRequest; destination: TransportAddress };
      try {
        if (t.nextHop && t.nextHop.transport !== "udp") throw new ForwardError(503, "Transport Not Supported");
        const nextHop = t.nextHop ? { ip: t.nextHop.ip, port: t.nextHop.port, transport: "udp" as const } : undefined;
        built = forwardRequest(req, { ...t, nextHop }, out.advertised, branchId, rr);
      } catch (err) {
        if (err instanceof ForwardError || err instanceof HeaderEditError) {
          const e = err instanceof ForwardError ? err : new ForwardError(500, "Bad Decision");
          this.o.log.info("branch not forwarded", { method: req.method, status: e.status, reason: e.reason, detail: err.message });
          // The first refusal is the answer when no branch can be forwarded (a 483 stays a 483 when forking).
          refused ??= e;
          continue;
        }
        ctx.relaying = false;
        throw err;
      }
      const branch: Branch = {
        id: branchId,
        request: built.request,
        destination: this.out(built.destination, out),
        transaction: undefined,
        provisional: false,
        final: undefined,
        cancelPending: false,
        cancelled: false,
        timerC: undefined,
      };
      ctx.branches.push(branch);
      branch.transaction = this.layer.sendRequest(built.request, {
        branch: branchId,
        destination: branch.destination,
        user: {
          onResponse: (res) => this.onBranchResponse(ctx, branch, res),
          onTimeout: () => this.onBranchTimeout(ctx, branch),
          onTransportError: (_t, cause) => {
            this.o.log.warn("branch transport error", { error: String(cause) });
            // 16.9: "the proxy MUST behave as if the forwarded request received a 503 (Service Unavailable)".
            this.onBranchTimeout(ctx, branch, 503, "Service Unavailable");
          },
        },
      });
      if (req.method === "INVITE" && !branch.final) this.startTimerC(ctx, branch);
    }
    ctx.relaying = false;
    if (ctx.branches.length === 0) {
      if (!ctx.finalSent) this.reply(ctx.server, ctx.request, refused?.status ?? 500, refused?.reason ?? "No Branch Could Be Forwarded");
      return;
    }
    // Branches that failed at once (a transport error) were held back until every branch existed.
    this.maybeFinish(ctx);
  }

  /** Timer C (16.6 step 11): an INVITE branch that stays unanswered too long is CANCELled or given up. */
  private startTimerC(ctx: ResponseContext, branch: Branch): void {
    const clock = this.layer.clock;
    if (branch.timerC) clock.clearTimer(branch.timerC);
    branch.timerC = clock.setTimer(this.layer.timers.C, () => {
      branch.timerC = undefined;
      if (branch.final) return;
      // 16.8: "If the client transaction has received a provisional response, the proxy MUST generate a
      // CANCEL request matching that transaction. If the client transaction has not received a provisional
      // response, the proxy MUST behave as if the transaction received a 408 (Request Timeout) response."
      if (branch.provisional) {
        branch.timerCExpired = true;
        this.cancelBranch(ctx, branch, undefined);
      } else this.onBranchTimeout(ctx, branch);
    });
  }

  private cancelBranch(ctx: ResponseContext, branch: Branch, reason: string | undefined): void {
    if (branch.final || branch.cancelled) return;
    // 9.1: "a CANCEL request SHOULD NOT be sent to cancel a request that has not yet received a provisional".
    if (!branch.provisional) {
      branch.cancelPending = true;
      return;
    }
    branch.cancelled = true;
    const cancel = buildCancel(branch.request, reason);
    try {
      this.layer.sendRequest(cancel, { branch: branch.id, destination: branch.destination, user: { onResponse: () => undefined } });
    } catch (err) {
      this.o.log.debug("CANCEL not sent", { error: String(err) });
    }
    // 9.1: "If no final response has been received after 64*T1 seconds, the client SHOULD consider the
    // original transaction cancelled and SHOULD destroy the client transaction handling the original
    // request." The INVITE client transaction has no timer left in Proceeding: without this, a downstream
    // that never answers would leave the upstream without a final response and both transactions for good.
    this.layer.clock.setTimer(this.layer.timers.B, () => {
      if (branch.final) return;
      if (ctx.cancelled) this.onBranchTimeout(ctx, branch, 487, "Request Terminated");
      else this.onBranchTimeout(ctx, branch);
      branch.transaction?.abandon("given up after CANCEL");
    });
  }

  private cancelAll(ctx: ResponseContext, reason: string | undefined, except?: Branch): void {
    for (const b of ctx.branches) if (b !== except) this.cancelBranch(ctx, b, reason);
  }

  // ---- responses -----------------------------------------------------------------------------------------

  private receiveResponse(res: SipResponse, source: TransportAddress, listener: Listener): void {
    const via = topVia(res);
    const cseq = parseCSeq(headerValue(res, "CSeq") ?? "");
    if (!via?.branch || !cseq) return;
    const result = this.layer.receiveResponse(res, { branch: via.branch, method: cseq.method });
    if (result.kind !== "stray") return;
    // 16.7 / 18.1.2: a 2xx retransmission for an INVITE whose client transaction is gone: forward it
    // statelessly along the Via chain. Anything else stray is dropped.
    if (cseq.method === "INVITE" && res.status >= 200 && res.status < 300 && this.local.isLocal(via.host, via.port)) {
      const stripped = stripTopVia(res);
      const next = topVia(stripped);
      if (!next) return;
      const fixed = { ...stripped, headers: addContactAlias(stripped.headers, source) };
      const back = listener === this.o.phones ? this.o.pbx : this.o.phones;
      this.transmit(fixed, this.out(responseDestination(next, source), this.o.phones === this.o.pbx ? listener : back));
      return;
    }
    this.o.metrics.inc("edge_gateway_stray_responses_total");
  }

  private onBranchResponse(ctx: ResponseContext, branch: Branch, raw: SipResponse): void {
    const res0 = stripTopVia(raw);
    const res = DIALOG_FORMING.has(ctx.request.method) && raw.status < 300
      ? { ...res0, headers: addContactAlias(res0.headers, branch.destination) }
      : res0;
    const isInvite = ctx.request.method === "INVITE";
    if (res.status < 200) {
      if (res.status === 100) return;
      branch.provisional = true;
      if (branch.cancelPending || ctx.cancelled) {
        this.cancelBranch(ctx, branch, undefined);
        return;
      }
      if (isInvite) this.startTimerC(ctx, branch);
      // 16.7 step 5: provisional responses other than 100 are forwarded immediately.
      if (!ctx.finalSent) this.respond(ctx.server, res);
      return;
    }
    if (res.status < 300) {
      if (branch.timerC) this.layer.clock.clearTimer(branch.timerC);
      branch.final = res;
      if (isInvite) {
        // 16.7 step 10 and 16.7 step 5: a 2xx is forwarded at once (every 2xx of every branch), and the
        // other branches are CANCELled.
        this.cancelAll(ctx, 'SIP;cause=200;text="Call completed elsewhere"', branch);
        if (ctx.wantResponse !== "none") this.decideResponse(ctx, branch, res);
        else this.sendFinal(ctx, res, true);
        return;
      }
      if (ctx.finalSent || ctx.deciding) return;
      if (ctx.wantResponse !== "none") this.decideResponse(ctx, branch, res);
      else this.sendFinal(ctx, res, false);
      return;
    }
    if (branch.timerC) this.layer.clock.clearTimer(branch.timerC);
    // The 487 that answers Timer C's own CANCEL would tell the caller that it cancelled: for the caller the
    // phone did not answer in time, a 408 (as when it never rang, 16.8; Kamailio's fr_inv_timer alike).
    branch.final = branch.timerCExpired && res.status === 487 && !ctx.cancelled ? createResponse(ctx.request, 408, "Request Timeout") : res;
    // 16.7 step 6 / 16.7 step 4: a 6xx ends the search: CANCEL the other branches.
    if (isInvite && res.status >= 600) this.cancelAll(ctx, undefined, branch);
    this.maybeFinish(ctx);
  }

  private onBranchTimeout(ctx: ResponseContext, branch: Branch, status = 408, reason = "Request Timeout"): void {
    if (branch.final) return;
    if (branch.timerC) this.layer.clock.clearTimer(branch.timerC);
    // 16.8: a client transaction timeout is treated as a 408 from that branch.
    branch.final = createResponse(ctx.request, status, reason);
    this.maybeFinish(ctx);
  }

  /** When every branch has a final response and nothing was sent, the best one goes upstream (16.7 step 6). */
  private maybeFinish(ctx: ResponseContext): void {
    if (ctx.finalSent || ctx.deciding || ctx.relaying) return;
    if (ctx.branches.some((b) => !b.final)) return;
    const best = chooseBestResponse(ctx.branches.map((b) => b.final!).filter((r) => r.status >= 300));
    if (!best) return;
    if (ctx.wantResponse === "final") this.decideResponse(ctx, undefined, best);
    else this.sendFinal(ctx, best, false);
  }

  private sendFinal(ctx: ResponseContext, res: SipResponse, isInvite2xx: boolean): void {
    if (ctx.finalSent && !isInvite2xx) return;
    ctx.finalSent = true;
    if (isInvite2xx && ctx.server.state !== "Proceeding") {
      // A further 2xx (another branch, or after the transaction ended): forwarded statelessly (16.7 step 5).
      this.transmit(res, ctx.server.replyTo as OutboundDestination);
      return;
    }
    this.respond(ctx.server, res);
  }

  private decideResponse(ctx: ResponseContext, branch: Branch | undefined, res: SipResponse): void {
    ctx.deciding = true;
    this.o.metrics.inc("edge_gateway_worker_calls_total", { kind: "response" });
    const source = branch ? { ip: branch.destination.ip, port: branch.destination.port, transport: "udp" as const } : ctx.source;
    const ev = responseEvent(res, ctx.server.branch, source, (branch?.destination.listener ?? ctx.listener).local, Date.now(), ctx.context);
    void this.o.worker
      .response(ev)
      .catch((err: unknown): WorkerFailure => ({ ok: false, reason: "unavailable", detail: String(err) }))
      .then((answer) => {
        ctx.deciding = false;
        if (!answer.ok) {
          this.o.metrics.inc("edge_gateway_worker_failures_total", { reason: answer.reason });
          this.o.log.warn("worker unavailable for a response", { status: res.status, reason: answer.reason, detail: answer.detail });
          // The worker could not record what the response means (a binding): the phone must not believe it
          // worked. It gets a 5xx and retries.
          this.sendFinal(ctx, createResponse(ctx.request, 500, "Response Not Processed", [{ name: "Retry-After", value: this.retryAfter }]), false);
          return;
        }
        this.applyResponseDecision(ctx, res, answer.decision);
      })
      .catch((err: unknown) => this.internalError(ctx, err));
  }

  private applyResponseDecision(ctx: ResponseContext, res: SipResponse, decision: ResponseDecision): void {
    switch (decision.action) {
      case "forward": {
        let headers: SipHeader[];
        try {
          headers = applyHeaderEdits(res.headers, decision.headers);
        } catch (err) {
          // The worker asked for something the gateway will not write: the response it meant to shape
          // (a registrar's 2xx carrying the gateway's own contacts, say) must not reach the phone as is.
          this.o.log.warn("response edit refused", { error: String(err) });
          this.sendFinal(ctx, createResponse(ctx.request, 500, "Bad Decision"), false);
          return;
        }
        this.sendFinal(ctx, { ...res, headers }, ctx.request.method === "INVITE" && res.status < 300);
        return;
      }
      case "reply":
        this.sendFinal(
          ctx,
          createResponse(ctx.request, decision.status, decision.reason, sipHeaders(decision.headers)),
          false,
        );
        return;
      case "drop":
        this.o.log.info("response dropped by policy", { status: res.status, reason: decision.reason });
        // Nothing else will be sent once every branch has its final response: the same silent end as a
        // dropped request. Branches still open finish the usual way.
        if (!ctx.finalSent && ctx.branches.every((b) => b.final)) this.endSilently(ctx);
        return;
    }
  }

  /**
   * Ends a server transaction that is never to be answered. It stays, silent, to absorb retransmissions (no
   * worker call for each), and is ended after 64*T1 as Timer J ends an answered one; disposing of it at
   * once left it in the transaction layer's table for good, a leak per dropped request.
   */
  private endSilently(ctx: ResponseContext): void {
    ctx.finalSent = true;
    this.layer.clock.setTimer(this.layer.timers.J, () => ctx.server.abandon("dropped by policy"));
  }

  // ---- CANCEL (16.10) --------------------------------------------------------------------------------------

  private receiveCancel(cancel: SipRequest, key: TransactionKey, server: ServerTransaction): void {
    const invite = this.layer.findCancelTarget(key);
    const ctx = invite ? this.contexts.get(invite) : undefined;
    if (!invite || !ctx) {
      // 16.10: "If a response context is not found, the element ... MUST statelessly forward" or answer;
      // we answer 481, as a proxy that only relays what it decided to relay.
      this.respond(server, createResponse(cancel, 481, "Call/Transaction Does Not Exist"));
      return;
    }
    // 16.10: "the element MUST immediately respond to the CANCEL request with a 200 (OK) response".
    this.respond(server, createResponse(cancel, 200, "OK"));
    ctx.cancelled = true;
    const reason = headerValue(cancel, "Reason");
    this.cancelAll(ctx, reason);
    // 16.10 / 9.2: the INVITE itself gets 487 when no branch is left to produce it (the worker has not
    // answered yet, or nothing was forwarded).
    if (ctx.branches.length === 0 && !ctx.finalSent) {
      ctx.finalSent = true;
      this.respond(invite, createResponse(ctx.request, 487, "Request Terminated"));
    }
  }
}

/** Header pairs of a decision as SIP header fields. */
function sipHeaders(pairs: readonly (readonly [string, string])[]): SipHeader[] {
  return pairs.map(([name, value]) => ({ name, value }));
}

/** The response without its top Via value (the gateway's own), keeping other values of that line. */
function stripTopVia(res: SipResponse): SipResponse {
  const idx = res.headers.findIndex((h) => h.name === "Via");
  const line = res.headers[idx];
  if (!line) return res;
  const vias = parseVia(line.value);
  const headers = [...res.headers];
  if (vias.length <= 1) headers.splice(idx, 1);
  else headers[idx] = { name: "Via", value: splitHeaderList(line.value).slice(1).join(", ") };
  return { ...res, headers };
}

