/**
 * The binding token (OpenSIPS mid_registrar "mirror" mode): the upstream Contact the Asterisk stores for a
 * phone is `sip:<user>@<gateway>;erb=<token>`, the token derived deterministically from the AoR and the
 * phone's own contact. A refresh yields the same upstream contact, and the contacts of a 2xx map back to
 * exactly the phone contacts of this REGISTER.
 */

/** The Request-URI / Contact parameter carrying the token. */
export const BINDING_TOKEN_PARAM = "erb";

const encoder = new TextEncoder();

/** 20 hex characters (80 bits) of SHA-256 over "user@domain" LF contact-URI. */
export async function bindingToken(username: string, domain: string, contactUri: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(`${username}@${domain}\n${contactUri}`));
  const bytes = new Uint8Array(digest, 0, 10);
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}
