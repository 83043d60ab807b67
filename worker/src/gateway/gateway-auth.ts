/**
 * Authentication of the gateway's calls: every request signed with the shared secret (contract/signing.ts),
 * timestamp within the window, nonce not seen before in this isolate within the window.
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

/** Verifies the signature and stores the raw body for the handler; 401 with a reason otherwise. */
export const gatewayAuth = createMiddleware<{ Bindings: Env } & GatewayVars>(async (c, next) => {
  const { config, gatewayKeys } = getSharedServices(c.env);
  const body = await c.req.text();
  const now = Date.now();
  const result = await verifyRequest(
    // The current secret, and the previous one during a rotation window (docs/operations.md).
    await gatewayKeys,
    new URL(c.req.url).pathname,
    body,
    c.req.raw.headers,
    now,
    config.signatureWindowS,
  );
  if (!result.ok) throw new HTTPException(401, { message: result.reason });
  if (!remember(result.nonce, now, config.signatureWindowS * 1000)) {
    throw new HTTPException(401, { message: "replayed request" });
  }
  c.set("rawBody", body);
  await next();
});
