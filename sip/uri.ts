/**
 * SIP and SIPS URIs (RFC 3261 section 19.1): parsing, formatting, and the host/port comparison the proxy
 * uses to recognise its own addresses. Other schemes (tel:, urn:) are not parsed here.
 */

import { normalizeHost, parseHostPort } from "./host";
import type { HostPort } from "./host";
import { newParams } from "./params";
import type { Params } from "./params";
import { hasValidEscapes, isPasswordChars, isUriHeaderChars, isUriParamChars, isUserChars } from "./token";

/**
 * A parsed sip:/sips: URI. `user` and `password` are percent-decoded; `host` is as written (IPv6 in
 * brackets); parameter names are lower-case and, like header values, kept as written.
 */
export interface SipUri {
  readonly scheme: "sip" | "sips";
  readonly user?: string;
  readonly password?: string;
  readonly host: string;
  readonly port?: number;
  /** URI parameters in order; `null` for a parameter without value (`;lr`). */
  readonly params: Params;
  /** URI headers (`?Subject=x&Priority=urgent`) in order. */
  readonly headers: Readonly<Record<string, string>>;
}

const EMPTY_HEADERS: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

function percentDecode(s: string): string | undefined {
  if (!s.includes("%")) return s;
  if (!hasValidEscapes(s)) return undefined;
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined; // escapes that are not UTF-8
  }
}

/** Parses a sip: or sips: URI (scheme case-insensitive); undefined for other schemes or bad syntax. */
export function parseSipUri(s: string): SipUri | undefined {
  const colon = s.indexOf(":");
  if (colon !== 3 && colon !== 4) return undefined;
  const scheme = s.slice(0, colon).toLowerCase();
  if (scheme !== "sip" && scheme !== "sips") return undefined;
  let rest = s.slice(colon + 1);

  let user: string | undefined;
  let password: string | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const pc = userinfo.indexOf(":");
    const rawUser = pc === -1 ? userinfo : userinfo.slice(0, pc);
    if (!isUserChars(rawUser)) return undefined;
    user = percentDecode(rawUser);
    if (user === undefined) return undefined;
    if (pc !== -1) {
      const rawPassword = userinfo.slice(pc + 1);
      if (!isPasswordChars(rawPassword)) return undefined;
      password = percentDecode(rawPassword);
      if (password === undefined) return undefined;
    }
  }

  const q = rest.indexOf("?");
  const beforeHeaders = q === -1 ? rest : rest.slice(0, q);
  const semi = beforeHeaders.indexOf(";");
  const hostPort = parseHostPort(semi === -1 ? beforeHeaders : beforeHeaders.slice(0, semi));
  if (hostPort === undefined) return undefined;

  const params = newParams();
  if (semi !== -1) {
    for (const part of beforeHeaders.slice(semi + 1).split(";")) {
      const eq = part.indexOf("=");
      const name = eq === -1 ? part : part.slice(0, eq);
      const value = eq === -1 ? null : part.slice(eq + 1);
      if (!isUriParamChars(name, false) || !hasValidEscapes(name)) return undefined;
      if (value !== null && (!isUriParamChars(value, false) || !hasValidEscapes(value))) return undefined;
      const key = name.toLowerCase();
      if (!Object.prototype.hasOwnProperty.call(params, key)) params[key] = value;
    }
  }

  let headers = EMPTY_HEADERS;
  if (q !== -1) {
    const h = Object.create(null) as Record<string, string>;
    for (const part of rest.slice(q + 1).split("&")) {
      const eq = part.indexOf("=");
      if (eq === -1) return undefined;
      const name = part.slice(0, eq);
      const value = part.slice(eq + 1);
      if (!isUriHeaderChars(name, false) || !isUriHeaderChars(value, true) || !hasValidEscapes(part)) return undefined;
      if (!(name in h)) h[name] = value;
    }
    headers = h;
  }

  const uri: { -readonly [K in keyof SipUri]: SipUri[K] } = { scheme, host: hostPort.host, params, headers };
  if (user !== undefined) uri.user = user;
  if (password !== undefined) uri.password = password;
  if (hostPort.port !== undefined) uri.port = hostPort.port;
  return uri;
}

const encoder = new TextEncoder();

/** Percent-encodes every byte of `s` outside the characters `allowed` accepts. */
function percentEncode(s: string, allowed: (c: string) => boolean): string {
  let out = "";
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || c === 0x25 || c === 0x23 || !allowed(s[i] ?? "")) {
      plain = false;
      break;
    }
  }
  if (plain) return s;
  for (const byte of encoder.encode(s)) {
    const ch = String.fromCharCode(byte);
    out += byte < 128 && byte !== 0x25 && byte !== 0x23 && allowed(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Writes a SIP URI; `user` and `password` are percent-encoded where RFC 3261 requires it. */
export function formatSipUri(uri: SipUri): string {
  let out = `${uri.scheme}:`;
  if (uri.user !== undefined) {
    out += percentEncode(uri.user, isUserChars);
    if (uri.password !== undefined) out += `:${percentEncode(uri.password, isPasswordChars)}`;
    out += "@";
  }
  out += uri.host;
  if (uri.port !== undefined) out += `:${uri.port}`;
  for (const name in uri.params) {
    const value = uri.params[name];
    out += value === null || value === undefined ? `;${name}` : `;${name}=${value}`;
  }
  let sep = "?";
  for (const name in uri.headers) {
    out += `${sep}${name}=${uri.headers[name] ?? ""}`;
    sep = "&";
  }
  return out;
}

/**
 * True when both name the same host (compared in normal form, so `[2001:DB8::1]` equals `[2001:db8:0::1]`)
 * and the same port, an absent port counting as `defaultPort`.
 */
export function sameHostPort(a: HostPort, b: HostPort, defaultPort = 5060): boolean {
  return (a.port ?? defaultPort) === (b.port ?? defaultPort) && normalizeHost(a.host) === normalizeHost(b.host);
}
