/**
 * Builds the worker events from SIP messages: the raw headers in order plus the conveniences computed once
 * here (AoR parts, contacts with params, Expires, Call-ID, CSeq ...), so the worker never parses SIP text.
 */
import { encodeEventBody } from "../../../contract/v1";
import type { NameAddr, RequestEventInput, ResponseEventInput, SocketRole } from "../../../contract/v1";
import { cseqOf, nameAddrOf } from "../../../sip/core-headers";
import { MAX_EXPIRES, parseExpires } from "../../../sip/expires";
import type { SipRequest, SipResponse } from "../../../sip/message";
import { headerValue, headerValues } from "../../../sip/message";
import { parseContactHeader, splitHeaderList } from "../../../sip/name-addr";
import type { TransportAddress } from "../transport/transport";

/** From or To for the event: as parsed once (core-headers.ts), copied; the raw text when unreadable. */
function nameAddr(msg: SipRequest, name: "From" | "To"): NameAddr {
  const na = nameAddrOf(msg, name);
  if (!na) return { uri: headerValue(msg, name) ?? "", params: {} };
  return { uri: na.uri, params: { ...na.params }, ...(na.displayName !== undefined ? { displayName: na.displayName } : {}) };
}

/** All contacts of all Contact lines; "*" for the wildcard. Unparseable values are skipped. */
export function contactsOf(msg: SipRequest | SipResponse): "*" | NameAddr[] {
  const out: NameAddr[] = [];
  for (const line of headerValues(msg, "Contact")) {
    const parsed = parseContactHeader(line);
    if (parsed === "*") return "*";
    if (!parsed) continue;
    for (const na of parsed) out.push({ uri: na.uri, params: { ...na.params } });
  }
  return out;
}

/** True when a `Contact: *` line stands beside other Contact values (RFC 3261 10.2.2 forbids it). */
export function hasMixedWildcard(msg: SipRequest): boolean {
  const lines = headerValues(msg, "Contact");
  const star = lines.some((l) => l.trim() === "*" || splitHeaderList(l).some((v) => v.trim() === "*"));
  return star && lines.flatMap((l) => splitHeaderList(l)).length > 1;
}

/** The Expires header; digits beyond 2^32-1 are clamped to it (a huge value is no error), not dropped. */
function expiresOf(msg: SipRequest | SipResponse): number | undefined {
  const v = headerValue(msg, "Expires");
  if (v === undefined) return undefined;
  return parseExpires(v) ?? (/^\s*[0-9]+\s*$/.test(v) ? MAX_EXPIRES : undefined);
}

const headersOf = (msg: SipRequest | SipResponse): [string, string][] => msg.headers.map((h) => [h.name, h.value]);

/** The RequestEvent of an initial request. */
export function requestEvent(
  req: SipRequest,
  transactionId: string,
  source: TransportAddress,
  local: TransportAddress,
  receivedAt: number,
  localRole: SocketRole = "shared",
  gatewaySockets?: readonly TransportAddress[],
): RequestEventInput {
  const cseq = cseqOf(req) ?? { seq: 0, method: req.method };
  const to = nameAddr(req, "To");
  const allow = headerValues(req, "Allow").flatMap((l) => splitHeaderList(l)).map((m) => m.trim()).filter(Boolean);
  const userAgent = headerValue(req, "User-Agent");
  const expires = expiresOf(req);
  return {
    kind: "request",
    transactionId,
    method: req.method,
    requestUri: req.uri,
    headers: headersOf(req),
    ...encodeEventBody(req.body),
    source,
    local,
    localRole,
    ...(gatewaySockets ? { gatewaySockets: [...gatewaySockets] } : {}),
    receivedAt,
    parsed: {
      callId: headerValue(req, "Call-ID") ?? "",
      cseq: { seq: cseq.seq, method: cseq.method },
      from: nameAddr(req, "From"),
      to,
      contacts: contactsOf(req),
      ...(expires !== undefined ? { expires } : {}),
      ...(userAgent !== undefined ? { userAgent } : {}),
      ...(allow.length > 0 ? { allow } : {}),
      path: headerValues(req, "Path").flatMap((l) => splitHeaderList(l)).map((p) => p.trim()),
      inDialog: to.params["tag"] !== undefined,
    },
  };
}

/** The ResponseEvent of a final response the worker asked to see. */
export function responseEvent(
  res: SipResponse,
  transactionId: string,
  source: TransportAddress,
  local: TransportAddress,
  receivedAt: number,
  context: string,
): ResponseEventInput {
  const contacts = contactsOf(res);
  const expires = expiresOf(res);
  return {
    kind: "response",
    transactionId,
    status: res.status,
    reason: res.reason,
    headers: headersOf(res),
    ...encodeEventBody(res.body),
    source,
    local,
    receivedAt,
    contacts: contacts === "*" ? [] : contacts,
    ...(expires !== undefined ? { expires } : {}),
    context,
  };
}
