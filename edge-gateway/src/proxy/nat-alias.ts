/**
 * Contact fix-up for phones behind NAT, as Kamailio's nathelper does with `alias`: when a dialog-forming
 * message comes from an address other than the one in its Contact, the Contact URI gets
 * `;alias=<ip>~<port>~1` (the real source). In-dialog requests later target that URI; the gateway sends
 * them to the alias address and removes the parameter from the Request-URI before relaying.
 */
import { isIP } from "node:net";
import { normalizeHost } from "../../../sip/host";
import type { SipHeader } from "../../../sip/message";
import { formatNameAddr, parseContactHeader } from "../../../sip/name-addr";
import { formatSipUri, parseSipUri } from "../../../sip/uri";
import type { TransportAddress } from "../transport/transport";
import { ALIAS_PROOF_PARAM } from "./dialog-proof";

export const ALIAS_PARAM = "alias";

/** Methods that create a dialog: their Contacts (and those of their 1xx/2xx) get the NAT alias. */
export const DIALOG_FORMING = new Set(["INVITE", "SUBSCRIBE", "REFER", "NOTIFY", "UPDATE"]);
export { ALIAS_PROOF_PARAM };

/** Adds the alias to each Contact whose host:port is not the source. Headers other than Contact are kept. */
export function addContactAlias(headers: readonly SipHeader[], source: TransportAddress, sign?: (alias: string) => string): SipHeader[] {
  return headers.map((h) => {
    if (h.name !== "Contact") return h;
    const list = parseContactHeader(h.value);
    if (!list || list === "*") return h;
    let changed = false;
    const out = list.map((na) => {
      const u = parseSipUri(na.uri);
      if (!u || u.params[ALIAS_PARAM] !== undefined) return na;
      if (normalizeHost(u.host) === normalizeHost(source.ip) && (u.port ?? 5060) === source.port) return na;
      changed = true;
      const alias = aliasValue(source);
      // The proof travels with the alias: only an alias the gateway wrote may later become a destination.
      const proof: Record<string, string> = sign ? { [ALIAS_PROOF_PARAM]: sign(alias) } : {};
      return { ...na, uri: formatSipUri({ ...u, params: { ...u.params, [ALIAS_PARAM]: alias, ...proof } }) };
    });
    return changed ? { name: h.name, value: out.map(formatNameAddr).join(", ") } : h;
  });
}

/**
 * If the Request-URI carries an alias, returns the URI without it and the address to send to; else
 * undefined.
 */
export function consumeRequestUriAlias(requestUri: string): { uri: string; target: TransportAddress } | undefined {
  const u = parseSipUri(requestUri);
  const alias = u?.params[ALIAS_PARAM];
  if (!u || typeof alias !== "string") return undefined;
  const target = parseAliasValue(alias);
  if (!target) return undefined;
  const params: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(u.params)) if (k !== ALIAS_PARAM && k !== ALIAS_PROOF_PARAM) params[k] = v;
  return { uri: formatSipUri({ ...u, params }), target };
}

/** `ip~port~1` (IPv6 bracketed), as an alias (and a peer Route) writes an address. */
export function aliasValue(a: TransportAddress): string {
  return `${a.ip.includes(":") ? `[${a.ip}]` : a.ip}~${a.port}~1`;
}

/**
 * The address of an `ip~port~1` value. Only what the gateway writes: an IP (IPv6 bracketed, bare
 * tolerated), a port, and transport 1 (UDP). Anything else is not ours, and a garbage address must not
 * become a destination.
 */
export function parseAliasValue(value: string): TransportAddress | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9a-fA-F:.]+))~(\d{1,5})~1$/.exec(value);
  const ip = m?.[1] ?? m?.[2];
  if (!m || ip === undefined || isIP(ip) === 0 || (m[1] !== undefined && isIP(ip) !== 6)) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { ip, port, transport: "udp" };
}

/** What an in-dialog Request-URI says about a NAT alias. */
export type RequestUriAlias =
  | { readonly kind: "none" }
  | { readonly kind: "forged" }
  | { readonly kind: "ok"; readonly uri: string; readonly target: TransportAddress };

/**
 * The alias of an in-dialog Request-URI, checked: `verify(alias, proof)` must accept the proof the gateway
 * wrote beside it. An alias without a valid proof, or one the gateway would not have written, is "forged":
 * its address came from a stranger and is never a destination.
 */
export function readRequestUriAlias(requestUri: string, verify: (alias: string, proof: string | undefined) => boolean): RequestUriAlias {
  const u = parseSipUri(requestUri);
  const alias = u?.params[ALIAS_PARAM];
  if (!u || alias === undefined) return { kind: "none" };
  const proof = u.params[ALIAS_PROOF_PARAM];
  if (typeof alias !== "string" || !verify(alias, typeof proof === "string" ? proof : undefined)) return { kind: "forged" };
  const read = consumeRequestUriAlias(requestUri);
  return read ? { kind: "ok", ...read } : { kind: "forged" };
}
