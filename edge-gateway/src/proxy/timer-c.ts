/** Timer C (RFC 3261 16.6 step 11, 16.8): an INVITE branch that stays unanswered too long. */
import type { ProxyEnv } from "./env";
import type { Branch, ResponseContext } from "./response-context";

export function startTimerC(env: ProxyEnv, ctx: ResponseContext, branch: Branch): void {
  clearTimerC(env, branch);
  branch.timerC = env.layer.clock.setTimer(env.layer.timers.C, () => {
    branch.timerC = undefined;
    // 16.8: "If the client transaction has received a provisional response, the proxy MUST generate a
    // CANCEL request matching that transaction. If the client transaction has not received a provisional
    // response, the proxy MUST behave as if the transaction received a 408 (Request Timeout) response."
    switch (branch.state) {
      case "Proceeding":
        env.cancelBranch(ctx, branch, undefined, "timer-c");
        return;
      case "Calling":
      case "CancelHeld":
        env.onBranchGaveUp(ctx, branch);
        return;
      case "Cancelled":
      case "Completed":
        return;
    }
  });
}

export function clearTimerC(env: ProxyEnv, branch: Branch): void {
  if (branch.timerC === undefined) return;
  env.layer.clock.clearTimer(branch.timerC);
  branch.timerC = undefined;
}
