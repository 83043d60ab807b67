/**
 * CANCEL (RFC 3261 9.1, 16.10): the caller's CANCEL, and the CANCELs the gateway sends on branches
 * (the caller cancelled, another branch answered, a 6xx, Timer C).
 */
import { headerValue } from "../../../sip/message";
import type { SipRequest } from "../../../sip/message";
import { buildCancel } from "./build-cancel";
import type { ProxyEnv } from "./env";
import { createResponse } from "./local-response";
import type { Branch, CancelCause, ResponseContext } from "./response-context";

/** 16.10: the caller's CANCEL matched this context (its own 200 is already sent). */
export function onCallerCancel(env: ProxyEnv, ctx: ResponseContext, cancel: SipRequest): void {
  ctx.cancelled = true;
  switch (ctx.state) {
    case "Deciding":
      // 16.10 / 9.2: the INVITE itself gets 487 when no branch exists to produce it (the worker has not
      // answered yet); the worker's late answer is then ignored.
      env.sendFinal(ctx, createResponse(ctx.request, 487, "Request Terminated"));
      return;
    case "Proceeding":
      ctx.machine.to("Cancelling", "CANCEL");
      cancelAll(env, ctx, headerValue(cancel, "Reason"), "caller");
      return;
    default:
      // Forking cannot be interrupted (synchronous); Cancelling, Choosing, Answered, Silent: nothing left.
      return;
  }
}

export function cancelAll(env: ProxyEnv, ctx: ResponseContext, reason: string | undefined, cause: CancelCause, except?: Branch): void {
  for (const b of ctx.branches) if (b !== except) env.cancelBranch(ctx, b, reason, cause);
}

/**
 * Cancels one branch. 9.1: "If no provisional response has been received, the CANCEL request MUST NOT be
 * sent; rather, the client MUST wait for the arrival of a provisional response before sending the
 * request." Such a branch holds the CANCEL (`releaseHeldCancel` sends it when any provisional, a 100
 * included, arrives); if none ever does, Timer B ends the branch, as 487 when the caller cancelled.
 */
export function cancelBranch(env: ProxyEnv, ctx: ResponseContext, branch: Branch, reason: string | undefined, cause: CancelCause): void {
  switch (branch.state) {
    case "Calling":
      branch.cancelCause = cause;
      branch.cancelReason = reason;
      branch.machine.to("CancelHeld", "CANCEL wanted before a provisional");
      return;
    case "Proceeding":
      branch.cancelCause = cause;
      branch.cancelReason = reason;
      sendCancel(env, ctx, branch);
      return;
    case "CancelHeld":
    case "Cancelled":
    case "Completed":
      return;
  }
}

/** A provisional response arrived on a branch holding a CANCEL: it is sent now (9.1). */
export function releaseHeldCancel(env: ProxyEnv, ctx: ResponseContext, branch: Branch): void {
  if (branch.state === "CancelHeld") sendCancel(env, ctx, branch);
}

function sendCancel(env: ProxyEnv, ctx: ResponseContext, branch: Branch): void {
  branch.machine.to("Cancelled", "CANCEL sent");
  const cancel = buildCancel(branch.request, branch.cancelReason);
  try {
    env.layer.sendRequest(cancel, { branch: branch.id, destination: branch.destination, user: { onResponse: () => undefined } });
  } catch (err) {
    env.o.log.debug("CANCEL not sent", { error: String(err) });
  }
  // 9.1: "If no final response has been received after 64*T1 seconds, the client SHOULD consider the
  // original transaction cancelled and SHOULD destroy the client transaction handling the original
  // request." The INVITE client transaction has no timer left in Proceeding: without this, a downstream
  // that never answers would leave the upstream without a final response and both transactions for good.
  env.layer.clock.setTimer(env.layer.timers.B, () => {
    if (branch.state === "Completed") return;
    env.onBranchGaveUp(ctx, branch);
    branch.transaction?.abandon("given up after CANCEL");
  });
}
