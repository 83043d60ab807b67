/**
 * Via header values (RFC 3261 section 20.42 and 18.2.1, rport per RFC 3581, IPv6 per RFC 5118).
 */

import { parseHostPort, parsePort } from "./host";
import { headerValue } from "./message";
import type { SipHeader } from "./message";
import { firstListValue, splitHeaderList } from "./name-addr";
import { formatParams, newParams, parseHeaderParams, scanQuotedString } from "./params";
import type { Params } from "./params";
import { isGenValue, isToken, isWsp } from "./token";

/** The magic cookie that starts every RFC 3261 branch (section 8.1.1.7). */
export const RFC3261_BRANCH_COOKIE = "z9hG4bK";

/** One Via value. `params` is the source of truth; `branch`, `received`, `rport` are read from it. */
export interface Via {
  /** sent-protocol, upper-case and without spaces: `SIP/2.0/UDP`. */
  readonly protocol: string;
  /** The transport part of `protocol`: `UDP`, `TCP`, `TLS`, `WS`, ... */
  readonly transport: string;
  /** sent-by host as written; IPv6 in brackets (`[2001:db8::1]`). */
  readonly host: string;
  readonly port?: number;
  /** Via parameters in order, names lower-case; `null` for a parameter without value. */
  readonly params: Params;
  readonly branch?: string;
  /** The `received` parameter (RFC 3261 18.2.1); an IPv6 address appears without brackets (RFC 5118 4.5). */
  readonly received?: string;
  /** RFC 3581: undefined when absent, null for a bare `;rport` (asking for it), the port once filled in. */
  readonly rport?: number | null;
}

function skipWsp(s: string, i: number): number {
  while (i < s.length && isWsp(s.charCodeAt(i))) i++;
  return i;
}

/** Reads a token at `i`; returns it and the index after it. */
function readToken(s: string, i: number): [string, number] {
  const start = i;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x2f || c === 0x3b || isWsp(c)) break;
    i++;
  }
  return [s.slice(start, i), i];
}

function fromParams(protocol: string, transport: string, host: string, port: number | undefined, params: Params): Via | undefined {
  const branch = params["branch"];
  const received = params["received"];
  const rportRaw = params["rport"];
  if (branch === null || received === null) return undefined;
  let rport: number | null | undefined;
  if (rportRaw === null) rport = null;
  else if (rportRaw !== undefined) {
    rport = parsePort(rportRaw);
    if (rport === undefined) return undefined;
  }
  // Built by assignment, not by spreading conditional objects: this runs for every datagram.
  const via: { -readonly [K in keyof Via]: Via[K] } = { protocol, transport, host, params };
  if (port !== undefined) via.port = port;
  if (branch !== undefined) via.branch = branch;
  if (received !== undefined) via.received = received;
  if (rport !== undefined) via.rport = rport;
  return via;
}

/**
 * The sent-by between `from` and `to` with the optional blanks around its colon removed (COLON = SWS ":" SWS,
 * RFC 3261 25.1), in one pass: a global regular expression for "blanks, colon, blanks" re-scans a run of
 * blanks from every position in it, quadratic on a hostile Via. Blanks anywhere else stay, so the host check refuses them.
 */
function sentByText(s: string, from: number, to: number): string {
  while (from < to && isWsp(s.charCodeAt(from))) from++;
  while (to > from && isWsp(s.charCodeAt(to - 1))) to--;
  let out = "";
  let i = from;
  while (i < to) {
    // A run of non-blank characters is copied as one slice.
    let j = i;
    while (j < to && !isWsp(s.charCodeAt(j))) j++;
    out += s.slice(i, j);
    if (j === to) break;
    // A run of blanks: dropped next to a colon, else kept (and the host check then refuses it).
    let k = j;
    while (k < to && isWsp(s.charCodeAt(k))) k++;
    if (s.charCodeAt(k) !== 0x3a && s.charCodeAt(j - 1) !== 0x3a) out += s.slice(j, k);
    i = k;
  }
  return out;
}

