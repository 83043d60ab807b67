/**
 * Several gateways, one store (docs/routing.md, "Several gateways"): a binding remembers the socket of the
 * gateway that saved it (`location.socket`, `udp:ip:port`). Only that gateway has the phone's NAT pinhole
 * open, so a request for the phone that reaches another gateway is relayed through it, never sent from the
 * other gateway straight to the phone's `received` address.
 */
import type { Address } from "../../../contract/v1";
import { isIpAddress, normalizeHost } from "../sip-uri";

/** The address of a stored socket (`udp:127.0.0.1:5060`, `udp:[::1]:5060`); undefined when not an IP socket. */
export function parseSocket(socket: string | null): Address | undefined {
  if (!socket) return undefined;
  const m = /^(udp|tcp|tls):(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(socket.trim());
  if (!m) return undefined;
  const ip = m[2] ?? m[3] ?? "";
  const port = Number(m[4]);
  if (!isIpAddress(ip) || port < 1 || port > 65535) return undefined;
  return { ip: normalizeHost(ip), port, transport: m[1] as Address["transport"] };
}

/** A wildcard bind address (`0.0.0.0`, `::`) names no gateway: nothing can be relayed to it. */
function unspecified(ip: string): boolean {
  return ip === "0.0.0.0" || ip === "::";
}

/**
 * The peer gateway a binding must be reached through: its stored socket, when that is a concrete address
 * that is none of `own` (the sockets of the gateway asking). Undefined: this gateway saved it (or the row
 * says nothing usable, a legacy import say), and it is reached as before.
 */
export function peerGatewayOf(socket: string | null, own: readonly Address[]): Address | undefined {
  const s = parseSocket(socket);
  if (!s || unspecified(s.ip)) return undefined;
  const mine = own.some((o) => normalizeHost(o.ip) === s.ip && o.port === s.port);
  return mine ? undefined : s;
}
