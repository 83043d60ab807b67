/**
 * The worker's view of SIP URIs: the gateway's pure grammar (no I/O, safe to bundle), with the host
 * normalised for comparisons (lower case, IPv6 without brackets in RFC 5952 form, IPv4-mapped as IPv4).
 */
import { MAX_EXPIRES as MAX_DELTA_SECONDS, parseExpires } from "../../sip/expires";
import { formatParams, type Params } from "../../sip/params";
import { addressUri, isIpAddress, normalizeHost } from "../../sip/host";
import { parseSipUri } from "../../sip/uri";

export { addressUri, formatParams, isIpAddress, normalizeHost };

/**
 * Delta-seconds of an `expires` parameter or header value; undefined when not a number. A value beyond the
 * 32-bit range (RFC 3261 10.2.1.1: 0 to 2^32-1) is no error: it is clamped to 2^32-1, and the registrar's
 * MAX_EXPIRES shortens it further.
 */
export function deltaSeconds(value: string | null | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = parseExpires(value);
  if (n !== undefined) return n;
  return /^\s*[0-9]+\s*$/.test(value) ? MAX_DELTA_SECONDS : undefined;
}

/** Header parameters without `expires`. */
export function withoutExpires(params: Params): Params {
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(params)) if (k.toLowerCase() !== "expires") out[k] = v;
  return out;
}

export interface WorkerUri {
  readonly scheme: "sip" | "sips";
  readonly user: string | undefined;
  readonly host: string;
  readonly port: number | undefined;
  readonly params: Readonly<Record<string, string | null>>;
}

/**
 * Recently parsed URIs. One decision reads the same few URIs several times (Request-URI, To, From, each
 * Contact: for the tenant, the user, the token, `received`); the grammar runs once per text. Bounded in
 * entries and in the length of what is kept; frozen, since callers share the values.
 */
const recent = new Map<string, WorkerUri | null>();
const MAX_RECENT = 2048;
const MAX_CACHED_LENGTH = 512;

/** Parses a sip:/sips: URI; undefined when it is not one. */
export function parseUri(s: string): WorkerUri | undefined {
  const hit = recent.get(s);
  if (hit !== undefined) return hit ?? undefined;
  const u = parseSipUri(s.trim());
  const out = u
    ? Object.freeze({ scheme: u.scheme, user: u.user, host: normalizeHost(u.host), port: u.port, params: Object.freeze({ ...u.params }) })
    : undefined;
  if (s.length <= MAX_CACHED_LENGTH) {
    if (recent.size >= MAX_RECENT) recent.clear();
    recent.set(s, out ?? null);
  }
  return out;
}


