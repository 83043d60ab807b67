/**
 * Hosts and ports as SIP writes them (RFC 3261 25.1 hostport): host names, IPv4 addresses and bracketed
 * IPv6 references, plus the normal form used to compare them (RFC 5952 for IPv6).
 */

import { isHostnameChars, parseBoundedInt } from "./token";

/** A host as written (IPv6 in brackets, `[::1]`) and an optional port. */
export interface HostPort {
  readonly host: string;
  readonly port?: number;
}

/** Parses a port (1-65535). */
export function parsePort(s: string): number | undefined {
  const n = parseBoundedInt(s, 65535);
  return n === undefined || n === 0 ? undefined : n;
}

/** Parses `host [ ":" port ]` with nothing around it. */
export function parseHostPort(s: string): HostPort | undefined {
  let host: string;
  let rest: string;
  if (s.charCodeAt(0) === 0x5b) {
    const close = s.indexOf("]");
    if (close === -1) return undefined;
    host = s.slice(0, close + 1);
    rest = s.slice(close + 1);
    if (parseIpv6(host.slice(1, -1)) === undefined) return undefined;
  } else {
    const colon = s.indexOf(":");
    host = colon === -1 ? s : s.slice(0, colon);
    rest = colon === -1 ? "" : s.slice(colon);
    if (!isValidHostname(host)) return undefined;
  }
  if (rest.length === 0) return { host };
  if (rest.charCodeAt(0) !== 0x3a) return undefined;
  const port = parsePort(rest.slice(1));
  return port === undefined ? undefined : { host, port };
}

function isValidHostname(host: string): boolean {
  if (!isHostnameChars(host)) return false;
  let numeric = true;
  let dots = 0;
  let prev = 0x2e; // a leading '.' counts as an empty label
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c === 0x2e) {
      if (prev === 0x2e) return false;
      dots++;
    } else if (c < 0x30 || c > 0x39) numeric = false;
    prev = c;
  }
  if (host.charCodeAt(0) === 0x2d) return false;
  // All-numeric dotted names can only be IPv4 addresses (a top label starts with a letter).
  return numeric && dots === 3 ? parseIpv4(host) !== undefined : true;
}

/** The four octets of a dotted-quad IPv4 address. */
function parseIpv4(s: string): number[] | undefined {
  const out: number[] = [];
  let n = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i === s.length ? 0x2e : s.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || n > 255) return undefined;
      out.push(n);
      n = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      n = n * 10 + (c - 0x30);
      digits++;
    } else return undefined;
  }
  return out.length === 4 ? out : undefined;
}

/** The eight 16-bit groups of an IPv6 address (no brackets), or undefined when it is not one. */
function parseIpv6(s: string): number[] | undefined {
  if (s.length < 2 || s.length > 45) return undefined;
  const doubleColon = s.indexOf("::");
  if (doubleColon !== -1 && s.indexOf("::", doubleColon + 1) !== -1) return undefined;
  const head = doubleColon === -1 ? s : s.slice(0, doubleColon);
  const tail = doubleColon === -1 ? "" : s.slice(doubleColon + 2);
  const headGroups = groups(head, doubleColon === -1);
  const tailGroups = groups(tail, true);
  if (headGroups === undefined || tailGroups === undefined) return undefined;
  const missing = 8 - headGroups.length - tailGroups.length;
  if (doubleColon === -1 ? missing !== 0 : missing < 1) return undefined;
  return [...headGroups, ...new Array<number>(doubleColon === -1 ? 0 : missing).fill(0), ...tailGroups];
}

/** Colon-separated hex groups; an IPv4 dotted quad may end the list when `allowV4` is set. */
function groups(s: string, allowV4: boolean): number[] | undefined {
  if (s.length === 0) return [];
  const parts = s.split(":");
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] ?? "";
    if (allowV4 && i === parts.length - 1 && p.includes(".")) {
      const v4 = parseIpv4(p);
      if (v4 === undefined) return undefined;
      out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
      out.push(parseInt(p, 16));
    }
  }
  return out;
}

/** True for an IPv4 dotted quad or an IPv6 address (brackets allowed): a host that needs no DNS. */
export function isIpAddress(host: string): boolean {
  const bare = host.charCodeAt(0) === 0x5b && host.endsWith("]") ? host.slice(1, -1) : host;
  return parseIpv4(bare) !== undefined || parseIpv6(bare) !== undefined;
}

/** True for the wildcard address of either family (`0.0.0.0`, `::` in any spelling): a bind, not a destination. */
export function isWildcardAddress(ip: string): boolean {
  return ip === "0.0.0.0" || (ip.includes(":") && /^[0:]+$/.test(ip));
}

/**
 * The comparison form of a host: lower-case, brackets removed, IPv6 in RFC 5952 text, IPv4-mapped IPv6
 * (`::ffff:192.0.2.1`, as dual-stack sockets report it) as plain IPv4.
 */
export function normalizeHost(host: string): string {
  const bare = host.charCodeAt(0) === 0x5b && host.endsWith("]") ? host.slice(1, -1) : host;
  if (!bare.includes(":")) return bare.toLowerCase();
  const g = parseIpv6(bare);
  if (g === undefined) return bare.toLowerCase();
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    const a = g[6] ?? 0;
    const b = g[7] ?? 0;
    return `${a >> 8}.${a & 0xff}.${b >> 8}.${b & 0xff}`;
  }
  // RFC 5952 section 4.2: compress the longest run (two groups or more) of zero groups, the first on a tie.
  let bestStart = 8;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((n) => n.toString(16));
  if (bestStart === 8) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** `sip:ip:port` with brackets around IPv6: how a registrar writes `received` (OpenSIPS, Kamailio, ours). */
export function addressUri(ip: string, port: number): string {
  return ip.includes(":") ? `sip:[${ip}]:${port}` : `sip:${ip}:${port}`;
}
