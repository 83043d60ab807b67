/**
 * Dispatcher destinations are SIP URIs with an IP literal host (`sip:10.0.1.1:5060`, `sip:[2001:db8::1]`):
 * parsed into exact addresses, so that source matching compares parsed values, never string prefixes.
 */
import { isIpAddress, parseUri } from "../sip-uri";

export interface DestinationAddress {
  readonly ip: string;
  readonly port: number;
  readonly transport: "udp";
}

/**
 * Parsed destinations by URI text. Every request compares its source with every destination of every tenant
 * and selects a destination by parsing URIs: the same few strings, parsed once per isolate (or process)
 * instead of once per request. Bounded: past the bound the memo starts over.
 */
const parsed = new Map<string, DestinationAddress | null>();
const MAX_PARSED = 10_000;

/** Parses a destination; undefined unless it is a sip: URI with an IP host over UDP. Memoised. */
export function parseDestination(uri: string): DestinationAddress | undefined {
  const hit = parsed.get(uri);
  if (hit !== undefined) return hit ?? undefined;
  const address = parseDestinationUncached(uri);
  if (parsed.size >= MAX_PARSED) parsed.clear();
  parsed.set(uri, address ? Object.freeze(address) : null);
  return address;
}

function parseDestinationUncached(uri: string): DestinationAddress | undefined {
  const u = parseUri(uri);
  if (!u || u.scheme !== "sip" || !isIpAddress(u.host)) return undefined;
  const transport = u.params["transport"];
  if (transport !== undefined && transport !== null && transport.toLowerCase() !== "udp") return undefined;
  return { ip: u.host, port: u.port ?? 5060, transport: "udp" };
}

/** Why a destination is not acceptable, for admin API answers; undefined when it is fine. */
export function destinationProblem(uri: string): string | undefined {
  const u = parseUri(uri);
  if (!u) return `destination ${JSON.stringify(uri)} is not a SIP URI`;
  if (u.scheme !== "sip") return `destination ${uri}: only sip: over UDP is supported`;
  if (!isIpAddress(u.host)) return `destination ${uri}: the host must be an IP address (names are not resolved)`;
  if (!parseDestination(uri)) return `destination ${uri}: only UDP transport is supported`;
  return undefined;
}
