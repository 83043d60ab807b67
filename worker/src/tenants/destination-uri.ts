/**
 * Dispatcher destinations are SIP URIs with an IP literal host (`sip:10.0.1.1:5060`, `sip:[2001:db8::1]`):
 * parsed into exact addresses, so that source matching compares parsed values, never string prefixes.
 */
import type { Destination } from "../store/store";
import { isIpAddress, parseUri } from "../sip-uri";

export interface DestinationAddress {
  readonly ip: string;
  readonly port: number;
  readonly transport: "udp";
}

/**
 * Parsed destinations, by the snapshot's own destination object: each is parsed once, when the tenant
 * directory is built from a snapshot (tenant-directory.ts), and every request after that reads the parsed
 * address. A reload brings new objects, so an edited URI is parsed again; entries go with their snapshot.
 */
const parsedBySnapshot = new WeakMap<Pick<Destination, "uri">, DestinationAddress | null>();

/** The parsed address of a tenant's destination; undefined unless its URI is usable (see parseDestination). */
export function destinationAddress(d: Pick<Destination, "uri">): DestinationAddress | undefined {
  const hit = parsedBySnapshot.get(d);
  if (hit !== undefined) return hit ?? undefined;
  const address = parseDestination(d.uri);
  parsedBySnapshot.set(d, address ? Object.freeze(address) : null);
  return address;
}

/** Parses a destination URI; undefined unless it is a sip: URI with an IP host over UDP. */
export function parseDestination(uri: string): DestinationAddress | undefined {
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
