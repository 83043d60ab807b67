/**
 * Via mechanics of a UDP proxy: stamping `received`/`rport` on what arrives (RFC 3261 18.2.1, RFC 3581),
 * choosing where a response goes back (18.2.2 with rport), and new RFC 3261 branches.
 */
import { createHash, randomBytes } from "node:crypto";
import { isIP } from "node:net";
import { normalizeHost } from "../../../sip/host";
import type { SipHeader, SipRequest } from "../../../sip/message";
import { splitHeaderList } from "../../../sip/name-addr";
import { formatVia, parseVia, RFC3261_BRANCH_COOKIE, withViaParams, type Via } from "../../../sip/via";
import type { TransportAddress } from "../transport/transport";

/** A fresh branch: the magic cookie and 96 random bits. */
export function newBranch(): string {
  return RFC3261_BRANCH_COOKIE + randomBytes(12).toString("hex");
}

/**
 * A branch derived from an incoming one, for requests forwarded without a client transaction (ACK for a
 * 2xx): retransmissions get the same branch, distinct requests different ones (RFC 3261 16.11).
 */
export function derivedBranch(incomingBranch: string, salt: string): string {
  return RFC3261_BRANCH_COOKIE + createHash("sha256").update(`${incomingBranch}\n${salt}`).digest("hex").slice(0, 24);
}

/**
 * RFC 3261 18.2.1: add `received` when the sent-by host is not the source IP; RFC 3581: fill in `rport`
 * when the client asked for it (and then always add `received`), and also when the sent-by is not the source
 * address at all (a phone behind NAT that did not ask: force_rport). Returns the request unchanged when the top
 * Via needs nothing.
 */
export function stampTopVia(req: SipRequest, source: TransportAddress): SipRequest {
  const index = req.headers.findIndex((h) => h.name === "Via");
  const line = req.headers[index];
  if (!line) return req;
  const vias = parseVia(line.value);
  const top = vias[0];
  if (!top) return req;
  const wantsRport = top.rport === null;
  const sameHost = normalizeHost(top.host) === normalizeHost(source.ip);
  const samePort = (top.port ?? 5060) === source.port;
  if (sameHost && samePort && !wantsRport) return req;
  // NAT detected (the sent-by is not where the packet came from): rport is stamped even when the client did
  // not ask for it, as Kamailio's force_rport() does at an edge, so that responses go back through the NAT
  // binding instead of to a private address (RFC 3581 section 4 behaviour, forced).
  const natted = !sameHost || !samePort;
  const stamped = formatVia(
    withViaParams(top, { received: source.ip, ...(wantsRport || natted ? { rport: String(source.port) } : {}) }),
  );
  const rest = splitRest(line.value);
  const value = rest === undefined ? stamped : `${stamped}, ${rest}`;
  const headers: SipHeader[] = [...req.headers];
  headers[index] = { name: "Via", value };
  return { ...req, headers };
}

/** The other Via values of a line, as written (other hops' values are not ours to rewrite), or undefined. */
function splitRest(line: string): string | undefined {
  const rest = splitHeaderList(line).slice(1);
  return rest.length === 0 ? undefined : rest.join(", ");
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
