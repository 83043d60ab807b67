/**
 * Random hex for branches and tags (RFC 3261 8.1.1.7, 19.3: unique, with enough randomness), drawn from a
 * pool refilled from the CSPRNG a few KiB at a time: one `randomBytes` call per message cost several µs
 * of the event loop at thousands of messages per second.
 */
import { randomFillSync } from "node:crypto";

const pool = Buffer.allocUnsafe(4096);
let next = pool.length;

/** `bytes` random bytes (at most 256) as 2 x `bytes` hex characters. */
export function randomHex(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 256) throw new RangeError(`randomHex: ${bytes} bytes`);
  if (next + bytes > pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const out = pool.toString("hex", next, next + bytes);
  next += bytes;
  return out;
}
