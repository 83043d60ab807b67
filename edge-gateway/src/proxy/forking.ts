/**
 * Forwarding and forking (RFC 3261 16.6): one branch per target, each with its own client transaction,
 * the gateway's Via and (16.6 step 4) Record-Route carrying the dialog proof.
 */
import type { RelayTarget } from "../../../contract/v1";
import { headerValue } from "../../../sip/message";
import type { SipRequest } from "../../../sip/message";
import { parseNameAddr } from "../../../sip/name-addr";
import type { TransportAddress } from "../transport/transport";
import type { ProxyEnv } from "./env";
import { forwardRequest, ForwardError, recordRouteValue } from "./forward-request";
import { HeaderEditError } from "./header-edits";
import { peerRouteValue } from "./peer-route";
import { Branch, type ResponseContext } from "./response-context";
import { newBranch } from "./via-routing";

/**
 * `inDialog`: the request follows a proven dialog and its remaining Route values choose the next hop
 * (16.12); otherwise the worker's decision alone does.
 */
export function relay(env: ProxyEnv, ctx: ResponseContext, req: SipRequest, targets: readonly RelayTarget[], recordRoute: boolean, inDialog: boolean): void {
  ctx.machine.to("Forking", "relay");
  const arrivedOn = ctx.listener;
  let refused: ForwardError | undefined;
  // The dialog proof binds the Record-Route to this Call-ID and the initial From tag (dialog-proof.ts).
  const fromTag = parseNameAddr(headerValue(req, "From") ?? "")?.params["tag"];
  const callId = headerValue(req, "Call-ID") ?? "";
  const proof = recordRoute ? env.proof.dialogMac(callId, typeof fromTag === "string" ? fromTag : "") : undefined;
  for (const t of targets) {
    const out = env.listenerFor(t.side, arrivedOn);
    // 16.6 step 4; two entries when the request crosses from one gateway address to the other.
    const rr = !recordRoute
      ? []
      : out === arrivedOn
        ? [recordRouteValue(out.advertised, proof)]
        : [recordRouteValue(out.advertised, proof), recordRouteValue(arrivedOn.advertised, proof)];
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
          ? [peerRouteValue(env.proof, callId, nextHop, { ip: t.viaPeer.ip, port: t.viaPeer.port, transport: "udp" }), ...t.route]
          : t.route;
      built = forwardRequest(req, { ...t, nextHop, route }, out.advertised, branchId, rr, inDialog);
    } catch (err) {
      if (err instanceof ForwardError || err instanceof HeaderEditError) {
        const e = err instanceof ForwardError ? err : new ForwardError(500, "Bad Decision");
        env.o.log.info("branch not forwarded", { method: req.method, status: e.status, reason: e.reason, detail: err.message });
        // The first refusal is the answer when no branch can be forwarded (a 483 stays a 483 when forking).
        refused ??= e;
        continue;
      }
      throw err;
    }
    const branch = new Branch(branchId, built.request, env.out(built.destination, out));
    ctx.branches.push(branch);
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
