/**
 * The registrar's final response to a relayed REGISTER. The worker asks to see only a 2xx: a non-2xx
 * (a 401/407 challenge, a 403) is forwarded by the gateway untouched and nothing is stored; should one
 * arrive here all the same, it is forwarded untouched too. 2xx: the save plan is applied in one store round trip,
 * and the 2xx relayed to the phone lists the phone-side contacts again (RFC 3261 section 10.2.4), never the
 * gateway's rewritten ones. A store failure turns the 2xx into a 500, so the phone retries.
 */
import type { ResponseDecisionInput, ResponseEvent } from "../../../contract/v1";
import { StoreError, type Binding, type Store } from "../store/store";
import { formatParams, parseUri, withoutExpires } from "../sip-uri";
import { BINDING_TOKEN_PARAM, bindingToken, type Sha256Hex } from "./binding-token";
import type { RegisterContext } from "./register-context";
import { planSave, type SaveLimits } from "./save-plan";

export interface RegisterResponseDeps {
  readonly store: Store;
  /** Unix milliseconds. */
  readonly now: number;
  readonly defaultExpires: number;
  readonly limits: SaveLimits;
  readonly log: (obj: Record<string, unknown>) => void;
  /** The binding token's hash (binding-token.ts); WebCrypto when unset. */
  readonly sha256?: Sha256Hex;
}

function formatContact(uri: string, params: Readonly<Record<string, string | null>>, expires: number): string {
  return `<${uri}>${formatParams(withoutExpires(params))};expires=${expires}`;
}

/** Phone-side Contact values for the 2xx: this device's, other devices' mapped through the store, others as sent. */
async function phoneSideContacts(
  ev: ResponseEvent,
  ctx: RegisterContext,
  granted: ReturnType<typeof planSave>["granted"],
  expiries: ReadonlyMap<string, number>,
  bindings: readonly Binding[],
  sha256: Sha256Hex | undefined,
): Promise<string[]> {
  const out = granted.map((g) => formatContact(g.uri, g.params, g.expires));
  const ctxTokens = new Set(ctx.contacts.map((c) => c.token));
  // Tokens of the stored rows are hashed only when the reply lists another device (not on every save).
  let byToken: Map<string, Binding> | undefined;
  for (const c of ev.contacts) {
    const token = parseUri(c.uri)?.params[BINDING_TOKEN_PARAM];
    if (!token) {
      // Not one of ours: a binding the registrar holds from elsewhere; shown as the registrar wrote it.
      out.push(`<${c.uri}>${formatParams(c.params)}`);
      continue;
    }
    if (ctxTokens.has(token)) continue;
    if (!byToken) {
      byToken = new Map();
      for (const b of bindings) byToken.set(b.ruid ?? (await bindingToken(ctx.username, ctx.domain, b.contact, sha256)), b);
    }
    const other = byToken.get(token);
    const expires = expiries.get(token);
    // Another device of this AoR: shown with its own contact; one we have no row for is not shown.
    if (other && expires !== undefined && expires > 0) out.push(formatContact(other.contact, {}, expires));
  }
  return out;
}

/** Decides what happens to the registrar's final response. */
export async function decideRegisterResponse(
  ev: ResponseEvent,
  ctx: RegisterContext,
  deps: RegisterResponseDeps,
): Promise<ResponseDecisionInput> {
  if (ev.status < 200 || ev.status >= 300) {
    deps.log({ level: "debug", msg: "register not saved", aor: `${ctx.username}@${ctx.domain}`, status: ev.status });
    return { action: "forward" };
  }
  const nowSec = Math.floor(deps.now / 1000);
  const outcome = planSave(ctx, { contacts: ev.contacts, expires: ev.expires }, nowSec, deps.defaultExpires, deps.limits);
  const plan = { ...outcome.plan, removedAt: deps.now };
  let saved: Awaited<ReturnType<Store["applySave"]>>;
  try {
    saved = await deps.store.applySave(plan);
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    deps.log({ msg: "register save failed", aor: `${ctx.username}@${ctx.domain}`, error: err.message });
    return { action: "reply", status: 500, reason: "Location Store Unavailable", headers: [["Retry-After", "5"]] };
  }
  const aor = `${ctx.username}@${ctx.domain}`;
  const stored = new Set(saved.bindings.map((b) => b.ruid));
  const missing = outcome.granted.filter((g) => !stored.has(g.token));
  const overLimit = missing.filter((g) => !saved.blocked.has(g.token));
  deps.log({
    level: "debug",
    msg: "register saved",
    aor,
    upserts: plan.upserts.length - missing.length,
    removals: plan.removals.length,
    removeAll: plan.removeAll,
    ...(missing.length > overLimit.length ? { staleRefused: missing.length - overLimit.length } : {}),
    ...(overLimit.length > 0 ? { overLimit: overLimit.length } : {}),
  });
  if (overLimit.length > 0) {
    // The AoR already holds maxContacts bindings: the new device is not stored and is told so. The Asterisk
    // keeps its upstream contact until it expires there; a call to it finds no binding here (404 branch).
    return { action: "reply", status: 403, reason: "Too Many Registered Contacts", headers: [] };
  }
  // A contact a tombstone kept out (a late or replayed 2xx after its removal) is not shown as granted.
  const granted = missing.length > 0 ? outcome.granted.filter((g) => stored.has(g.token)) : outcome.granted;
  const contacts = await phoneSideContacts(ev, ctx, granted, outcome.replyExpiries, saved.bindings, deps.sha256);
  // RFC 3327 5.3: the registrar copies the REGISTER's Path into the 200 (the box never saw it: register-request.ts).
  const add = contacts.map((c): [string, string] => ["Contact", c]);
  if (!ctx.path) return { action: "forward", headers: { remove: ["Contact"], add } };
  return { action: "forward", headers: { remove: ["Contact", "Path"], add: [...add, ["Path", ctx.path]] } };
}
