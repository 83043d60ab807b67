/**
 * Via mechanics of a UDP proxy: stamping `received`/`rport` on what arrives (RFC 3261 18.2.1, RFC 3581),
 * choosing where a response goes back (18.2.2 with rport), and new RFC 3261 branches.
 */
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import { normalizeHost } from "../../../sip/host";
import type { SipRequest } from "../../../sip/message";
import { headerValue, headerValues } from "../../../sip/message";
import { cseqOf, headerTag } from "../../../sip/core-headers";
import { formatVia, parseVia, RFC3261_BRANCH_COOKIE, topVia, withViaParams, type Via } from "../../../sip/via";
import { replaceTopVia } from "../transaction/via-line";
import type { TransportAddress } from "../transport/transport";
import { hashHex } from "./hash-hex";
import { randomHex } from "./random-hex";

/**
 * A fresh branch: the magic cookie, then (16.6 step 8) the loop-detection hash of the request as received
 * when one is given, then 96 random bits, so that every forwarded copy has a branch of its own (forking)
 * while a looped request can be recognised by the first part.
 */
export function newBranch(loop?: string): string {
  return RFC3261_BRANCH_COOKIE + (loop === undefined ? "" : `${loop}.`) + randomHex(12);
}

/**
 * A branch derived from an incoming one, for requests forwarded without a client transaction (ACK for a
 * 2xx): retransmissions get the same branch, distinct requests different ones (RFC 3261 16.11).
 */
export function derivedBranch(incomingBranch: string, salt: string): string {
  return RFC3261_BRANCH_COOKIE + createHash("sha256").update(`${incomingBranch}\n${salt}`).digest("hex").slice(0, 24);
}

/**
 * 16.6 step 8: "the proxy MAY compute a branch value from the values of the To tag, From tag, Call-ID
 * header field, the Request-URI of the request received (before translation), the topmost Via header, and
 * the sequence number from the CSeq header field, in addition to any Proxy-Require and Proxy-Authorization
 * header fields that may be present". `top` is the topmost Via as the gateway forwards it (stamped); its
 * sent-by and branch are hashed, not its text, so that a hop rewriting spacing does not hide a loop.
 */
export function loopHash(req: SipRequest, top: Via): string {
  const parts = [
    headerTag(req, "To") ?? "",
    headerTag(req, "From") ?? "",
    headerValue(req, "Call-ID") ?? "",
    req.uri,
    `${normalizeHost(top.host)}:${top.port ?? 5060};${top.branch ?? ""}`,
    cseqOf(req)?.seq ?? "",
    ...headerValues(req, "Proxy-Require"),
    ...headerValues(req, "Proxy-Authorization"),
  ];
  return hashHex(parts.join("\n"));
}

/**
 * 16.3 step 4: "If the request contains a Via header field with a sent-by value that equals a value placed
 * into previous requests by the proxy, the request has been forwarded by this element before. The request
 * has either looped or is legitimately spiraling through the element. To determine if the request has
 * looped, the element MAY perform the branch parameter calculation described in Step 8 of Section 16.6 on
 * this message and compare it to the parameter received in that Via header field. If the parameters match,
 * the request has looped. If they differ, the request is spiraling". The calculation is made with the Via
 * below ours, which was the topmost Via when the gateway first received the request.
 */
export function isLooped(req: SipRequest, isOwnSentBy: (host: string, port: number | undefined) => boolean): boolean {
  const lines = headerValues(req, "Via");
  // A loop needs the gateway's Via and one below it under the top: a single Via value (what phones and
  // Asterisk boxes send) cannot have looped, and is not parsed again. A comma may be a second value.
  if (lines.length === 1 && !lines[0]!.includes(",")) return false;
  const vias = lines.flatMap((line) => parseVia(line));
  for (let i = 1; i < vias.length - 1; i++) {
    const ours = vias[i]!;
    const below = vias[i + 1]!;
    if (!isOwnSentBy(ours.host, ours.port)) continue;
    const m = LOOP_BRANCH.exec(ours.branch ?? "");
    if (m && m[1] === loopHash(req, below)) return true;
  }
  return false;
}

const LOOP_BRANCH = /^z9hG4bK([0-9a-f]{16})\.[0-9a-f]+$/;

/**
 * RFC 3261 18.2.1 / RFC 3581 on what arrives, stamped from what the gateway observed and nothing else: a
 * `received` or `rport` value written by the client is removed (it would steer responses, and so
 * reflection, to any address: only the packet's source may). Then `received` is added when the sent-by host
 * is not the source IP; `rport` is filled in when the client asked for it (and then always `received` too),
 * and also when the sent-by is not the source address at all (a phone behind NAT that did not ask:
 * force_rport). Returns the request unchanged, and its top Via parsed once, when nothing needs writing.
 */
export function stampVia(req: SipRequest, source: TransportAddress, parsedTop?: Via): { request: SipRequest; via: Via | undefined } {
  const top = parsedTop ?? topVia(req);
  if (!top) return { request: req, via: undefined };
  const wantsRport = top.rport !== undefined;
  const sameHost = normalizeHost(top.host) === normalizeHost(source.ip);
  const samePort = (top.port ?? 5060) === source.port;
  const clientWrote = top.received !== undefined || typeof top.rport === "number";
  if (sameHost && samePort && !wantsRport && !clientWrote) return { request: req, via: top };
  // NAT detected (the sent-by is not where the packet came from): rport is stamped even when the client did
  // not ask for it, as Kamailio's force_rport() does at an edge, so that responses go back through the NAT
  // binding instead of to a private address (RFC 3581 section 4 behaviour, forced).
  const natted = !sameHost || !samePort;
  const observed: Record<string, string | null | undefined> = {
    received: source.ip,
    rport: wantsRport || natted ? String(source.port) : undefined,
  };
  const stamped = withViaParams(top, observed);
  return { request: replaceTopVia(req, formatVia(stamped)), via: stamped };
}

/** `stampVia` for callers that need only the message. */
export function stampTopVia(req: SipRequest, source: TransportAddress): SipRequest {
  return stampVia(req, source).request;
}

/**
 * Where responses to a request go back (RFC 3261 18.2.2 for UDP, RFC 3581 section 4): the `received` IP and
 * `rport` when present, else the `received` IP (or the sent-by address) with the sent-by port. Only a
 * sent-by host name without `received` (a Via nobody stamped; there is no DNS here) falls back to `source`.
 */
export function responseDestination(top: Via | undefined, source: TransportAddress): TransportAddress {
  if (!top) return source;
  // 18.2.2: "Otherwise, if it is not receiver-tagged, the response MUST be sent to the address indicated by
  // the "sent-by" value". The source is not that address when the Via is not the sender's own (a relayed
  // 2xx retransmission is routed by the next Via while `source` is the downstream element).
  // The same address as the source is written as the socket reports it (a dual-stack socket needs the
  // IPv4-mapped form).
  const sentBy = top.host.startsWith("[") ? top.host.slice(1, -1) : top.host;
  const other = isIP(sentBy) !== 0 && normalizeHost(sentBy) !== normalizeHost(source.ip);
  const ip = top.received ?? (other ? sentBy : source.ip);
  if (typeof top.rport === "number") return { ip, port: top.rport, transport: "udp" };
  return { ip, port: top.port ?? 5060, transport: "udp" };
}

/** The Via header value the gateway writes on a request it sends. */
export function gatewayVia(host: string, port: number, branch: string): string {
  return formatVia({ protocol: "SIP/2.0/UDP", host, port, params: { branch, rport: null } });
}
