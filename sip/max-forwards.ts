/**
 * The Max-Forwards header (RFC 3261 sections 8.1.1.6, 16.3, 20.22).
 */

import { parseBoundedInt } from "./token";

/** The value a proxy adds when a request has no Max-Forwards: "SHOULD be 70" (RFC 3261 8.1.1.6). */
export const DEFAULT_MAX_FORWARDS = 70;

/** Parses a Max-Forwards value, an integer 0-255 (RFC 3261 20.22); undefined otherwise. */
export function parseMaxForwards(value: string): number | undefined {
  return parseBoundedInt(value.trim(), 255);
}