function parseOneVia(s: string): Via | undefined {
  // Fast path for the spelling nearly every Via uses: "SIP/2.0/" then the transport.
  if (s.startsWith("SIP/2.0/")) {
    const [transport, next] = readToken(s, 8);
    if (isToken(transport) && isWsp(s.charCodeAt(next))) {
      const upper = transport.toUpperCase();
      return parseViaRest(s, next, `SIP/2.0/${upper}`, upper);
    }
  }
  const parts: string[] = [];
  let i = 0;
  for (let k = 0; k < 3; k++) {
    i = skipWsp(s, i);
    if (k > 0) {
      if (s.charCodeAt(i) !== 0x2f) return undefined;
      i = skipWsp(s, i + 1);
    }
    const [tok, next] = readToken(s, i);
    if (!isToken(tok)) return undefined;
    parts.push(tok.toUpperCase());
    i = next;
  }
  if (!isWsp(s.charCodeAt(i))) return undefined; // LWS before sent-by
  return parseViaRest(s, i, parts.join("/"), parts[2] ?? "");
}

/** The sent-by and parameters of a Via, from `i` (the LWS after sent-protocol). */
function parseViaRest(s: string, i: number, protocol: string, transport: string): Via | undefined {
  const semi = s.indexOf(";", i);
  const hp = parseHostPort(sentByText(s, i, semi === -1 ? s.length : semi));
  if (hp === undefined) return undefined;
  const params = semi === -1 ? newParams() : parseHeaderParams(s, semi);
  if (params === undefined) return undefined;
  return fromParams(protocol, transport, hp.host, hp.port, params);
}

/**
 * Parses a Via header value, which may hold several comma-separated Vias, top first. Returns an empty
 * list when any of them is malformed.
 */
export function parseVia(value: string): Via[] {
  const out: Via[] = [];
  for (const item of splitHeaderList(value)) {
    const via = parseOneVia(item);
    if (via === undefined) return [];
    out.push(via);
  }
  return out;
}

/** Writes one Via value from its protocol, sent-by and params (an unbracketed IPv6 host gets brackets). */
export function formatVia(via: Pick<Via, "protocol" | "host" | "port" | "params">): string {
  const host = via.host.includes(":") && !via.host.startsWith("[") ? `[${via.host}]` : via.host;
  const port = via.port === undefined ? "" : `:${via.port}`;
  return `${via.protocol} ${host}${port}${formatParams(via.params)}`;
}

/**
 * A copy of `via` with parameters set (in place when present, else appended) or, for `undefined`,
 * removed; e.g. `{ received: "192.0.2.7", rport: "40312" }` for RFC 3581. Throws RangeError on a name
 * that is not a token or a value that is not a token, host or quoted string.
 */
export function withViaParams(via: Via, changes: Readonly<Record<string, string | null | undefined>>): Via {
  const lower = new Map<string, string | null | undefined>();
  for (const name of Object.keys(changes)) {
    const value = changes[name];
    if (!isToken(name) || (typeof value === "string" && !isGenValue(value) && !isQuotedString(value))) {
      throw new RangeError(`invalid Via parameter ${JSON.stringify(name)}`);
    }
    lower.set(name.toLowerCase(), value);
  }
  const params = newParams();
  for (const name in via.params) {
    const value = lower.has(name) ? lower.get(name) : via.params[name];
    if (value !== undefined) params[name] = value;
  }
  for (const [name, value] of lower) if (!(name in params) && !(name in via.params) && value !== undefined) params[name] = value;
  const out = fromParams(via.protocol, via.transport, via.host, via.port, params);
  if (out === undefined) throw new RangeError("invalid branch, received or rport value");
  return out;
}

function isQuotedString(s: string): boolean {
  return s.charCodeAt(0) === 0x22 && scanQuotedString(s, 0) === s.length;
}

/** Parses the first Via of a Via header value only (the rest of the line is not read). */
export function parseTopVia(value: string): Via | undefined {
  return parseOneVia(firstListValue(value));
}

/** The topmost Via of a message (first value of the first Via header line), or undefined. */
export function topVia(msg: { readonly headers: readonly SipHeader[] }): Via | undefined {
  const line = headerValue(msg, "Via");
  return line === undefined ? undefined : parseTopVia(line);
}
