/**
 * REGISTER from a phone: pick the tenant by the To domain, relay to one of its Asterisk destinations with
 * each Contact rewritten to point at the gateway (carrying the binding token), and ask to see the final
 * response. Nothing is stored here: bindings are written only when the registrar answers 2xx.
 */
import type { NameAddr, RelayTarget, RequestDecisionInput, RequestEvent } from "../../../contract/v1";
import type { TenantDirectory } from "../tenants/tenant-directory";
import { reply } from "../reply";
import { selectDestination } from "../tenants/dispatcher-select";
import { addressUri, deltaSeconds, normalizeHost, parseUri } from "../sip-uri";
import { BINDING_TOKEN_PARAM, bindingToken } from "./binding-token";
import { methodsToMask } from "./methods";
import type { RegisterContext, RegisterContextContact } from "./register-context";

export interface RegisterRequestDeps {
  readonly tenants: TenantDirectory;
  /** Seals the context for the response (see gateway/context-seal.ts). */
  readonly seal: (ctx: RegisterContext) => Promise<string>;
}

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

  const selected = selectDestination(tenant, `${username}@${domain}`);
  if (!selected) return reply(503, "No PBX Available For Tenant", [["Retry-After", "30"]]);

  const ctxContacts: RegisterContextContact[] = [];
  const upstream: NonNullable<RelayTarget["contacts"]> = [];
  if (!wildcard) {
    for (const c of contacts as NameAddr[]) {
      const token = await bindingToken(username, domain, c.uri);
      const { expires, q, ...rest } = c.params;
      ctxContacts.push({
        uri: c.uri,
        token,
        params: rest,
        expires: deltaSeconds(expires),
        q: parseQ(q),
        received: receivedFor(c.uri, ev),
        instance: c.params["+sip.instance"] ?? null,
      });
      // The upstream contact keeps the phone's header parameters (expires, q, +sip.instance, reg-id ...).
      upstream.push({ user: username, uriParams: { [BINDING_TOKEN_PARAM]: token }, params: c.params });
    }
  }

  const ctx: RegisterContext = {
    kind: "register",
    username,
    domain,
    callid: ev.parsed.callId,
    cseq: ev.parsed.cseq.seq,
    wildcard,
    requestExpires: ev.parsed.expires,
    contacts: ctxContacts,
    userAgent: ev.parsed.userAgent ?? "",
    methods: methodsToMask(ev.parsed.allow),
    path: ev.parsed.path.length > 0 ? ev.parsed.path.join(",") : null,
    socket: `${ev.local.transport}:${ev.local.ip.includes(":") ? `[${ev.local.ip}]` : ev.local.ip}:${ev.local.port}`,
  };

  return {
    action: "relay",
    targets: [
      {
        requestUri: ev.requestUri,
        nextHop: { ip: selected.address.ip, port: selected.address.port, transport: "udp" },
        side: "pbx",
        ...(wildcard ? {} : { contacts: upstream }),
      },
    ],
    recordRoute: false,
    wantResponse: "2xx",
    context: await deps.seal(ctx),
    tenant: domain,
  };
}
