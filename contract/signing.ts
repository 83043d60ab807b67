/**
 * Request signing between the gateway and the worker: HMAC-SHA256 over timestamp, nonce, path and body,
 * with Web Crypto so that the same code runs in Node and in workerd.
 */

export const SIGNATURE_HEADER = "x-edge-signature";
export const TIMESTAMP_HEADER = "x-edge-timestamp";
export const NONCE_HEADER = "x-edge-nonce";

const encoder = new TextEncoder();

/** An imported HMAC key (Web Crypto's CryptoKey in both runtimes). */
export type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

/** Imports a shared secret as an HMAC-SHA256 key (do it once, keep the key). */
export async function importHmacKey(secret: string): Promise<HmacKey> {
  if (secret.length < 16) throw new Error("the shared secret must be at least 16 characters");
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

function toHex(buf: ArrayBuffer): string {
  const bytes = new Uint8Array(buf);
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** The text a signature covers (a signer outside Web Crypto must sign exactly this, as UTF-8). */
export function signedText(timestamp: string, nonce: string, path: string, body: string): string {
  return `${timestamp}\n${nonce}\n${path}\n${body}`;
}

function payload(timestamp: string, nonce: string, path: string, body: string): Uint8Array {
  return encoder.encode(signedText(timestamp, nonce, path, body));
}

/** Signs a request; returns the three headers to send. `now` is Unix milliseconds. */
export async function signRequest(
  key: HmacKey,
  path: string,
  body: string,
  now: number,
  nonce: string = crypto.randomUUID(),
): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(now / 1000));
  const sig = await crypto.subtle.sign("HMAC", key, payload(timestamp, nonce, path, body));
  return { [TIMESTAMP_HEADER]: timestamp, [NONCE_HEADER]: nonce, [SIGNATURE_HEADER]: toHex(sig) };
}

/** `keyIndex`: which of the keys given to verifyRequest made the signature (0: the first, the current one). */
export type VerifyResult = { ok: true; nonce: string; timestamp: number; keyIndex: number } | { ok: false; reason: string };

/**
 * Checks a signed request: all three headers present, timestamp within `windowSeconds` of `now`, and a
 * valid signature (constant-time, by Web Crypto's verify). Replay protection (nonce memory) is the caller's.
 *
 * Several keys: a secret rotation window (docs/operations.md). The signature is accepted when any of them
 * made it; the current key comes first, so a rotated deployment costs one verification per request.
 */
export async function verifyRequest(
  keys: HmacKey | readonly HmacKey[],
  path: string,
  body: string,
  headers: { get(name: string): string | null },
  now: number,
  windowSeconds: number,
): Promise<VerifyResult> {
  const timestamp = headers.get(TIMESTAMP_HEADER);
  const nonce = headers.get(NONCE_HEADER);
  const signature = headers.get(SIGNATURE_HEADER);
  if (!timestamp || !nonce || !signature) return { ok: false, reason: "missing signature headers" };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "bad timestamp" };
  if (nonce.length < 8 || nonce.length > 128) return { ok: false, reason: "bad nonce" };
  const ts = Number(timestamp);
  if (Math.abs(now / 1000 - ts) > windowSeconds) return { ok: false, reason: "timestamp outside the window" };
  const sig = fromHex(signature);
  if (!sig) return { ok: false, reason: "bad signature encoding" };
  const data = payload(timestamp, nonce, path, body);
  const list = Array.isArray(keys) ? (keys as readonly HmacKey[]) : [keys as HmacKey];
  for (let i = 0; i < list.length; i++) {
    if (await crypto.subtle.verify("HMAC", list[i]!, sig, data)) return { ok: true, nonce, timestamp: ts, keyIndex: i };
  }
  return { ok: false, reason: "bad signature" };
}
