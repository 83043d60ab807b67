/**
 * Worker orchestration: the request decision of an initial request and the response decisions the worker
 * asked for, with failures mapped to answers (503 / 500 with Retry-After), every call counted against the
 * overload bound.
 */
import type { RequestDecision, ResponseDecision } from "../../../contract/v1";
import { headerValue } from "../../../sip/message";
import type { SipHeader, SipRequest, SipResponse } from "../../../sip/message";
import type { WorkerFailure } from "../worker-client/worker-client";
import type { ProxyEnv } from "./env";
import { requestEvent, responseEvent } from "./event-builder";
import { applyHeaderEdits } from "./header-edits";
import { createResponse } from "./local-response";
import { addContactAlias, DIALOG_FORMING } from "./nat-alias";
import type { Branch, ResponseContext } from "./response-context";

const unavailable = (err: unknown): WorkerFailure => ({ ok: false, reason: "unavailable", detail: String(err) });

/** Header pairs of a decision as SIP header fields. */
function sipHeaders(pairs: readonly (readonly [string, string])[]): SipHeader[] {
  return pairs.map(([name, value]) => ({ name, value }));
}

/** An initial request: the worker decides. */
export function askRequest(env: ProxyEnv, ctx: ResponseContext, request: SipRequest): void {
  env.o.metrics.inc("edge_gateway_worker_calls_total", { kind: "request" });
  // Failover to a next hop stays within the requester's own transaction time (64*T1, RFC 3261 17.1.1.2 /
  // 17.1.2.2 Timer B / F), counted from arrival: the worker's decision time is part of it.
  ctx.failoverDeadline = env.layer.clock.now() + env.layer.timers.F;
  // Which socket it arrived on: with a separate Asterisk-side socket the worker trusts a source as an
  // Asterisk only on that socket (docs/security.md).
  const role = env.o.phones === env.o.pbx ? "shared" : ctx.listener === env.o.pbx ? "pbx" : "phones";
  // Every socket of this gateway: a binding saved on another one is reached through that gateway.
  const sockets = env.o.phones === env.o.pbx ? [env.o.phones.local] : [env.o.phones.local, env.o.pbx.local];
  const event = requestEvent(request, ctx.server.branch, ctx.source, ctx.listener.local, Date.now(), role, sockets);
  void env.overload
    .track(env.o.worker.request(event))
    .catch(unavailable)
    .then((answer) => {
      if (!answer.ok) {
        env.o.metrics.inc("edge_gateway_worker_failures_total", { reason: answer.reason });
        env.o.log.warn("worker unavailable", { method: request.method, reason: answer.reason, detail: answer.detail });
        if (ctx.state === "Deciding") env.reply(ctx, 503, "Service Unavailable", [{ name: "Retry-After", value: env.retryAfter }], true);
        return;
      }
      applyRequestDecision(env, ctx, request, answer.decision);
    })
    // An exception after an await is no longer caught by onDatagram: unhandled, it would end the process.
    .catch((err: unknown) => env.internalError(ctx, err));
}

function applyRequestDecision(env: ProxyEnv, ctx: ResponseContext, request: SipRequest, decision: RequestDecision): void {
  if (ctx.state !== "Deciding") return; // CANCELled meanwhile: 487 already sent
  if (decision.action !== "drop") env.meter.attribute(ctx.metered, decision.tenant);
  switch (decision.action) {
    case "reply":
      // A rejection (an unknown source, say) is sent once, as a stateless proxy would: no Timer G.
      if (decision.status >= 300) env.o.metrics.inc("edge_gateway_rejections_total", { reason: "worker" });
      env.reply(ctx, decision.status, decision.reason, sipHeaders(decision.headers), decision.status >= 300);
      return;
    case "drop":
      env.o.log.info("request dropped by policy", { method: request.method, reason: decision.reason });
      env.endSilently(ctx);
      return;
    case "relay": {
      ctx.wantResponse = decision.wantResponse;
      ctx.context = decision.context;
      const callId = headerValue(request, "Call-ID") ?? "";
      const fixed = DIALOG_FORMING.has(request.method)
        ? { ...request, headers: addContactAlias(request.headers, ctx.source, (alias) => env.proof.aliasMac(callId, alias)) }
        : request;
      env.relay(ctx, fixed, decision.targets, decision.recordRoute, false);
      return;
    }
  }
}

