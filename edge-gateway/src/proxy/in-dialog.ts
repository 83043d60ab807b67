/**
 * In-dialog requests and ACKs for 2xx (RFC 3261 16.4, 16.11, 16.12): routed by the Route set the gateway
 * Record-Routed, without a worker call, and only along a dialog the gateway proves it Record-Routed (the
 * `;dp=` proof of its Route entries) to addresses it wrote itself (a NAT alias with its `;amac=` proof).
 * Anything else is refused: the gateway is no open relay.
 */
import { headerValue } from "../../../sip/message";
import type { SipHeader, SipRequest } from "../../../sip/message";
import { headerTag } from "../../../sip/core-headers";
import { parseNameAddr, splitHeaderList } from "../../../sip/name-addr";
import { parseSipUri } from "../../../sip/uri";
import type { Listener, TransportAddress } from "../transport/transport";
import { DIALOG_PROOF_PARAM } from "./dialog-proof";
import type { ProxyEnv } from "./env";
import { forwardRequest } from "./forward-request";
import type { LocalAddresses } from "./local-address";
import { readRequestUriAlias } from "./nat-alias";
import { derivedBranch } from "./via-routing";

/** Removes the Route values that point at the gateway from the top (one, or two for a double Record-Route). */
export function popOwnRoutes(local: LocalAddresses, req: SipRequest): { request: SipRequest; popped: string[] } {
  const values: string[] = [];
  for (const h of req.headers) if (h.name === "Route") values.push(...splitHeaderList(h.value));
  const popped: string[] = [];
  for (const v of values) {
    const na = parseNameAddr(v);
    if (!na || !local.isLocalUri(na.uri)) break;
    popped.push(na.uri);
  }
  if (popped.length === 0) return { request: req, popped };
  const rest = values.slice(popped.length);
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

/** Where an in-dialog request goes once our Route entries are gone, or why it is refused. */
export type InDialogRoute =
  | { readonly ok: true; readonly request: SipRequest; readonly uri: string; readonly nextHop: TransportAddress | undefined }
  | { readonly ok: false; readonly status: number; readonly reason: string; readonly why: string };

/**
 * Routes an in-dialog request. 16.4: the gateway removes its own Route entries; each must carry the proof
 * for this Call-ID and one of the request's tags (the caller's requests carry the initial From tag as From
 * tag, the callee's as To tag). Then the next Route, else the Request-URI, is the next hop (16.12); a NAT
 * alias in the Request-URI is the destination only with its proof.
 */
export function routeInDialog(env: ProxyEnv, req: SipRequest): InDialogRoute {
  const { request, popped } = popOwnRoutes(env.local, req);
  // Without a Route to the gateway, the request names a destination of its own choosing.
  if (popped.length === 0) return { ok: false, status: 404, reason: "Not Here", why: "no_route" };
  const callId = headerValue(req, "Call-ID") ?? "";
  const tags = [headerTag(req, "From"), headerTag(req, "To")];
  for (const uri of popped) {
    const mac = parseSipUri(uri)?.params[DIALOG_PROOF_PARAM];
    if (!env.proof.verifyDialog(typeof mac === "string" ? mac : undefined, callId, tags)) {
      return { ok: false, status: 403, reason: "Not A Dialog Of This Proxy", why: "dialog_proof" };
    }
  }
  const alias = readRequestUriAlias(request.uri, (value, proof) => env.proof.verifyAlias(proof, callId, value));
  if (alias.kind === "forged") return { ok: false, status: 403, reason: "Forged Alias", why: "alias_proof" };
  if (alias.kind === "none") return { ok: true, request, uri: request.uri, nextHop: undefined };
  // 16.12: with a Route left the next hop is that Route, and the Request-URI travels on unchanged, alias
  // included: the alias belongs to the last proxy of the route set (with several gateways, the one holding
  // the phone's NAT pinhole, routing.md "Several gateways"), which sends to it and removes it.
  if (request.headers.some((h) => h.name === "Route")) return { ok: true, request, uri: request.uri, nextHop: undefined };
  return { ok: true, request, uri: alias.uri, nextHop: alias.target };
}

/** 16.11: the ACK for a 2xx is forwarded statelessly, along a proven dialog only; else dropped (counted). */
export function forwardAck(env: ProxyEnv, req: SipRequest, incomingBranch: string, source: TransportAddress, listener: Listener): void {
  const route = routeInDialog(env, req);
  if (!route.ok) {
    env.o.metrics.inc("edge_gateway_stray_acks_total");
    env.o.metrics.inc("edge_gateway_dropped_total", { reason: `ack_${route.why}` });
    return;
  }
  const out = env.listenerFor(undefined, listener);
  const branch = derivedBranch(incomingBranch, `${headerValue(req, "Call-ID") ?? ""}|ACK`);
  try {
    const { request: fwd, destination } = forwardRequest(route.request, { requestUri: route.uri, nextHop: route.nextHop, route: [] }, out.advertised, branch, []);
    env.transmit(fwd, env.out(destination, out));
  } catch (err) {
    env.o.log.info("ACK not forwarded", { source, error: String(err) });
  }
}
