/**
 * Ingress: a datagram becomes a message, bad input is answered, and a NEW request (no transaction matches
 * it) is admitted or refused before any state is created. Refusals are stateless and sent once, as
 * Kamailio's sl_send_reply does: no server transaction, no Timer G, so a spoofed request costs one
 * datagram back; a retransmission of it is refused again, 1:1, never amplified.
 */
import { parseMaxForwards } from "../../../sip/max-forwards";
import type { SipHeader, SipMessage, SipRequest } from "../../../sip/message";
import { EMPTY_BODY, headerValue, headerValues } from "../../../sip/message";
import { nameAddrOf } from "../../../sip/core-headers";
import { splitHeaderList } from "../../../sip/name-addr";
import { parseMessage } from "../../../sip/parser";
import type { Via } from "../../../sip/via";
import type { Listener, TransportAddress } from "../transport/transport";
import type { ProxyEnv } from "./env";
import { parseSipUri, type SipUri } from "../../../sip/uri";
import { hasMixedWildcard } from "./event-builder";
import { hashHex } from "./hash-hex";
import { popOwnRoutes, routeInDialog, type InDialogRoute } from "./in-dialog";
import { createResponse } from "./local-response";
import { readPeerRoute } from "./peer-route";
import { isLooped, responseDestination, stampVia } from "./via-routing";

/** Parses a datagram; answers a replyable bad request (RFC 3581: to the stamped Via). */
export function parseDatagram(
  env: ProxyEnv,
  bytes: Uint8Array,
  source: TransportAddress,
  listener: Listener,
): { message: SipMessage; topVia: Via } | undefined {
  const parsed = parseMessage(bytes, env.o.parseLimits);
  if (parsed.ok) return parsed;
  if (parsed.keepalive) return undefined;
  env.o.metrics.inc("edge_gateway_bad_messages_total", { status: parsed.error.status });
  env.o.log.info("bad message", { source, status: parsed.error.status, reason: parsed.error.reason });
  const p = parsed.partial;
  if (parsed.error.replyable && p && p.method !== "ACK") {
    const { request, via } = stampVia({ kind: "request", method: p.method, uri: p.uri, headers: p.headers, body: EMPTY_BODY }, source);
    replyStateless(env, request, via, source, listener, parsed.error.status, parsed.error.reason, [], "bad_message");
  }
  return undefined;
}

/**
 * A response sent without a transaction, once. Its To tag is derived from the request, so that a
 * retransmission gets the same answer (and its ACK, matching nothing, is dropped).
 */
export function replyStateless(
  env: ProxyEnv,
  req: SipRequest,
  via: Via | undefined,
  source: TransportAddress,
  listener: Listener,
  status: number,
  reason: string,
  extra: readonly SipHeader[],
  why: string,
): void {
  if (status >= 300) env.o.metrics.inc("edge_gateway_rejections_total", { reason: why });
  const tag = hashHex(`${via?.branch ?? ""}\n${headerValue(req, "Call-ID") ?? ""}`).slice(0, 12);
  env.transmit(createResponse(req, status, reason, extra, tag), env.out(responseDestination(via, source), listener));
}

/** What to do with a new request. */
export type Admission =
  | { readonly kind: "drop"; readonly why: string }
  /** `initial`: out of dialog (no To tag), so a refusal before any decision is a metered "none" outcome. */
  | { readonly kind: "reply"; readonly status: number; readonly reason: string; readonly extra: readonly SipHeader[]; readonly why: string; readonly initial: boolean }
  /** Out of dialog: the worker decides; `request` has the gateway's own preloaded Route entries removed. */
  | { readonly kind: "decide"; readonly request: SipRequest }
  /** From a peer gateway, with a proven Route naming the phone's address (peer-route.ts): relayed there. */
  | { readonly kind: "peer"; readonly request: SipRequest; readonly target: TransportAddress }
  /** In a proven dialog: relayed by Route. */
  | { readonly kind: "dialog"; readonly route: Extract<InDialogRoute, { ok: true }> };

/** A stateless answer to the request being admitted. */
type Reply = (status: number, reason: string, why: string, extra?: readonly SipHeader[]) => Admission;

