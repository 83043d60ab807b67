/**
 * Seals the state a decision needs at response time into an opaque string the gateway echoes back:
 * base64url(JSON) "." HMAC-SHA256, with an issue time so that stale or forged contexts are refused.
 * The worker stays stateless between a request and its response.
 */

import type { HmacKey } from "../../../contract/signing";
import { fromBase64url, toBase64url } from "../base64url";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Domain separation: a context MAC can never be mistaken for a request signature made with the same key.
const LABEL = "edge-registrar context v1\n";

/** Seals `value` (JSON-serialisable) with the issue time `now` (Unix ms). */
export async function sealContext(key: HmacKey, value: unknown, now: number): Promise<string> {
  const payload = toBase64url(encoder.encode(JSON.stringify({ iat: now, v: value })));
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(LABEL + payload)));
  return `${payload}.${toBase64url(mac)}`;
}

/** Longest sealed context accepted; anything longer is malformed (a REGISTER context is a few KB). */
const MAX_SEALED_LENGTH = 64 * 1024;

/**
 * Opens a sealed context; undefined when forged, malformed, or older than `maxAgeMs`. Never throws: a
 * malformed context (bad base64, bad JSON, wrong shape) is the caller's 400, not a 500. Several keys: during
 * a secret rotation a context sealed with the previous secret (a transaction in flight) still opens.
 */
export async function openContext(keys: HmacKey | readonly HmacKey[], sealed: string, now: number, maxAgeMs: number): Promise<unknown> {
  try {
    if (sealed.length > MAX_SEALED_LENGTH) return undefined;
    const dot = sealed.indexOf(".");
    if (dot <= 0) return undefined;
    const payload = sealed.slice(0, dot);
    const mac = fromBase64url(sealed.slice(dot + 1));
    if (!mac || mac.length !== 32) return undefined;
    const data = encoder.encode(LABEL + payload);
    let ok = false;
    for (const key of Array.isArray(keys) ? (keys as readonly HmacKey[]) : [keys as HmacKey]) {
      if (await crypto.subtle.verify("HMAC", key, mac, data)) {
        ok = true;
        break;
      }
    }
    if (!ok) return undefined;
    const bytes = fromBase64url(payload);
    if (!bytes) return undefined;
    const parsed = JSON.parse(decoder.decode(bytes)) as { iat?: unknown; v?: unknown } | null;
    if (typeof parsed !== "object" || parsed === null) return undefined;
    if (typeof parsed.iat !== "number" || now - parsed.iat > maxAgeMs || parsed.iat - now > 60_000) return undefined;
    return parsed.v;
  } catch {
    // atob on a length that is no base64 (4n+1), a MAC of the wrong length, undecodable JSON ...
    return undefined;
  }
}
