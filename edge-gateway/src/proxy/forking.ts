/**
 * Forwarding and forking (RFC 3261 16.6): one branch per target, each with its own client transaction,
 * the gateway's Via and (16.6 step 4) Record-Route carrying the dialog proof.
 */
import type { Alternative, RelayTarget } from "../../../contract/v1";
import { headerValue } from "../../../sip/message";
import type { SipRequest } from "../../../sip/message";
import { headerTag } from "../../../sip/core-headers";
import type { TransportAddress } from "../transport/transport";
import type { ProxyEnv } from "./env";
import { forwardRequest, ForwardError, recordRouteValue } from "./forward-request";
import { HeaderEditError } from "./header-edits";
import { peerRouteValue } from "./peer-route";
import { Branch, type Failover, type ResponseContext } from "./response-context";
import { newBranch } from "./via-routing";

/**
 * `inDialog`: the request follows a proven dialog and its remaining Route values choose the next hop
 * (16.12); otherwise the worker's decision alone does.
 */
export function relay(env: ProxyEnv, ctx: ResponseContext, req: SipRequest, targets: readonly RelayTarget[], recordRoute: boolean, inDialog: boolean): void {
  ctx.machine.to("Forking", "relay");
  // The held 100 (Trying) goes before the INVITE: the answer from the next hop may take longer than T1.
  if (ctx.server.kind === "invite-server") ctx.server.trying();
  const arrivedOn = ctx.listener;
  let refused: ForwardError | undefined;
  // The dialog proof binds the Record-Route to this Call-ID and the initial From tag (dialog-proof.ts).
  const callId = headerValue(req, "Call-ID") ?? "";
  const proof = recordRoute ? env.proof.dialogMac(callId, headerTag(req, "From") ?? "") : undefined;
  for (const t of targets) {
    const out = env.listenerFor(t.side, arrivedOn);
    // 16.6 step 4; two entries when the request crosses from one gateway address to the other.
    const rr = !recordRoute
      ? []
      : out === arrivedOn
        ? [recordRouteValue(out.advertised, proof)]
        : [recordRouteValue(out.advertised, proof), recordRouteValue(arrivedOn.advertised, proof)];
    const failover = FAILS_OVER.has(req.method) && t.alternatives && t.alternatives.length > 0
      ? { request: req, target: t, recordRoute: rr, inDialog, rest: t.alternatives }
      : undefined;
    const e = startBranch(env, ctx, req, t, rr, inDialog, failover, false);
    // The first refusal is the answer when no branch can be forwarded (a 483 stays a 483 when forking).
    if (e) refused ??= e;
  }
  if (ctx.branches.length === 0) {
    env.reply(ctx, refused?.status ?? 500, refused?.reason ?? "No Branch Could Be Forwarded", [], true);
    return;
  }
  ctx.machine.to("Proceeding", "branches sent");
  env.meter.relayed(ctx.metered);
  // Branches that failed at once (a transport error) were held back until every branch existed.
  env.maybeFinish(ctx);
}

/** Methods whose relayed copy fails over to the target's alternatives (the REGISTER and INVITE). */
const FAILS_OVER = new Set(["REGISTER", "INVITE"]);

/**
 * Builds and sends one branch. Returns the refusal when the branch could not be built (nothing sent).
 * `failover` carries the next hops still to try; `retry` says this branch is itself a failover attempt.
 */
function startBranch(
  env: ProxyEnv,
  ctx: ResponseContext,
  req: SipRequest,
  t: RelayTarget,
  rr: readonly string[],
  inDialog: boolean,
  failover: Failover | undefined,
  retry: boolean,
): ForwardError | undefined {
  const out = env.listenerFor(t.side, ctx.listener);
  // 16.6 step 8: the branch starts with the loop-detection hash of the request as received.
  const branchId = newBranch(ctx.loop);
  let built: { request: SipRequest; destination: TransportAddress };
  try {
    if (t.nextHop && t.nextHop.transport !== "udp") throw new ForwardError(503, "Transport Not Supported");
    const nextHop = t.nextHop ? { ip: t.nextHop.ip, port: t.nextHop.port, transport: "udp" as const } : undefined;
    // Through a peer gateway (peer-route.ts): the proven Route tells it the phone's address; without a
    // next hop to the peer there is nobody to prove it to, and the phone's address is never used here.
    if (t.viaPeer && !nextHop) throw new ForwardError(500, "Bad Decision");
    const route =
      t.viaPeer && nextHop
        ? [peerRouteValue(env.proof, headerValue(req, "Call-ID") ?? "", nextHop, { ip: t.viaPeer.ip, port: t.viaPeer.port, transport: "udp" }), ...t.route]
        : t.route;
    built = forwardRequest(req, { ...t, nextHop, route }, out.advertised, branchId, rr, inDialog);
  } catch (err) {
    if (err instanceof ForwardError || err instanceof HeaderEditError) {
      const e = err instanceof ForwardError ? err : new ForwardError(500, "Bad Decision");
      env.o.log.info("branch not forwarded", { method: req.method, status: e.status, reason: e.reason, detail: err.message });
      return e;
    }
    throw err;
  }
  const branch = new Branch(branchId, built.request, env.out(built.destination, out));
  branch.failover = failover;
  ctx.branches.push(branch);
  // Armed before the first send: a send failing at once completes the branch, which must find it set.
  if (failover || retry) armAttemptTimer(env, ctx, branch);
  branch.transaction = env.layer.sendRequest(built.request, {
    branch: branchId,
    destination: branch.destination,
    user: {
      onResponse: (res) => env.onBranchResponse(ctx, branch, res),
      onTimeout: () => env.onBranchGaveUp(ctx, branch),
      onTransportError: (_t, cause) => {
        env.o.log.warn("branch transport error", { error: String(cause) });
        // 16.9: "the proxy MUST behave as if the forwarded request received a 503 (Service Unavailable)".
        env.onBranchGaveUp(ctx, branch, 503, "Service Unavailable");
      },
    },
  });
  if (req.method === "INVITE" && branch.state !== "Completed") env.startTimerC(ctx, branch);
  return undefined;
}