/** The checks of RFC 3261 16.3 and the gateway's own bounds, before any transaction or worker call. */
export function admitNewRequest(env: ProxyEnv, req: SipRequest, source: TransportAddress, listener: Listener): Admission {
  const inDialog = nameAddrOf(req, "To")?.params["tag"] !== undefined;
  const reply: Reply = (status, reason, why, extra = []) => ({ kind: "reply", status, reason, extra, why, initial: !inDialog });
  const unavailable = (why: string): Admission => reply(503, "Service Unavailable", why, [{ name: "Retry-After", value: env.overload.retryAfter() }]);
  if (!inDialog && env.o.screen && !env.o.screen(req, source, listener)) return { kind: "drop", why: "screen" };
  // Draining (graceful shutdown, docs/operations.md): a new out-of-dialog request gets 503 with Retry-After
  // rather than silence. RFC 3261 21.5.4: 503 is for "a temporary overloading or maintenance of the
  // server", with Retry-After saying when to come back; RFC 3263 4.3: on a 503 the client tries the next
  // server of its SRV/A list at once, where silence would cost it a 32 s Timer B/F before failing over.
  // In-dialog requests (a BYE, a re-INVITE) and CANCELs of transactions in progress are still relayed.
  if (!inDialog && env.draining) return unavailable("draining");
  // Overload (overload.ts, LoadShedder): refused before any other work, so that a refusal costs as little
  // as possible when thousands a second must be refused. Not an OPTIONS that may be a keep-alive (no user
  // part in its Request-URI): one addressed to the gateway itself costs no decision and is answered below;
  // if it is routed after all, it is refused at the end. An OPTIONS to a user is routed, refused here.
  const optionsUri = req.method === "OPTIONS" ? parseSipUri(req.uri) : undefined;
  const maybeKeepalive = req.method === "OPTIONS" && optionsUri?.user === undefined;
  if (!inDialog && !maybeKeepalive && refusedForLoad(env, req, source)) return unavailable("overload_load");
  // 16.3 step 3 (Max-Forwards): "If the request does not contain a Max-Forwards header field, this check
  // is passed. If the request contains a Max-Forwards header field with a field value greater than zero,
  // the check is passed. If the request contains a Max-Forwards header field with a field value of zero
  // (0), the element MUST NOT forward the request. If the request was for OPTIONS, the element MAY act as
  // the final recipient and respond per Section 11. Otherwise, the element MUST return a 483".
  const mfRaw = headerValue(req, "Max-Forwards");
  const mf = mfRaw === undefined ? undefined : parseMaxForwards(mfRaw);
  if (mfRaw !== undefined && mf === undefined) return reply(400, "Bad Max-Forwards", "bad_max_forwards");
  if (mf !== undefined && mf <= 0) {
    if (req.method === "OPTIONS" && env.local.isLocalUri(req.uri)) return answerOptionsHere(req, reply);
    return reply(483, "Too Many Hops", "max_forwards");
  }
  // 16.3 step 4 (loop detection, out of dialog: in-dialog requests follow a Route set): 482.
  if (!inDialog && isLooped(req, (host, port) => env.local.isLocal(host, port))) return reply(482, "Loop Detected", "loop");
  // 16.3 step 5: "If the request contains a Proxy-Require header field with one or more option-tags this
  // element does not understand, the element MUST return a 420 (Bad Extension) response. The response MUST
  // include an Unsupported header field listing those option-tags". This gateway supports none.
  const badProxyExtension = refuseOptionTags(req, "Proxy-Require", "proxy_require", reply);
  if (badProxyExtension) return badProxyExtension;
  let admitted: Admission;
  if (inDialog) {
    const route = routeInDialog(env, req);
    if (!route.ok) return reply(route.status, route.reason, route.why);
    admitted = { kind: "dialog", route };
  } else {
    // RFC 3261 10.2.2: "*" is a Contact of its own; mixed with other Contacts the REGISTER is malformed, and
    // the event could not say so (its contacts are a list or "*").
    if (req.method === "REGISTER" && hasMixedWildcard(req)) return reply(400, "Invalid Wildcard Contact", "wildcard");
    const { request, popped } = popOwnRoutes(env.local, req);
    // Several gateways (docs/routing.md): a peer gateway relays here a request for a phone whose NAT
    // pinhole this gateway holds. Only a Route whose proof verifies (shared GATEWAY_SECRET) may name the
    // address; a forged one is refused and nothing is sent (no open relay).
    const peer = readPeerRoute(popped, env.proof, headerValue(req, "Call-ID") ?? "");
    if (peer.kind === "forged" || (peer.kind === "ok" && req.method === "REGISTER")) return reply(403, "Forged Peer Route", "peer_proof");
    if (peer.kind === "ok") {
      admitted = { kind: "peer", request, target: peer.target };
    } else if (maybeKeepalive && !request.headers.some((h) => h.name === "Route") && isSelf(env, optionsUri)) {
      // RFC 3261 11 and 16.4: an OPTIONS whose Request-URI is the gateway itself (no user part) with no Route
      // left to follow asks the gateway about itself; it answers as a UAS, here, at no decision cost (a
      // phone's keep-alive to its outbound proxy, an Asterisk's qualify).
      return answerOptionsHere(request, reply);
    } else {
      admitted = { kind: "decide", request };
    }
    // A routed OPTIONS without a user part (relayed by a peer gateway, or to be decided) is refused for the
    // load as other new requests are above, once it is known not to be a keep-alive.
    if (maybeKeepalive && refusedForLoad(env, req, source)) return unavailable("overload_load");
  }
  const over = env.overload.refusal(!inDialog);
  if (over) return unavailable(`overload_${over}`);
  return admitted;
}

