/**
 * Authentication of the gateway's calls: every request signed with the shared secret (contract/signing.ts),
 * timestamp within the window, nonce not seen before in this isolate within the window. The body is
 * size-limited before anything else (413), and an unauthenticated caller learns nothing but "unauthorized":
 * the reason goes to the log only.
 */
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { verifyRequest } from "../../../contract/signing";
import type { Env } from "../config/env";
import { getSharedServices } from "../services";

/** Nonces seen recently, with the time they may be forgotten (ms). Bounded; oldest dropped first. */
const seen = new Map<string, number>();
const MAX_NONCES = 100_000;

function remember(nonce: string, now: number, windowMs: number): boolean {
  if (seen.has(nonce)) return false;
  // Map iteration is in insertion order: drop expired (and, past the bound, oldest) entries from the front.
  for (const [n, until] of seen) {
    if (until > now && seen.size < MAX_NONCES) break;
    seen.delete(n);
  }
  seen.set(nonce, now + 2 * windowMs);
  return true;
}

export type GatewayVars = { Variables: { rawBody: string } };

/**
 * Largest gateway event accepted: a SIP message over UDP is at most 64 KB, and JSON escaping (`\uXXXX`
 * for control bytes) can make it up to six times longer; a larger body is refused with 413 before it is
 * read in full or authenticated.
 */
export const MAX_GATEWAY_BODY = 512 * 1024;
/** Largest admin API body: a tenant is a few hundred bytes; a legacy import batch (at most 500 rows) up to ~150 KB. */
export const MAX_ADMIN_BODY = 256 * 1024;

const utf8 = new TextDecoder();

/**
 * The request body as text, read at most `maxSize` bytes: a declared Content-Length over the limit is
 * refused before reading, a chunked body as soon as it passes the limit. 413 either way.
 */
export async function readLimited(req: Request, maxSize: number): Promise<string> {
  const tooLarge = () => new HTTPException(413, { message: "body too large" });
  const declared = req.headers.get("content-length");
  if (declared !== null && !(Number(declared) <= maxSize)) throw tooLarge();
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxSize) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  // A gateway call's body nearly always arrives in one chunk: decoded as it is, without a copy.
  if (chunks.length === 1) return utf8.decode(chunks[0]);
  const all = new Uint8Array(size);
  let at = 0;
  for (const ch of chunks) {
    all.set(ch, at);
    at += ch.byteLength;
  }
  return utf8.decode(all);
}

/** The one answer an unauthenticated caller gets; the reason is logged. */
export function unauthorized(log: (obj: Record<string, unknown>) => void, endpoint: string, reason: string): HTTPException {
  log({ msg: "unauthorized", endpoint, reason });
  return new HTTPException(401, { message: "unauthorized" });
}

/** Verifies the signature and stores the raw body for the handler; 401 otherwise. */
export const gatewayAuth = createMiddleware<{ Bindings: Env } & GatewayVars>(async (c, next) => {
  const { config, gatewayKeys, log } = getSharedServices(c.env);
  const body = await readLimited(c.req.raw, MAX_GATEWAY_BODY);
  const now = Date.now();
  const path = new URL(c.req.url).pathname;
  const result = await verifyRequest(
    // The current secret, and the previous one during a rotation window (docs/operations.md).
    await gatewayKeys,
    path,
    body,
    c.req.raw.headers,
    now,
    config.signatureWindowS,
  );
  if (!result.ok) throw unauthorized(log, path, result.reason);
  if (!remember(result.nonce, now, config.signatureWindowS * 1000)) throw unauthorized(log, path, "replayed request");
  c.set("rawBody", body);
  await next();
});
