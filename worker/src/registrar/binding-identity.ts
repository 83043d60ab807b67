/**
 * What identifies a binding within its AoR (the input of the binding token, stored as `location.ruid`).
 *
 * - With `+sip.instance`: the instance and the reg-id (RFC 5626 section 6, RFC 5627): the device is the
 *   binding, whatever its Contact says; a phone that changes address refreshes its one binding.
 * - Without it: the Contact URI (RFC 3261 section 10.3 compares contact URIs) and, when the REGISTER came
 *   from another address than its Contact (NAT), the IP address it came from. Two phones behind different
 *   NATs that both send `Contact: sip:201@192.168.1.10:5060` are two bindings; one phone whose NAT changes
 *   only its source port keeps its binding. The port is left out on purpose: NATs rebind ports, and a
 *   second device on one LAN cannot hold the same private IP and port. A phone behind a NAT that changes
 *   its public IP gets a new binding; the old one lapses at its expiry.
 *
 * A phone without NAT and without instance has the identity it had before `ruid` existed (its contact),
 * so its token, and the contact the Asterisk holds for it, do not change.
 */
import { parseUri } from "../sip-uri";

function unquote(v: string): string {
  const s = v.trim();
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/** The identity string of a Contact of a REGISTER; `received` is the NAT source (`sip:ip:port`) or null. */
export function bindingIdentity(contactUri: string, params: Readonly<Record<string, string | null>>, received: string | null): string {
  const instance = params["+sip.instance"];
  if (instance) {
    const regId = params["reg-id"];
    return `instance ${unquote(instance)} reg-id ${regId ?? ""}`;
  }
  if (!received) return contactUri;
  const host = parseUri(received)?.host;
  return host ? `${contactUri}\nreceived ${host}` : contactUri;
}