/**
 * The load bound's draw for a new out-of-dialog request (overload.ts, LoadShedder). With the receive queue
 * under its bound, one that answers a challenge this gateway relayed is admitted all the same, once: its
 * first request's work is not wasted (challenge-answers.ts).
 */
function refusedForLoad(env: ProxyEnv, req: SipRequest, source: TransportAddress): boolean {
  if (!env.overload.load.refuse()) return false;
  if (env.overload.load.queueLong || !env.overload.challenges.takeAnswer(req, source)) return true;
  env.o.metrics.inc("edge_gateway_load_challenge_answers_total");
  return false;
}

/**
 * RFC 3261 11.2: what a proxy's 200 to an OPTIONS about itself SHOULD carry (Allow is left out: "a proxy is
 * method agnostic"). The gateway reads no bodies and supports no extension of its own, so it accepts any
 * content, unencoded, and lists no Supported option-tag.
 */
const OPTIONS_CAPABILITIES: readonly SipHeader[] = [
  { name: "Accept", value: "*/*" },
  { name: "Accept-Encoding", value: "identity" },
  { name: "Accept-Language", value: "en" },
];

/**
 * 420 Bad Extension listing in Unsupported every option-tag of `header` (Require, Proxy-Require), as RFC 3261
 * 8.2.2.3 and 16.3 step 5 ask; undefined when it lists none. The gateway supports no extension of its own.
 */
function refuseOptionTags(req: SipRequest, header: string, why: string, reply: Reply): Admission | undefined {
  const tags = headerValues(req, header).flatMap((v) => splitHeaderList(v));
  return tags.length === 0 ? undefined : reply(420, "Bad Extension", why, [{ name: "Unsupported", value: tags.join(", ") }]);
}

/**
 * The gateway answers an OPTIONS about itself as a UAS: an option-tag in Require gets 420 (RFC 3261
 * 8.2.2.3); otherwise 200 with its capabilities.
 */
function answerOptionsHere(req: SipRequest, reply: Reply): Admission {
  return refuseOptionTags(req, "Require", "require", reply) ?? reply(200, "OK", "options_local", OPTIONS_CAPABILITIES);
}

/**
 * True when a (parsed) Request-URI names the gateway itself: one of its addresses, and no user part.
 * popOwnRoutes leaves the Request-URI as it was, so the one parsed for the load check serves here too.
 */
function isSelf(env: ProxyEnv, u: SipUri | undefined): boolean {
  return u !== undefined && u.user === undefined && env.local.isLocal(u.host, u.port ?? (u.scheme === "sips" ? 5061 : 5060));
}
