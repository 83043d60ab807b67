/**
 * The gateway's own addresses: which URIs (Route, Request-URI) point at us, and what to write in Via,
 * Record-Route and Contact on the socket a message leaves from.
 */
import { normalizeHost } from "../../../sip/host";
import { parseSipUri } from "../../../sip/uri";
import type { Listener } from "../transport/transport";

/** `host:port` for SIP, brackets around IPv6. */
export function hostPort(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Recognises the gateway's own addresses among URIs. */
export class LocalAddresses {
  private readonly keys = new Set<string>();

  constructor(listeners: readonly Listener[], extraHosts: readonly string[] = []) {
    for (const l of listeners) {
      this.keys.add(LocalAddresses.key(l.local.ip, l.local.port));
      this.keys.add(LocalAddresses.key(l.advertised.host, l.advertised.port));
      for (const h of extraHosts) this.keys.add(LocalAddresses.key(h, l.local.port));
    }
  }

  /** True when `host:port` (port default 5060) is one of ours. */
  isLocal(host: string, port: number | undefined): boolean {
    return this.keys.has(LocalAddresses.key(host, port ?? 5060));
  }

  /** True when the sip: URI points at the gateway. */
  isLocalUri(uri: string): boolean {
    const u = parseSipUri(uri);
    return u !== undefined && this.isLocal(u.host, u.port ?? (u.scheme === "sips" ? 5061 : 5060));
  }

  private static key(host: string, port: number): string {
    return `${normalizeHost(host)}|${port}`;
  }
}
