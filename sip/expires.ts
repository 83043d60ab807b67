/**
 * Expiry values: the Expires header and the Contact `expires` parameter (RFC 3261 sections 20.19, 10.2.1.1).
 */

import { parseBoundedInt } from "./token";

/** Largest delta-seconds value accepted (32-bit unsigned). */
export const MAX_EXPIRES = 0xffffffff;

/**
 * Parses delta-seconds (`3600`) from an Expires header or an `expires` parameter; undefined when it is not
 * digits or exceeds 32 bits, in which case the caller applies its default (RFC 4475 section 3.1.2.4).
 */
export function parseExpires(value: string): number | undefined {
  return parseBoundedInt(value.trim(), MAX_EXPIRES);
}
