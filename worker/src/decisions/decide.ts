/**
 * The decisions, once, for both runtimes: an initial request -> a request decision; a final response the
 * decision asked to see -> a response decision. The Workers runtime calls these behind its signed HTTP
 * endpoints (gateway/gateway-routes.ts); the Node runtime (node-runtime/) calls them in the gateway's own
 * process. Nothing here knows HTTP, signatures or the runtime: what differs is passed in.
 */
import type { Sha256Hex } from "../registrar/binding-token";
import type {
  RequestDecisionInput,
  RequestEvent,
  ResponseDecisionInput,
  ResponseEvent,
} from "../../../contract/v1";
import type { Config } from "../config/env";
import { decideRegister } from "../registrar/register-request";
import { decideRegisterResponse } from "../registrar/register-response";
import { isRegisterContext, type RegisterContext } from "../registrar/register-context";
import { decideRoute } from "../routing/route-request";
import type { Store } from "../store/store";
import type { Defer, TenantDirectoryCache } from "../tenants/tenant-directory";
import type { ContextCodec } from "./contexts";

/** What the decisions need from their runtime. */
export interface DecisionServices {
  readonly config: Pick<
    Config,
    "tenantCacheTtlMs" | "anyDomainLookup" | "defaultExpires" | "minExpires" | "maxExpires" | "maxContacts" | "tombstoneTtlS"
  >;
  readonly store: Store;
  readonly contexts: ContextCodec;
  /** This runtime's tenant configuration cache (two runtimes in one process never share one). */
  readonly tenantCache: TenantDirectoryCache;
  readonly log: (obj: Record<string, unknown>) => void;
  /** Keeps background work (a tenant cache refresh) alive past the answer: workerd's `ctx.waitUntil`. */
  readonly defer?: Defer;
  /** The binding token's hash; WebCrypto when unset (the Node runtime gives node:crypto's, synchronous). */
  readonly sha256?: Sha256Hex;
}

/** The runtime's binding-token hash for the decisions' deps, when it gives one (WebCrypto otherwise). */
const hash = (s: DecisionServices): { readonly sha256?: Sha256Hex } => (s.sha256 ? { sha256: s.sha256 } : {});

/** The response event's context is forged, stale, or of a kind no decision issued. */
export class InvalidContextError extends Error {
  override readonly name = "InvalidContextError";
  constructor() {
    super("context is invalid, expired or of an unknown kind");
  }
}

/** An initial request: REGISTER to the registrar decision, anything else to routing. `now` is Unix ms. */
export async function decideRequest(ev: RequestEvent, s: DecisionServices, now: number): Promise<RequestDecisionInput> {
  const tenants = await s.tenantCache.get(s.store, now, s.config.tenantCacheTtlMs, s.defer);
  if (ev.method === "REGISTER") {
    const { minExpires, maxExpires } = s.config;
    return decideRegister(ev, { tenants, now, limits: { minExpires, maxExpires }, ...hash(s), seal: (ctx: RegisterContext) => s.contexts.seal(ctx, now) });
  }
  return decideRoute(ev, { tenants, store: s.store, now, anyDomainLookup: s.config.anyDomainLookup, log: s.log, ...hash(s) });
}

/** A final response the request decision asked to see. Throws InvalidContextError for a bad context. */
export async function decideResponse(ev: ResponseEvent, s: DecisionServices, now: number): Promise<ResponseDecisionInput> {
  const ctx = await s.contexts.open(ev.context, now);
  if (isRegisterContext(ctx)) {
    return decideRegisterResponse(ev, ctx, { store: s.store, now, defaultExpires: s.config.defaultExpires, limits: s.config, log: s.log, ...hash(s) });
  }
  throw new InvalidContextError();
}
