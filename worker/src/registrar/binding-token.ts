/**
 * The binding token (OpenSIPS mid_registrar "mirror" mode): the upstream Contact the Asterisk stores for a
 * phone is `sip:<user>@<gateway>;erb=<token>`, the token derived deterministically from the AoR and the
 * binding's identity (binding-identity.ts: instance + reg-id, else contact + NAT source IP). A refresh
 * yields the same upstream contact, two devices get two, and the contacts of a 2xx map back to exactly the
 * phone contacts of this REGISTER. The token is stored as `location.ruid`.
 */

/** The Request-URI / Contact parameter carrying the token. */
export const BINDING_TOKEN_PARAM = "erb";

const encoder = new TextEncoder();

/** 20 hex characters (80 bits) of SHA-256 over "user@domain" LF identity. */
export async function bindingToken(username: string, domain: string, identity: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(`${username}@${domain}\n${identity}`));
  const bytes = new Uint8Array(digest, 0, 10);
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}
