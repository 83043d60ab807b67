/**
 * The worker's view of SIP URIs: the gateway's pure grammar (no I/O, safe to bundle), with the host
 * normalised for comparisons (lower case, IPv6 without brackets).
 */
import { parseSipUri } from "../../edge-gateway/src/sip/uri";

export interface WorkerUri {
  readonly scheme: "sip" | "sips";
  readonly user: string | undefined;
  readonly host: string;
  readonly port: number | undefined;
  readonly params: Readonly<Record<string, string | null>>;
}

/** Parses a sip:/sips: URI; undefined when it is not one. */
export function parseUri(s: string): WorkerUri | undefined {
  const u = parseSipUri(s.trim());
  if (!u) return undefined;
  let host = u.host.toLowerCase();
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return { scheme: u.scheme, user: u.user, host, port: u.port, params: u.params };
}

/** `sip:ip:port`, brackets around IPv6, as OpenSIPS writes `received`. */
export function addressUri(ip: string, port: number): string {
  return ip.includes(":") ? `sip:[${ip}]:${port}` : `sip:${ip}:${port}`;
}
