/**
 * Responses from the branches and the choice of what goes upstream (RFC 3261 16.7): provisionals relayed,
 * every 2xx relayed (each one decided by the worker first when it asked to see it, retransmissions held
 * meanwhile), the best final chosen once every branch is final.
 */
import { headerValue } from "../../../sip/message";
import type { SipResponse } from "../../../sip/message";
import { headerTag } from "../../../sip/core-headers";
import { stripTopVia } from "../transaction/via-line";
import { chooseBestResponse } from "./best-response";
import { cancelAll, releaseHeldCancel } from "./cancel";
import type { ProxyEnv } from "./env";
import { clearAttemptTimer, failOver } from "./forking";
import { createResponse } from "./local-response";
import { addContactAlias, DIALOG_FORMING } from "./nat-alias";
import type { Branch, OutboundDestination, ResponseContext } from "./response-context";

export function onBranchResponse(env: ProxyEnv, ctx: ResponseContext, branch: Branch, raw: SipResponse): void {
  // 16.7 step 3: the gateway's own Via goes.
  const stripped = stripTopVia(raw);
  const callId = headerValue(raw, "Call-ID") ?? "";
  const res =
    DIALOG_FORMING.has(ctx.request.method) && raw.status < 300
      ? { ...stripped, headers: addContactAlias(stripped.headers, branch.destination, (alias) => env.proof.aliasMac(callId, alias)) }
      : stripped;
  const isInvite = ctx.request.method === "INVITE";
  if (res.status < 200) {
    // The callee rang (or the box said more than 100): an INVITE is past the point of failing over.
    if (res.status > 100) branch.rang = true;
    // 9.1: a CANCEL may be sent "once a provisional response has been received": a 100 is one.
    if (branch.state === "Calling") branch.machine.to("Proceeding", `response ${res.status}`);
    if (branch.state === "CancelHeld") {
      releaseHeldCancel(env, ctx, branch);
      return;
    }
    if (branch.state !== "Proceeding") return;
    // 16.7 step 5: a 100 is not forwarded; 16.7 step 2: only other provisionals restart Timer C.
    if (res.status === 100) return;
    if (isInvite) env.startTimerC(ctx, branch);
    // 16.7 step 5: provisional responses other than 100 are forwarded immediately.
    if (ctx.open) env.respond(ctx, res);
    return;
  }
  if (res.status < 300) {
    on2xx(env, ctx, branch, res, isInvite);
    return;
  }
  env.clearTimerC(branch);
  if (branch.state === "Completed") return;
  // The 487 that answers Timer C's own CANCEL would tell the caller that it cancelled: for the caller the
  // phone did not answer in time, a 408 (as when it never rang, 16.8; Kamailio's fr_inv_timer alike).
  branch.final = branch.cancelCause === "timer-c" && res.status === 487 && !ctx.cancelled ? createResponse(ctx.request, 408, "Request Timeout") : res;
  branch.machine.to("Completed", `response ${res.status}`);
  // 16.7 step 6 / 16.7 step 4: a 6xx ends the search: CANCEL the other branches.
  if (isInvite && res.status >= 600) cancelAll(env, ctx, undefined, "other-branch", branch);
  // A 408 or 503 may send the request on to the target's next hop (forking.ts).
  failOver(env, ctx, branch);
  env.maybeFinish(ctx);
}

/**
 * A 2xx, per branch and To tag (each one is a dialog). A retransmission (the INVITE client transaction is
 * in RFC 6026's Accepted state and passes it up) is absorbed while its decision is pending and sent again
 * once decided: an undecided gated 2xx never goes upstream.
 */