/**
 * An attempt that may be followed by another (or that is one) gets its share of the time left before the
 * request's deadline: the remaining time split over this attempt and the next hops after it. Without this
 * the first attempt alone would use Timer F / B (64*T1), the requester's whole transaction. When it runs
 * out with no answer (an INVITE: not even a 100, 17.1.1.2 stops Timer B on a provisional too), the
 * attempt is treated as timed out (a 408, as 16.8 has it for Timer C) and its client transaction ended:
 * later responses from that hop match nothing and are dropped as strays.
 */
function armAttemptTimer(env: ProxyEnv, ctx: ResponseContext, branch: Branch): void {
  const deadline = ctx.failoverDeadline ?? env.layer.clock.now() + env.layer.timers.F;
  const attempts = 1 + (branch.failover?.rest.length ?? 0);
  const share = Math.max(0, Math.floor((deadline - env.layer.clock.now()) / attempts));
  branch.attemptTimer = env.layer.clock.setTimer(share, () => {
    branch.attemptTimer = undefined;
    if (branch.state === "Completed") return;
    if (ctx.request.method === "INVITE" && branch.state !== "Calling") return;
    env.o.log.info("attempt timed out", { method: ctx.request.method, to: `${branch.destination.ip}:${branch.destination.port}`, afterMs: share });
    branch.transaction?.abandon("attempt timed out");
    env.onBranchGaveUp(ctx, branch);
  });
}

/** Stops a branch's attempt timer once the branch has its final response. */
export function clearAttemptTimer(env: ProxyEnv, branch: Branch): void {
  if (branch.attemptTimer === undefined) return;
  env.layer.clock.clearTimer(branch.attemptTimer);
  branch.attemptTimer = undefined;
}

/**
 * Called once `branch` has its final response. When it failed in a way the next hop may cure (a timeout or
 * a 408 / 503: the box did not, or could not, handle the request), the request still has time, nothing was
 * answered and the caller did not CANCEL, and an INVITE's callee did not ring: the request goes to the next
 * alternative of the same target, a new branch (new branch id, 16.6 step 8) in the same response context:
 * serial forking (16.6, 16.7), whose final choice (16.7 step 6) counts every attempt. Only hops the worker
 * listed are ever tried. True when a new branch went out.
 */
export function failOver(env: ProxyEnv, ctx: ResponseContext, branch: Branch): boolean {
  clearAttemptTimer(env, branch);
  const f = branch.failover;
  const status = branch.final?.status;
  if (!f || f.rest.length === 0 || (status !== 408 && status !== 503)) return false;
  // "Forking": a hop refused at once by the socket (16.9) while the first branches are being sent.
  if (!ctx.machine.in("Forking", "Proceeding") || ctx.cancelled || branch.rang) return false;
  // A branch CANCELled by us (another branch answered, Timer C) or any 2xx already in: the search is over.
  if (branch.cancelCause !== undefined || ctx.answers.size > 0) return false;
  if (env.layer.clock.now() >= (ctx.failoverDeadline ?? 0)) return false;
  let rest = f.rest;
  while (rest.length > 0) {
    const [next, ...after] = rest as [Alternative, ...Alternative[]];
    rest = after;
    const target: RelayTarget = { ...f.target, requestUri: next.requestUri ?? f.target.requestUri, nextHop: { ip: next.ip, port: next.port, transport: next.transport } };
    env.o.metrics.inc("edge_gateway_failovers_total", { method: ctx.request.method });
    env.o.log.info("failing over", { method: ctx.request.method, status, from: `${branch.destination.ip}:${branch.destination.port}`, to: `${next.ip}:${next.port}` });
    const refused = startBranch(env, ctx, f.request, target, f.recordRoute, f.inDialog, { ...f, rest }, true);
    if (!refused) return true;
  }
  return false;
}
