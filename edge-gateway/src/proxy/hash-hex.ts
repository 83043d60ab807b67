/**
 * A 64-bit hash of a string as 16 hex digits, for identifiers that must come out the same for the same input
 * and differ for different inputs with high probability: the loop-detection part of a branch (RFC 3261 16.6
 * step 8) and the To tag of a stateless reply. Nothing rests on a collision being hard to find (whoever could
 * craft one controls the request it would affect anyway), so no cryptographic digest is needed; node:crypto's
 * createHash costs 3-5 µs per call in setup alone, once per request admitted and once per 503 refused under
 * overload, where this costs well under one (docs/benchmarks.md).
 *
 * Two 32-bit multiply-xor lanes over the UTF-16 code units, with different multipliers and seeds, each
 * finished with an avalanche step so that inputs differing in their last character differ in every digit.
 */
export function hashHex(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return hex8(avalanche(a ^ Math.imul(b, 0x27d4eb2d))) + hex8(avalanche(b ^ a));
}

/** Mixes every input bit into every output bit (the finaliser of a 32-bit multiplicative hash). */
function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}