/**
 * A response the worker asked to see. `answerKey` names the 2xx (branch and To tag) whose state this
 * decision settles; undefined for the best final response of a fork.
 */
export function decideResponse(env: ProxyEnv, ctx: ResponseContext, branch: Branch | undefined, res: SipResponse, answerKey: string | undefined): void {
  const failed = (reason: string, detail: string): void => {
    env.o.metrics.inc("edge_gateway_worker_failures_total", { reason });
    env.o.log.warn("worker unavailable for a response", { status: res.status, reason, detail });
    if (answerKey !== undefined) ctx.answers.set(answerKey, { kind: "withheld" });
    // The worker could not record what the response means (a binding): the phone must not believe it
    // worked. It gets a 5xx and retries.
    env.sendFinal(ctx, createResponse(ctx.request, 500, "Response Not Processed", [{ name: "Retry-After", value: env.retryAfter }]), true);
  };
  if (!env.overload.canDecide()) {
    failed("overload", "too many pending decisions");
    return;
  }
  env.o.metrics.inc("edge_gateway_worker_calls_total", { kind: "response" });
  const source = branch ? { ip: branch.destination.ip, port: branch.destination.port, transport: "udp" as const } : ctx.source;
  const ev = responseEvent(res, ctx.server.branch, source, (branch?.destination.listener ?? ctx.listener).local, Date.now(), ctx.context);
  void env.overload
    .track(env.o.worker.response(ev))
    .catch(unavailable)
    .then((answer) => {
      if (!answer.ok) {
        failed(answer.reason, answer.detail);
        return;
      }
      applyResponseDecision(env, ctx, res, answer.decision, answerKey);
    })
    .catch((err: unknown) => env.internalError(ctx, err));
}

function applyResponseDecision(env: ProxyEnv, ctx: ResponseContext, res: SipResponse, decision: ResponseDecision, answerKey: string | undefined): void {
  const settle = (state: { kind: "withheld" } | { kind: "sent"; response: SipResponse }): void => {
    if (answerKey !== undefined) ctx.answers.set(answerKey, state);
  };
  switch (decision.action) {
    case "forward": {
      let headers: SipHeader[];
      try {
        headers = applyHeaderEdits(res.headers, decision.headers);
      } catch (err) {
        // The worker asked for something the gateway will not write: the response it meant to shape
        // (a registrar's 2xx carrying the gateway's own contacts, say) must not reach the phone as is.
        env.o.log.warn("response edit refused", { error: String(err) });
        settle({ kind: "withheld" });
        env.sendFinal(ctx, createResponse(ctx.request, 500, "Bad Decision"), true);
        return;
      }
      const shaped = { ...res, headers };
      settle({ kind: "sent", response: shaped });
      env.sendFinal(ctx, shaped);
      return;
    }
    case "reply":
      settle({ kind: "withheld" });
      env.sendFinal(ctx, createResponse(ctx.request, decision.status, decision.reason, sipHeaders(decision.headers)), decision.status >= 300);
      return;
    case "drop":
      settle({ kind: "withheld" });
      env.o.log.info("response dropped by policy", { status: res.status, reason: decision.reason });
      // Nothing else will be sent once every branch has its final response: the same silent end as a
      // dropped request. Branches still open finish the usual way.
      if (ctx.machine.in("Proceeding", "Cancelling", "Choosing") && ctx.branches.every((b) => b.state === "Completed")) env.endSilently(ctx);
      return;
  }
}
