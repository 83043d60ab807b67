/**
 * base64url without padding (RFC 4648 section 5), for sealed contexts and session cookies.
 *
 * Table-driven, into one typed array each way: a sealed context is encoded on every REGISTER and opened on
 * every response, and the first version (one string concatenation per byte through an iterator, then btoa
 * and three regular expressions; `Uint8Array.from` with a callback per character) made about a tenth of the
 * garbage of a REGISTER in workerd, whose collector pauses set the Workers runtime's tail (docs/benchmarks.md).
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const ENCODE = new Uint8Array(64);
/** Character code -> 6-bit value; 255 for a character outside the alphabet. */
const DECODE = new Uint8Array(128).fill(255);
for (let i = 0; i < 64; i++) {
  ENCODE[i] = ALPHABET.charCodeAt(i);
  DECODE[ALPHABET.charCodeAt(i)] = i;
}

const ascii = new TextDecoder();

/** Bytes as base64url text. */
export function toBase64url(bytes: Uint8Array): string {
  const n = bytes.length;
  const full = n - (n % 3);
  const out = new Uint8Array(Math.ceil((n * 4) / 3));
  let o = 0;
  for (let i = 0; i < full; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = ENCODE[v >>> 18]!;
    out[o++] = ENCODE[(v >>> 12) & 63]!;
    out[o++] = ENCODE[(v >>> 6) & 63]!;
    out[o++] = ENCODE[v & 63]!;
  }
  if (n % 3 === 1) {
    const v = bytes[full]!;
    out[o++] = ENCODE[v >>> 2]!;
    out[o++] = ENCODE[(v & 3) << 4]!;
  } else if (n % 3 === 2) {
    const v = (bytes[full]! << 8) | bytes[full + 1]!;
    out[o++] = ENCODE[v >>> 10]!;
    out[o++] = ENCODE[(v >>> 4) & 63]!;
    out[o++] = ENCODE[(v & 15) << 2]!;
  }
  return ascii.decode(out);
}

/**
 * base64url text as bytes; undefined for anything that is not base64url (a character outside the alphabet,
 * padding, or a length that no byte string encodes to). Unused low bits of the last character are ignored.
 */
export function fromBase64url(text: string): Uint8Array | undefined {
  const n = text.length;
  if (n % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((n * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? DECODE[c]! : 255;
    if (v === 255) return undefined;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  return out;
}
