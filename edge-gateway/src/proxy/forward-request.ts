/**
 * Request forwarding (RFC 3261 16.6): a copy of the request with the target's Request-URI, Max-Forwards
 * decremented, Record-Route and Route set, the gateway's Via on top, Contacts rewritten when the decision
 * asks for it, and the next hop resolved. Only loose routers (`;lr`) are supported as next hops.
 */
import { isIP } from "node:net";
import type { GatewayContact, HeaderEdits } from "../../../contract/v1";
import { DEFAULT_MAX_FORWARDS, parseMaxForwards } from "../../../sip/max-forwards";
import type { SipHeader, SipRequest } from "../../../sip/message";
import { headerValue } from "../../../sip/message";
import { parseNameAddr, splitHeaderList } from "../../../sip/name-addr";
import { formatParams } from "../../../sip/params";
import { parseSipUri } from "../../../sip/uri";
import type { TransportAddress } from "../transport/transport";
import { DIALOG_PROOF_PARAM } from "./dialog-proof";
import { applyHeaderEdits } from "./header-edits";
import { hostPort } from "./local-address";
import { gatewayVia } from "./via-routing";

/** One branch to build. */
export interface ForwardTarget {
  readonly requestUri: string;
  readonly nextHop?: TransportAddress | undefined;
  /** Route values to put first (a stored Path). */
  readonly route: readonly string[];
  readonly contacts?: readonly GatewayContact[] | undefined;
  readonly headers?: HeaderEdits | undefined;
}

/** The gateway's address on the outgoing socket, as written in Via / Record-Route / Contact. */
export interface OutgoingSide {
  readonly host: string;
  readonly port: number;
}

export class ForwardError extends Error {
  override readonly name = "ForwardError";
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(`${status} ${reason}`);
  }
}

/** `<sip:host:port;lr>` for Record-Route, with the dialog proof (`;dp=`, see dialog-proof.ts) when given. */
export function recordRouteValue(side: OutgoingSide, proof?: string): string {
  return `<sip:${hostPort(side.host, side.port)};lr${proof === undefined ? "" : `;${DIALOG_PROOF_PARAM}=${proof}`}>`;
}

function contactValue(c: GatewayContact, side: OutgoingSide): string {
  const user = encodeURIComponent(c.user).replace(/%2B/g, "+").replace(/%3B/gi, ";");
  return `<sip:${user}@${hostPort(side.host, side.port)}${formatParams(c.uriParams)}>${formatParams(c.params)}`;
}

/**
 * Resolves the next hop: explicit, else the first Route (which must be a loose router), else the
 * Request-URI. Only IP hosts are reachable (no DNS on the gateway).
 */
export function resolveNextHop(explicit: TransportAddress | undefined, routes: readonly string[], requestUri: string): TransportAddress {
  // isIP, not a character test: the socket would hand anything else (`1.2.3`, a host name) to the
  // resolver, which is DNS after all (and getaddrinfo reads `1.2.3` as 1.2.0.3).
  if (explicit) {
    if (isIP(explicit.ip) === 0) throw new ForwardError(404, "Not Found (no DNS)");
    return explicit;
  }
  let uriText = requestUri;
  const first = routes[0];
  if (first !== undefined) {
    const na = parseNameAddr(first);
    if (!na) throw new ForwardError(400, "Bad Route");
    const ru = parseSipUri(na.uri);
    if (!ru || ru.params["lr"] === undefined) throw new ForwardError(400, "Strict Routing Not Supported");
    uriText = na.uri;
  }
  const u = parseSipUri(uriText);
  if (!u) throw new ForwardError(416, "Unsupported URI Scheme");
  // RFC 3261 26.2.2 / 19.1: a SIPS URI must be reached over TLS; sending it over UDP would silently drop
  // the security the requester asked for.
  if (u.scheme === "sips") throw new ForwardError(503, "Transport Not Supported");
  const host = u.host.startsWith("[") ? u.host.slice(1, -1) : u.host;
  if (isIP(host) === 0) throw new ForwardError(404, "Not Found (no DNS)");
  const transport = u.params["transport"];
  if (transport !== undefined && transport !== null && transport.toLowerCase() !== "udp") {
    throw new ForwardError(503, "Transport Not Supported");
  }
  return { ip: host, port: u.port ?? 5060, transport: "udp" };
}

/**
 * Builds the forwarded copy of `req` for one target. `recordRoute` lists the Record-Route values to add
 * (two when the request crosses from one gateway address to another). Throws ForwardError (with the
 * status to answer) when Max-Forwards is exhausted or the next hop cannot be reached.
 */
export function forwardRequest(
  req: SipRequest,
  target: ForwardTarget,
  side: OutgoingSide,
  branch: string,
  recordRoute: readonly string[],
  /**
   * Whether the request's own remaining Route values may choose the next hop (16.12): yes along a dialog the
   * gateway proved it Record-Routed; no for a worker-decided initial request, whose destination comes from
   * the decision (next hop, route set, Request-URI) and never from a Route a stranger preloaded.
   */
  requestRoutesChooseHop = true,
): { request: SipRequest; destination: TransportAddress } {
  const mfRaw = headerValue(req, "Max-Forwards");
  const mf = mfRaw === undefined ? undefined : parseMaxForwards(mfRaw);
  if (mfRaw !== undefined && mf === undefined) throw new ForwardError(400, "Bad Max-Forwards");
  // RFC 3261 16.3 step 2: "If the request contains a Max-Forwards header field with a field value of zero
  // (0), the element MUST NOT forward the request ... the element MUST return a 483 (Too many hops)".
  if (mf !== undefined && mf <= 0) throw new ForwardError(483, "Too Many Hops");
  // 16.6 step 3: "If the copy contains a Max-Forwards header field, the proxy MUST decrement its value by
  // one (1). If the copy does not contain a Max-Forwards header field, the proxy MUST add one with a field
  // value, which SHOULD be 70."
  const nextMf = String(mf === undefined ? DEFAULT_MAX_FORWARDS : mf - 1);

  const existingRoutes = req.headers.filter((h) => h.name === "Route");
  const headers: SipHeader[] = [{ name: "Via", value: gatewayVia(side.host, side.port, branch) }];
  for (const rr of recordRoute) headers.push({ name: "Record-Route", value: rr });
  for (const r of target.route) headers.push({ name: "Route", value: r });
  let sawMf = false;
  for (const h of req.headers) {
    if (h.name === "Max-Forwards") {
      headers.push({ name: "Max-Forwards", value: nextMf });
      sawMf = true;
    } else if (h.name === "Contact" && target.contacts) {
      continue;
    } else {
      headers.push(h);
    }
  }
  if (!sawMf) headers.push({ name: "Max-Forwards", value: nextMf });
  if (target.contacts) for (const c of target.contacts) headers.push({ name: "Contact", value: contactValue(c, side) });

  const routeValues = [...target.route, ...(requestRoutesChooseHop ? existingRoutes.flatMap((h) => splitHeaderList(h.value)) : [])];
  const destination = resolveNextHop(target.nextHop, routeValues, target.requestUri);
  const edited = applyHeaderEdits(headers, target.headers);
  return { request: { kind: "request", method: req.method, uri: target.requestUri, headers: edited, body: req.body }, destination };
}
