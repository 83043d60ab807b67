/**
 * Initial requests other than REGISTER. From a tenant's Asterisk (known by its source address, and, on a
 * gateway with a separate Asterisk-side socket, only when it arrived on that socket): routed to that
 * tenant's phones only, `user@tenant-domain`, forked to every binding in q order. From anyone else: the
 * tenant comes from the request's domain and the request goes to that tenant's Asterisk set, Record-Routed.
 * Anything that cannot be placed in exactly one tenant is refused with 403 and logged.
 */
import type { Address, RelayTarget, RequestDecisionInput, RequestEvent } from "../../../contract/v1";
import { BINDING_TOKEN_PARAM, bindingToken, type Sha256Hex } from "../registrar/binding-token";
import { addressUri, isIpAddress, parseUri } from "../sip-uri";
import type { Binding, Store, Tenant } from "../store/store";
import { failoverTarget } from "../tenants/dispatcher-select";
import type { TenantDirectory } from "../tenants/tenant-directory";
import { reply } from "../reply";
import { peerGatewayOf } from "./peer-gateway";
import type { SourceTenant } from "./source-tenant";

export interface RouteDeps {
  readonly tenants: TenantDirectory;
  readonly store: Store;
  /** Unix milliseconds. */
  readonly now: number;
  /** Opt-in: a request whose tenant cannot be determined may go to the one tenant that has the username. */
  readonly anyDomainLookup: boolean;
  readonly log: (obj: Record<string, unknown>) => void;
  /** The binding token's hash (binding-token.ts); WebCrypto when unset. */
  readonly sha256?: Sha256Hex;
}

/** Methods that create a dialog: the gateway Record-Routes them so in-dialog requests come back through it. */
const DIALOG_CREATING = new Set(["INVITE", "SUBSCRIBE", "REFER"]);

/**
 * One fork branch per binding: to the NAT `received` address when known, with the stored Path as route set.
 * A binding saved through another gateway of the deployment (its socket is none of `own`, the sockets of
 * the gateway asking) goes through that gateway: next hop its socket, and the address it alone may send to
 * as `viaPeer` (the asking gateway adds the proven Route; docs/routing.md, "Several gateways").
 */
export function branchFor(b: Binding, own: readonly Address[] = []): RelayTarget {
  const via = b.received ? parseUri(b.received) : parseUri(b.contact);
  const direct =
    via && isIpAddress(via.host) ? { ip: via.host, port: via.port ?? 5060, transport: "udp" as const } : undefined;
  const peer = direct ? peerGatewayOf(b.socket, own) : undefined;
  const hop = peer ? { nextHop: { ip: peer.ip, port: peer.port, transport: "udp" as const }, viaPeer: direct } : direct ? { nextHop: direct } : {};
  return {
    requestUri: b.contact,
    ...hop,
    route: b.path ? b.path.split(",").map((p) => p.trim()).filter((p) => p.length > 0) : [],
    headers: { remove: [], set: [], add: [] },
    side: "phones",
  };
}

async function toPhones(ev: RequestEvent, tenant: Tenant, deps: RouteDeps): Promise<RequestDecisionInput> {
  const ruri = parseUri(ev.requestUri);
  if (!ruri?.user) {
    // Addressed to the gateway itself (an OPTIONS keep-alive from the Asterisk, say).
    return ev.method === "OPTIONS" ? reply(200, "OK") : reply(404, "Not Found");
  }
  let bindings = await deps.store.lookup(ruri.user, tenant.domain, Math.floor(deps.now / 1000));
  const token = ruri.params[BINDING_TOKEN_PARAM];
  if (token) {
    // The token selects one binding, still only among this tenant's bindings of this user.
    const matches: Binding[] = [];
    // Rows written before identities existed (ruid null) carry the token of their contact.
    for (const b of bindings) if ((b.ruid ?? (await bindingToken(b.username, b.domain, b.contact, deps.sha256))) === token) matches.push(b);
    bindings = matches;
  }
  deps.log({
    level: "debug",
    msg: "route to phones",
    method: ev.method,
    from: addressUri(ev.source.ip, ev.source.port),
    aor: `${ruri.user}@${tenant.domain}`,
    branches: bindings.length,
  });
  if (bindings.length === 0) return reply(404, "Not Found");
  return {
    action: "relay",
    targets: bindings.map((b) => branchFor(b, ev.gatewaySockets ?? [ev.local])),
    recordRoute: DIALOG_CREATING.has(ev.method),
    wantResponse: "none",
    context: "",
  };
}

