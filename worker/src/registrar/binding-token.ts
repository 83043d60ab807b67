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

/**
 * SHA-256 of a text's UTF-8 bytes, as lower-case hex. WebCrypto by default: every runtime has it. A runtime
 * may give a synchronous one (the Node runtime's node:crypto hash costs a few µs where WebCrypto's promise
 * goes through Node's thread pool, ~60 µs of the event loop's time per REGISTER). Hex, not bytes: node:crypto
 * writes hex without a buffer, and a buffer per hash is an allocation outside the heap (docs/benchmarks.md).
 */
export type Sha256Hex = (text: string) => string | Promise<string>;

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

export const webCryptoSha256: Sha256Hex = async (text) => {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  let out = "";
  for (const b of digest) out += HEX[b]!;
  return out;
};

/** 20 hex characters (80 bits) of SHA-256 over "user@domain" LF identity. */
export async function bindingToken(username: string, domain: string, identity: string, sha256: Sha256Hex = webCryptoSha256): Promise<string> {
  return (await sha256(`${username}@${domain}\n${identity}`)).slice(0, 20);
}
