/**
 * REGISTER from a phone: pick the tenant by the To domain, relay to one of its Asterisk destinations with
 * each Contact rewritten to point at the gateway (carrying the binding token), and ask to see the final
 * response. Nothing is stored here: bindings are written only when the registrar answers 2xx.
 */
import type { NameAddr, RelayTarget, RequestDecisionInput, RequestEvent } from "../../../contract/v1";
import type { TenantDirectory } from "../tenants/tenant-directory";
import { reply } from "../reply";
import { failoverTarget } from "../tenants/dispatcher-select";
import { addressUri, deltaSeconds, normalizeHost, parseUri } from "../sip-uri";
import { bindingIdentity } from "./binding-identity";
import { BINDING_TOKEN_PARAM, bindingToken, type Sha256Hex } from "./binding-token";
import { methodsToMask } from "./methods";
import type { RegisterContext, RegisterContextContact } from "./register-context";

/** The registrar's expiry bounds (seconds). */
export interface ExpiryLimits {
  /** Shortest non-zero expiry accepted; shorter is refused with 423 (RFC 3261 section 10.3 step 7). */
  readonly minExpires: number;
  /** Longest expiry kept; longer is shortened to it (a registrar may shorten, RFC 3261 section 10.3). */
  readonly maxExpires: number;
}

export interface RegisterRequestDeps {
  readonly tenants: TenantDirectory;
  /** Seals the context for the response (see gateway/context-seal.ts). */
  readonly seal: (ctx: RegisterContext) => Promise<string>;
  /** Unix milliseconds: written in the context as its issue time (tombstones compare with it). */
  readonly now: number;
  readonly limits: ExpiryLimits;
  /** The binding token's hash (binding-token.ts); WebCrypto when unset. */
  readonly sha256?: Sha256Hex;
}

/**
 * 423 Interval Too Brief with Min-Expires when a contact asks for a non-zero expiry below the minimum
 * (RFC 3261 section 10.3 step 7, 20.23); undefined when every contact is acceptable. A contact without
 * its own expires takes the Expires header; without either, the registrar's default applies (not brief).
 */
function tooBrief(contacts: readonly NameAddr[], headerExpires: number | undefined, minExpires: number): RequestDecisionInput | undefined {
  for (const c of contacts) {
    const asked = deltaSeconds(c.params["expires"]) ?? headerExpires;
    if (asked !== undefined && asked > 0 && asked < minExpires) {
      return reply(423, "Interval Too Brief", [["Min-Expires", String(minExpires)]]);
    }
  }
  return undefined;
}

const clamp = (v: number | undefined, max: number): number | undefined => (v === undefined ? undefined : Math.min(v, max));

function parseQ(v: string | null | undefined): number {
  if (v === undefined || v === null) return 1;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 && n <= 1 ? n : 1;
}

/** The phone's source as `received`, when it differs from the address in its Contact (NAT). */
function receivedFor(contactUri: string, ev: RequestEvent): string | null {
  const u = parseUri(contactUri);
  const port = u?.port ?? 5060;
  if (u && u.host === normalizeHost(ev.source.ip) && port === ev.source.port) return null;
  return addressUri(ev.source.ip, ev.source.port);
}

/** Decides what to do with a REGISTER. */
export async function decideRegister(ev: RequestEvent, deps: RegisterRequestDeps): Promise<RequestDecisionInput> {
  if (ev.localRole === "pbx") {
    // A gateway with a separate Asterisk-side socket takes registrations on the phones' socket only.
    return reply(403, "Register On The Phones' Address");
  }
  const to = parseUri(ev.parsed.to.uri);
  if (!to || !to.user) return reply(400, "Bad To URI");
  const tenant = deps.tenants.byDomain(to.host);
  if (!tenant) return reply(403, "Unknown Tenant Domain");
  const username = to.user;
  const domain = tenant.domain;

  const contacts = ev.parsed.contacts;
  const wildcard = contacts === "*";
  // RFC 3261 10.3 step 6: "*" is only valid with Expires: 0 and no other Contact.
  if (wildcard && ev.parsed.expires !== 0) return reply(400, "Wildcard Contact Needs Expires 0");

  if (!wildcard) {
    const brief = tooBrief(contacts as NameAddr[], ev.parsed.expires, deps.limits.minExpires);
    if (brief) return brief;
  }

  // The AoR's box first, then the tenant's other active boxes to fail over to within the transaction.
  const selected = failoverTarget(tenant, `${username}@${domain}`);
  if (!selected) return reply(503, "No PBX Available For Tenant", [["Retry-After", "30"]]);

  const ctxContacts: RegisterContextContact[] = [];
  const upstream: NonNullable<RelayTarget["contacts"]> = [];
  if (!wildcard) {
    for (const c of contacts as NameAddr[]) {
      const received = receivedFor(c.uri, ev);
      const token = await bindingToken(username, domain, bindingIdentity(c.uri, c.params, received), deps.sha256);
      const { expires, q, ...rest } = c.params;
      // A huge expiry is no error (delta-seconds go up to 2^32-1): it is shortened to the maximum.
      const asked = clamp(deltaSeconds(expires), deps.limits.maxExpires);
      ctxContacts.push({
        uri: c.uri,
        token,
        params: rest,
        expires: asked,
        q: parseQ(q),
        received,
        instance: c.params["+sip.instance"] ?? null,
      });
      // The upstream contact keeps the phone's header parameters (expires, q, +sip.instance, reg-id ...).
      const params = asked === undefined ? c.params : { ...c.params, expires: String(asked) };
      upstream.push({ user: username, uriParams: { [BINDING_TOKEN_PARAM]: token }, params });
    }
  }
  const requestExpires = clamp(ev.parsed.expires, deps.limits.maxExpires);

  const ctx: RegisterContext = {
    kind: "register",
    username,
    domain,
    callid: ev.parsed.callId,
    cseq: ev.parsed.cseq.seq,
    wildcard,
    requestExpires,
    contacts: ctxContacts,
    userAgent: ev.parsed.userAgent ?? "",
    methods: methodsToMask(ev.parsed.allow),
    path: ev.parsed.path.length > 0 ? ev.parsed.path.join(",") : null,
    socket: `${ev.local.transport}:${ev.local.ip.includes(":") ? `[${ev.local.ip}]` : ev.local.ip}:${ev.local.port}`,
    issuedAt: deps.now,
  };

  return {
    action: "relay",
    targets: [
      {
        requestUri: ev.requestUri,
        ...selected,
        side: "pbx",
        ...(wildcard ? {} : { contacts: upstream }),
        ...upstreamHeaderEdits(ev.parsed.path.length > 0, requestExpires !== ev.parsed.expires ? requestExpires : undefined),
      },
    ],
    recordRoute: false,
    wantResponse: "2xx",
    context: await deps.seal(ctx),
    tenant: domain,
  };
}

/**
 * The REGISTER's header edits towards the Asterisk box: the Expires the registrar limits asked for, and no
 * Path (RFC 3327). The gateway stores a phone's Path itself and routes calls to the phone along it; for the
 * box the gateway is the phone's route (its rewritten Contact), and a box that honours Path would send the
 * phone's calls around the gateway.
 */
function upstreamHeaderEdits(hasPath: boolean, expires: number | undefined): Partial<Pick<RelayTarget, "headers">> {
  if (!hasPath && expires === undefined) return {};
  return {
    headers: {
      remove: hasPath ? ["Path"] : [],
      set: expires === undefined ? [] : [["Expires", [String(expires)]]],
      add: [],
    },
  };
}