function tenantOfRequestDomain(ev: RequestEvent, tenants: TenantDirectory): Tenant | undefined {
  // Request-URI host first, then To, then From (documented in docs/routing.md).
  for (const uri of [ev.requestUri, ev.parsed.to.uri, ev.parsed.from.uri]) {
    const host = parseUri(uri)?.host;
    const t = host ? tenants.byDomain(host) : undefined;
    if (t) return t;
  }
  return undefined;
}

/** Relays a request from a phone (or anyone who is not an Asterisk) to one of the tenant's Asterisk boxes. */
function toPbx(ev: RequestEvent, tenant: Tenant): RequestDecisionInput {
  // The Call-ID's box first, then the tenant's other active boxes to fail over to within the transaction
  // (the Request-URI stays the phone's: the boxes are addressed by next hop alone).
  const selected = failoverTarget(tenant, ev.parsed.callId);
  if (!selected) return reply(503, "No PBX Available For Tenant", [["Retry-After", "30"]]);
  return {
    action: "relay",
    targets: [
      {
        requestUri: ev.requestUri,
        ...selected,
        route: [],
        headers: { remove: [], set: [], add: [] },
        side: "pbx",
      },
    ],
    recordRoute: true,
    wantResponse: "none",
    context: "",
  };
}

/**
 * The opt-in any-domain lookup: the one tenant that has this user registered. The request still goes to
 * that tenant's Asterisk, never straight to a phone: the source is not an Asterisk, so the Asterisk
 * authenticates and decides (a scanner's `INVITE sip:100@<gateway-ip>` must not ring a phone).
 */
async function anyDomainTenant(ev: RequestEvent, deps: RouteDeps): Promise<Tenant | undefined> {
  const user = parseUri(ev.requestUri)?.user;
  if (!user) return undefined;
  const bindings = await deps.store.lookupUsername(user, Math.floor(deps.now / 1000));
  const domains = new Set(bindings.map((b) => b.domain));
  if (domains.size !== 1) {
    deps.log({ msg: "any-domain lookup refused", user, domains: [...domains] });
    return undefined;
  }
  return deps.tenants.byDomain([...domains][0]!);
}

/** Decides where an initial non-REGISTER request goes. */
export async function decideRoute(ev: RequestEvent, deps: RouteDeps): Promise<RequestDecisionInput> {
  // With a separate Asterisk-side socket, only what arrived on it can be from an Asterisk; what arrived on
  // the phones' socket is never trusted as an Asterisk, whatever its (spoofable) source address says.
  const source: SourceTenant = ev.localRole === "phones" ? { kind: "unknown" } : deps.tenants.bySource(ev.source);
  // The tenant label (rollback-trigger metrics) comes from the decision, never from the message.
  if (source.kind === "tenant") return { ...(await toPhones(ev, source.tenant, deps)), tenant: source.tenant.domain } as RequestDecisionInput;
  if (source.kind === "ambiguous") {
    deps.log({ msg: "refused: source maps to several tenants", method: ev.method, source: ev.source, tenants: source.domains });
    return reply(403, "Ambiguous Source");
  }
  if (ev.localRole === "pbx") {
    // The Asterisk-side socket serves the tenants' Asterisk boxes only.
    deps.log({ msg: "refused: unknown source on the PBX socket", method: ev.method, source: ev.source });
    return reply(403, "Forbidden");
  }
  const ruri = parseUri(ev.requestUri);
  if (ev.method === "OPTIONS" && ruri && !ruri.user && !deps.tenants.byDomain(ruri.host)) {
    // A phone's keep-alive OPTIONS to its outbound proxy (no user, not a tenant's domain): the gateway
    // answers for itself, as a proxy does for a Request-URI that is its own.
    return reply(200, "OK");
  }
  const tenant = tenantOfRequestDomain(ev, deps.tenants) ?? (deps.anyDomainLookup ? await anyDomainTenant(ev, deps) : undefined);
  if (tenant) return { ...toPbx(ev, tenant), tenant: tenant.domain } as RequestDecisionInput;
  deps.log({ msg: "refused: unknown source and domain", method: ev.method, source: ev.source, ruri: ev.requestUri });
  return reply(403, "Forbidden");
}
