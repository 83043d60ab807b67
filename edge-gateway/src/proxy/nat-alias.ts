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

export const ALIAS_PARAM = "alias";

/** Adds the alias to each Contact whose host:port is not the source. Headers other than Contact are kept. */
export function addContactAlias(headers: readonly SipHeader[], source: TransportAddress): SipHeader[] {
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
      const ip = source.ip.includes(":") ? `[${source.ip}]` : source.ip;
      return { ...na, uri: formatSipUri({ ...u, params: { ...u.params, [ALIAS_PARAM]: `${ip}~${source.port}~1` } }) };
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
  // Only what addContactAlias writes: an IP (IPv6 bracketed, bare tolerated), a port, and transport 1
  // (UDP). Anything else is not ours, and a garbage address must not become a destination.
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9a-fA-F:.]+))~(\d{1,5})~1$/.exec(alias);
  const ip = m?.[1] ?? m?.[2];
  if (!m || ip === undefined || isIP(ip) === 0 || (m[1] !== undefined && isIP(ip) !== 6)) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  const params: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(u.params)) if (k !== ALIAS_PARAM) params[k] = v;
  return { uri: formatSipUri({ ...u, params }), target: { ip, port, transport: "udp" } };
}
