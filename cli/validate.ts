/**
 * Local checks of what an operator types, run before any request so that a typo costs no round trip and
 * gets a precise reason. Pure functions: text in, a value or a reason out.
 */
import { isIPv4, isIPv6 } from "node:net";

/** The outcome of a check: the accepted value, or a one-line reason it was refused. */
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** An address-of-record, `user@domain`, split in its two parts. */
export interface Aor {
  readonly user: string;
  readonly domain: string;
}

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const refuse = <T>(reason: string): Checked<T> => ({ ok: false, reason });

// RFC 3261 section 25.1: domainlabel = alphanum / alphanum *( alphanum / "-" ) alphanum;
// toplabel = ALPHA / ALPHA *( alphanum / "-" ) alphanum. The letter-first toplabel is what tells a
// hostname from an IPv4 address.
const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i;
const TOP_LABEL = /^[a-z](?:[a-z0-9-]*[a-z0-9])?$/i;
// RFC 3261 section 25.1: user = 1*( unreserved / escaped / user-unreserved ).
const SIP_USER = /^(?:[a-z0-9\-_.!~*'()&=+$,;?/]|%[0-9a-f]{2})+$/i;
const PARAM_NAME = /^(?:[a-z0-9\-_.!~*'()[\]/:&+$]|%[0-9a-f]{2})+$/i;
const PARAM_VALUE = /^(?:[a-z0-9\-_.!~*'()[\]/:&+$]|%[0-9a-f]{2})*$/i;

/** True when `text` is a hostname in the RFC 3261 sense (letters first in the last label, no trailing dot). */
export function isHostname(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  const labels = text.split(".");
  const top = labels[labels.length - 1] ?? "";
  return (
    labels.every((label) => label.length <= 63 && DOMAIN_LABEL.test(label)) && TOP_LABEL.test(top)
  );
}

/** Accepts a tenant domain: it must look like a hostname (`tenant-a.example`). */
export function checkDomain(text: string): Checked<string> {
  if (text.length === 0) return refuse("domain is empty");
  if (!isHostname(text)) return refuse(`domain '${text}' is not a hostname`);
  return ok(text);
}

/**
 * Accepts what the admin API takes with `allowUnusualDomain`: a hostname (single labels included), an IPv4
 * address or a bracketed IPv6 address.
 */
export function checkUnusualDomain(text: string): Checked<string> {
  if (text.length === 0) return refuse("domain is empty");
  if (isIPv4(text) || (text.startsWith("[") && text.endsWith("]") && isIPv6(text.slice(1, -1)))) return ok(text);
  const labels = text.split(".");
  if (text.length <= 253 && labels.every((l) => l.length <= 63 && DOMAIN_LABEL.test(l))) return ok(text);
  return refuse(`domain '${text}' is neither a hostname nor an IP address`);
}

function checkHost(host: string): string | undefined {
  if (host.startsWith("[")) {
    if (!host.endsWith("]")) return `host '${host}' lacks the closing ']'`;
    const inner = host.slice(1, -1);
    // A zone id (fe80::1%eth0) has no place in a SIP URI.
    return isIPv6(inner) && !inner.includes("%") ? undefined : `'${inner}' is not an IPv6 address`;
  }
  if (host.length === 0) return "host is missing";
  if (/^[0-9.]+$/.test(host)) return isIPv4(host) ? undefined : `'${host}' is not an IPv4 address`;
  return isHostname(host) ? undefined : `'${host}' is not an IPv4 address, [IPv6] address or hostname`;
}

function checkPort(port: string): string | undefined {
  if (!/^[0-9]{1,5}$/.test(port)) return `port '${port}' is not a number`;
  const value = Number(port);
  return value >= 1 && value <= 65535 ? undefined : `port ${port} is not in 1..65535`;
}

/**
 * Accepts a dispatcher destination: a `sip:` or `sips:` URI with a host (IPv4, `[IPv6]` or hostname), an
 * optional user part, an optional port in 1..65535 and optional `;name=value` parameters.
 */
export function checkDestination(text: string): Checked<string> {
  const fail = (why: string): Checked<string> => refuse(`destination '${text}': ${why}`);
  const scheme = /^(sips?):/i.exec(text);
  if (!scheme) return fail("must be a sip: or sips: URI");
  if (/\s/.test(text)) return fail("must not contain spaces");
  let rest = text.slice(scheme[0].length);
  if (rest.includes("?")) return fail("must not carry URI headers ('?')");

  const at = rest.indexOf("@");
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    if (userinfo.length === 0) return fail("user part before '@' is empty");
    rest = rest.slice(at + 1);
    if (rest.includes("@")) return fail("has more than one '@'");
  }

  const semicolon = rest.indexOf(";");
  const hostport = semicolon >= 0 ? rest.slice(0, semicolon) : rest;
  if (semicolon >= 0) {
    for (const param of rest.slice(semicolon + 1).split(";")) {
      const eq = param.indexOf("=");
      const name = eq >= 0 ? param.slice(0, eq) : param;
      const value = eq >= 0 ? param.slice(eq + 1) : "";
      if (!PARAM_NAME.test(name) || !PARAM_VALUE.test(value)) return fail(`bad URI parameter ';${param}'`);
    }
  }

  let host = hostport;
  let port: string | undefined;
  if (hostport.startsWith("[")) {
    const close = hostport.indexOf("]");
    if (close >= 0) {
      host = hostport.slice(0, close + 1);
      const after = hostport.slice(close + 1);
      if (after.startsWith(":")) port = after.slice(1);
      else if (after.length > 0) return fail(`unexpected '${after}' after the host`);
    }
  } else {
    if (hostport.split(":").length > 2) {
      const bare = isIPv6(hostport) || isIPv6(hostport.slice(0, hostport.lastIndexOf(":")));
      return fail(bare ? "an IPv6 host goes in brackets, e.g. sip:[2001:db8::2]:5060" : "more than one ':' after the host");
    }
    const colon = hostport.indexOf(":");
    if (colon >= 0) {
      host = hostport.slice(0, colon);
      port = hostport.slice(colon + 1);
    }
  }

  const hostProblem = checkHost(host);
  if (hostProblem) return fail(hostProblem);
  if (port !== undefined) {
    const portProblem = checkPort(port);
    if (portProblem) return fail(portProblem);
  }
  return ok(text);
}

/** Accepts an address-of-record written `user@domain` (no `sip:` scheme), the domain a hostname. */
export function checkAor(text: string): Checked<Aor> {
  const fail = (why: string): Checked<Aor> => refuse(`'${text}' is not user@domain: ${why}`);
  if (/^sips?:/i.test(text)) return fail("leave out the sip: scheme");
  const at = text.indexOf("@");
  if (at < 0) return fail("'@' is missing");
  if (text.indexOf("@", at + 1) >= 0) return fail("more than one '@'");
  const user = text.slice(0, at);
  const domain = text.slice(at + 1);
  if (user.length === 0) return fail("the user part is empty");
  if (!SIP_USER.test(user)) return fail(`'${user}' is not a SIP user part`);
  if (!isHostname(domain)) return fail(`'${domain}' is not a hostname`);
  return ok({ user, domain });
}
