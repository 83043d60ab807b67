/**
 * The save rules, as a pure function: which bindings a registrar's 2xx creates, refreshes or removes, for
 * the contacts of *this* REGISTER only (RFC 3261 section 10.3 applied to the registrar's answer).
 */
import type { NameAddr } from "../../../contract/v1";
import type { SavePlan } from "../store/store";
import { deltaSeconds, parseUri } from "../sip-uri";
import { BINDING_TOKEN_PARAM } from "./binding-token";
import type { RegisterContext } from "./register-context";

/** The registrar's 2xx as the rules read it. */
export interface RegistrarReply {
  readonly contacts: readonly NameAddr[];
  /** The reply's Expires header. */
  readonly expires: number | undefined;
}

/** A contact of this REGISTER that the registrar kept, with the expiry it granted (seconds). */
export interface GrantedContact {
  readonly uri: string;
  readonly token: string;
  readonly params: Readonly<Record<string, string | null>>;
  readonly expires: number;
}

export interface SaveOutcome {
  readonly plan: SavePlan;
  readonly granted: readonly GrantedContact[];
  /** Expiry per binding token, for every gateway contact the reply lists (other devices' too). */
  readonly replyExpiries: ReadonlyMap<string, number>;
}

/**
 * Expiry per token of the gateway contacts in the reply: the contact's expires parameter, else the reply's
 * Expires header, else `fallback(token)` (the request's value).
 */
function replyExpiries(reply: RegistrarReply, fallback: (token: string) => number): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of reply.contacts) {
    const token = parseUri(c.uri)?.params[BINDING_TOKEN_PARAM];
    if (!token) continue;
    out.set(token, deltaSeconds(c.params["expires"]) ?? reply.expires ?? fallback(token));
  }
  return out;
}

/** Registrar limits the save applies (worker configuration). */
export interface SaveLimits {
  /** Longest expiry stored (seconds); the registrar's longer grant is shortened to it. */
  readonly maxExpires: number;
  /** Most unexpired bindings per AoR; a new binding beyond it is not stored (docs/routing.md). */
  readonly maxContacts: number;
  /** How long a removal is remembered (seconds): at least the lifetime of a sealed REGISTER context. */
  readonly tombstoneTtlS: number;
}

const NO_LIMITS: SaveLimits = { maxExpires: 0xffffffff, maxContacts: Number.MAX_SAFE_INTEGER, tombstoneTtlS: 60 };

/** Applies the rules; `now` is Unix seconds. */
export function planSave(
  ctx: RegisterContext,
  reply: RegistrarReply,
  now: number,
  defaultExpires: number,
  limits: SaveLimits = NO_LIMITS,
): SaveOutcome {
  const requested = new Map(ctx.contacts.map((c) => [c.token, c.expires ?? ctx.requestExpires ?? defaultExpires]));
  const expiries = replyExpiries(reply, (token) => requested.get(token) ?? ctx.requestExpires ?? defaultExpires);
  for (const [token, e] of expiries) expiries.set(token, Math.min(e, limits.maxExpires));
  const upserts: SavePlan["upserts"][number][] = [];
  const removals: SavePlan["removals"][number][] = [];
  const granted: GrantedContact[] = [];
  for (const c of ctx.contacts) {
    const expires = expiries.get(c.token);
    if (expires === undefined || expires === 0) {
      // Absent from the registrar's list, or listed with expires 0: the registrar does not hold it.
      removals.push({ ruid: c.token, contact: c.uri });
      continue;
    }
    granted.push({ uri: c.uri, token: c.token, params: c.params, expires });
    upserts.push({
      ruid: c.token,
      contact: c.uri,
      received: c.received,
      path: ctx.path,
      expires: now + expires,
      q: c.q,
      userAgent: ctx.userAgent,
      socket: ctx.socket,
      methods: ctx.methods,
      sipInstance: c.instance,
    });
  }
  return {
    plan: {
      username: ctx.username,
      domain: ctx.domain,
      callid: ctx.callid,
      cseq: ctx.cseq,
      now,
      issuedAt: ctx.issuedAt,
      removedAt: now * 1000,
      maxContacts: limits.maxContacts,
      tombstoneExpires: now + limits.tombstoneTtlS,
      removeAll: ctx.wildcard,
      upserts,
      removals,
    },
    granted,
    replyExpiries: expiries,
  };
}