function on2xx(env: ProxyEnv, ctx: ResponseContext, branch: Branch, res: SipResponse, isInvite: boolean): void {
  const key = `${branch.id}\n${headerTag(res, "To") ?? ""}`;
  const known = ctx.answers.get(key);
  if (known) {
    if (known.kind === "sent") {
      // 16.7 step 5: 2xx retransmissions go upstream, as the worker shaped the first one.
      env.transmit(known.response, ctx.server.replyTo as OutboundDestination);
    } else {
      env.o.metrics.inc("edge_gateway_retransmissions_absorbed_total", { kind: "2xx" });
    }
    return;
  }
  env.clearTimerC(branch);
  clearAttemptTimer(env, branch);
  if (branch.state !== "Completed") {
    branch.final = res;
    branch.machine.to("Completed", `response ${res.status}`);
  }
  if (isInvite) {
    // 16.7 step 10 and 16.7 step 5: every 2xx of every branch is forwarded, and the other branches are
    // CANCELled.
    cancelAll(env, ctx, 'SIP;cause=200;text="Call completed elsewhere"', "other-branch", branch);
  } else if (!ctx.open || ctx.deciding2xx) {
    // A non-INVITE has one final response upstream.
    ctx.answers.set(key, { kind: "withheld" });
    return;
  }
  if (ctx.wantResponse !== "none") {
    ctx.answers.set(key, { kind: "deciding" });
    env.decideResponse(ctx, branch, res, key);
  } else {
    ctx.answers.set(key, { kind: "sent", response: res });
    env.sendFinal(ctx, res);
  }
}

/** A branch ends without a final response of its own: 16.8 (timeout: 408), 16.9 (transport error: 503). */
export function onBranchGaveUp(env: ProxyEnv, ctx: ResponseContext, branch: Branch, status?: number, reason?: string): void {
  if (branch.state === "Completed") return;
  env.clearTimerC(branch);
  // A branch whose caller cancelled ends as the CANCEL meant it to (9.1, 16.10): 487, whether its CANCEL
  // went out (and was never answered) or was held because no provisional ever came.
  const [s, r] = status !== undefined ? [status, reason ?? ""] : ctx.cancelled ? [487, "Request Terminated"] : [408, "Request Timeout"];
  branch.final = createResponse(ctx.request, s, r);
  branch.machine.to("Completed", `gave up ${s}`);
  // A timeout (408) or a transport error (503) may send the request on to the target's next hop.
  failOver(env, ctx, branch);
  env.maybeFinish(ctx);
}

/** 16.7 step 6: when every branch has a final response and nothing was sent, the best one goes upstream. */
export function maybeFinish(env: ProxyEnv, ctx: ResponseContext): void {
  if (!ctx.machine.in("Proceeding", "Cancelling") || ctx.deciding2xx) return;
  if (ctx.branches.some((b) => b.state !== "Completed")) return;
  const best = chooseBestResponse(ctx.branches.map((b) => b.final!).filter((r) => r.status >= 300));
  if (!best) return;
  if (ctx.wantResponse === "final") {
    ctx.machine.to("Choosing", "best response to the worker");
    env.decideResponse(ctx, undefined, best, undefined);
  } else env.sendFinal(ctx, best);
}

/**
 * Sends a final response upstream. Every 2xx of an INVITE goes (16.7 step 5; after the server transaction
 * ended, statelessly); anything else only as the first final. `local`: a rejection the gateway wrote,
 * sent once (no Timer G).
 */
export function sendFinal(env: ProxyEnv, ctx: ResponseContext, res: SipResponse, local = false): void {
  if (ctx.state === "Silent") return;
  const invite2xx = ctx.request.method === "INVITE" && res.status >= 200 && res.status < 300;
  if (!invite2xx) {
    if (!ctx.open && ctx.state !== "Choosing") return;
    ctx.machine.to("Answered", `final ${res.status}`);
    env.meter.answered(ctx.metered, res.status, local);
    env.respond(ctx, res, local && res.status >= 300);
    // A 401 / 407 going up: the request that answers it is not refused for the load (challenge-answers.ts).
    env.overload.challenges.noteFinal(ctx.request, ctx.source, res.status);
    return;
  }
  env.meter.answered(ctx.metered, res.status, local);
  if (ctx.state !== "Answered") ctx.machine.to("Answered", "2xx");
  if (ctx.server.state === "Proceeding" || ctx.server.state === "Accepted") env.respond(ctx, res);
  else env.transmit(res, ctx.server.replyTo as OutboundDestination);
}
