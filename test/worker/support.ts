// Helpers for the worker tests: signed gateway calls, admin calls, and SIP-shaped events.
import { exports } from "cloudflare:workers";
import { importHmacKey, signRequest } from "../../contract/signing";
import type { RequestEventInput, ResponseEventInput, SocketRole } from "../../contract/v1";

export const GATEWAY_SECRET = "worker-test-gateway-secret-0123";
export const ADMIN_TOKEN = "worker-test-admin-token";

const key = importHmacKey(GATEWAY_SECRET);

/** The worker's default export (its fetch handler), as the Workers runtime runs it. */
export const self = (exports as unknown as { default: { fetch(req: Request): Promise<Response> } }).default;

/** POSTs a signed body to a gateway endpoint of the worker under test. */
export async function signedPost(path: string, body: unknown, tweak?: (h: Record<string, string>) => void): Promise<Response> {
  const text = JSON.stringify(body);
  const headers = await signRequest(await key, path, text, Date.now());
  tweak?.(headers);
  return self.fetch(new Request(`http://worker${path}`, { method: "POST", body: text, headers: { ...headers, "content-type": "application/json" } }));
}

/** Calls the admin API with the test token. */
export function admin(method: string, path: string, body?: unknown, token = ADMIN_TOKEN): Promise<Response> {
  return self.fetch(
    new Request(`http://worker/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
}

/** Creates a tenant through the admin API; fails the test when it cannot. */
export async function createTenant(domain: string, ...destinations: string[]): Promise<void> {
  const res = await admin("POST", "/tenants", { domain, destinations });
  if (res.status !== 201) throw new Error(`createTenant ${domain}: ${res.status} ${await res.text()}`);
}

export interface PhoneRegister {
  user: string;
  domain: string;
  contacts: string[] | "*";
  expires?: number;
  callId?: string;
  cseq?: number;
  source?: { ip: string; port: number };
  userAgent?: string;
  allow?: string[];
  /** Path values a proxy between the phone and the gateway added (RFC 3327). */
  path?: string[];
}

/** An out-of-dialog request event (an Asterisk's INVITE or OPTIONS, say) from `source`. */
export function requestEvent(
  method: string,
  ruri: string,
  source: { ip: string; port: number },
  options: { readonly from?: string; readonly localRole?: SocketRole } = {},
): RequestEventInput {
  return {
    kind: "request",
    transactionId: "z9hG4bKtest",
    method,
    requestUri: ruri,
    headers: [],
    body: "",
    source: { ...source, transport: "udp" },
    local: { ip: "127.0.0.1", port: 5060, transport: "udp" },
    ...(options.localRole ? { localRole: options.localRole } : {}),
    receivedAt: Date.now(),
    parsed: {
      callId: `${method}-${Math.random()}`,
      cseq: { seq: 1, method },
      from: { uri: options.from ?? "sip:pbx@pbx.invalid", params: { tag: "x" } },
      to: { uri: ruri, params: {} },
      contacts: [],
      path: [],
      inDialog: false,
    },
  };
}

/** The RequestEvent the gateway would send for a phone's REGISTER. */
export function registerEvent(r: PhoneRegister): RequestEventInput {
  const source = r.source ?? { ip: "192.0.2.50", port: 5070 };
  const contacts = r.contacts === "*" ? "*" : r.contacts.map((uri) => ({ uri, params: {} }));
  return {
    kind: "request",
    transactionId: "z9hG4bKtest",
    method: "REGISTER",
    requestUri: `sip:${r.domain}`,
    headers: [],
    body: "",
    source: { ...source, transport: "udp" },
    local: { ip: "127.0.0.1", port: 5060, transport: "udp" },
    receivedAt: Date.now(),
    parsed: {
      callId: r.callId ?? "call-1@phone",
      cseq: { seq: r.cseq ?? 1, method: "REGISTER" },
      from: { uri: `sip:${r.user}@${r.domain}`, params: { tag: "f1" } },
      to: { uri: `sip:${r.user}@${r.domain}`, params: {} },
      contacts,
      ...(r.expires !== undefined ? { expires: r.expires } : {}),
      ...(r.userAgent ? { userAgent: r.userAgent } : {}),
      ...(r.allow ? { allow: r.allow } : {}),
      path: r.path ?? [],
      inDialog: false,
    },
  };
}

/** A decision as JSON (any action). */
export type AnyDecision = {
  action: string;
  status?: number;
  reason?: string;
  headers?: unknown;
  targets?: {
    requestUri: string;
    nextHop?: { ip: string; port: number };
    alternatives?: { ip: string; port: number; transport: string; requestUri?: string }[];
    route: string[];
    contacts?: { user: string; uriParams: Record<string, string | null>; params: Record<string, string | null> }[];
    headers?: { remove: string[]; set: [string, string[]][]; add: [string, string][] };
    side?: string;
  }[];
  recordRoute?: boolean;
  wantResponse?: string;
  context?: string;
};

export async function decide(ev: RequestEventInput): Promise<AnyDecision> {
  const res = await signedPost("/v1/request", ev);
  if (res.status !== 200) throw new Error(`/v1/request: ${res.status} ${await res.text()}`);
  return (await res.json()) as AnyDecision;
}

/** The registrar's response as the gateway reports it; `contacts` are the upstream (gateway) contacts listed. */
export function responseEvent(status: number, context: string, contacts: { uri: string; expires?: number }[], expires?: number): ResponseEventInput {
  return {
    kind: "response",
    transactionId: "z9hG4bKtest",
    status,
    reason: status === 200 ? "OK" : "Other",
    headers: [],
    body: "",
    source: { ip: "127.0.0.11", port: 5080, transport: "udp" },
    local: { ip: "127.0.0.1", port: 5060, transport: "udp" },
    receivedAt: Date.now(),
    contacts: contacts.map((c) => ({ uri: c.uri, params: c.expires === undefined ? {} : ({ expires: String(c.expires) } as Record<string, string>) })),
    ...(expires !== undefined ? { expires } : {}),
    context,
  };
}

export async function decideResponse(ev: ResponseEventInput): Promise<AnyDecision & { headers?: { remove: string[]; set: [string, string[]][]; add: [string, string][] } }> {
  const res = await signedPost("/v1/response", ev);
  if (res.status !== 200) throw new Error(`/v1/response: ${res.status} ${await res.text()}`);
  return (await res.json()) as AnyDecision & { headers?: { remove: string[]; set: [string, string[]][]; add: [string, string][] } };
}

/** The upstream contact URI the gateway would write for a gateway contact of a relay decision. */
export function upstreamUri(c: { user: string; uriParams: Record<string, string | null> }): string {
  return `sip:${c.user}@127.0.0.1:5060;erb=${c.uriParams["erb"] ?? ""}`;
}

export interface BindingJson {
  id: number;
  username: string;
  domain: string;
  contact: string;
  received: string | null;
  expires: number;
  callid: string;
  cseq: number;
  userAgent: string;
  methods: string | null;
  socket: string | null;
}

export async function bindingsOf(aor: string): Promise<BindingJson[]> {
  const res = await admin("GET", `/bindings?aor=${encodeURIComponent(aor)}`);
  if (res.status !== 200) throw new Error(`bindings ${aor}: ${res.status}`);
  return ((await res.json()) as { bindings: BindingJson[] }).bindings;
}
