/**
 * How a decision hands state to its response decision through the gateway. Two implementations of one seam:
 *
 * - `hmacContexts`: the Workers runtime. The context crosses the network twice (in the relay decision, back
 *   in the ResponseEvent), so it is sealed with the shared key (gateway/context-seal.ts) and refused when
 *   forged or stale.
 * - `inProcessContexts`: the Node runtime. Decision and gateway share one process; the context never leaves
 *   its memory, so there is nobody to forge it and no MAC to compute: it is the JSON with its issue time,
 *   refused only when stale (the same age bound).
 *
 * The age bound is the REGISTER transaction's lifetime (config REGISTER_CONTEXT_MAX_AGE_S): a replayed or late
 * response event cannot apply a context past it (docs/security.md).
 */
import type { HmacKey } from "../../../contract/signing";
import { openContext, sealContext } from "../gateway/context-seal";

export interface ContextCodec {
  /** An opaque string carrying `value`, issued at `now` (Unix ms). */
  seal(value: unknown, now: number): Promise<string>;
  /** The value back; undefined when forged, malformed or older than the codec's maximum age. */
  open(sealed: string, now: number): Promise<unknown>;
}

/** Contexts sealed with HMAC-SHA256 under the gateway key (they travel over the network). */
export function hmacContexts(key: Promise<HmacKey>, openKeys: Promise<readonly HmacKey[]>, maxAgeMs: number): ContextCodec {
  return {
    // Sealed with the current secret; opened with it or, during a rotation window, the previous one.
    seal: async (value, now) => sealContext(await key, value, now),
    open: async (sealed, now) => openContext(await openKeys, sealed, now, maxAgeMs),
  };
}

/** Contexts that never leave this process: JSON with the issue time, no MAC. */
export function inProcessContexts(maxAgeMs: number): ContextCodec {
  return {
    seal: (value, now) => Promise.resolve(JSON.stringify({ iat: now, v: value })),
    open: (sealed, now) => {
      try {
        const parsed = JSON.parse(sealed) as { iat?: unknown; v?: unknown };
        if (typeof parsed.iat !== "number" || now - parsed.iat > maxAgeMs || parsed.iat - now > 60_000) {
          return Promise.resolve(undefined);
        }
        return Promise.resolve(parsed.v);
      } catch {
        return Promise.resolve(undefined);
      }
    },
  };
}
