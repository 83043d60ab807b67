/**
 * The gateway <-> worker JSON contract, version 1.
 *
 * The gateway turns each decision point into one event (an initial request, or a final response the worker
 * asked to see) and POSTs it to `/v1/request` or `/v1/response`; the worker answers with one decision.
 * Types and runtime validation live here and nowhere else; neither side knows the other's internals, and
 * nothing here knows the database tables. Unknown fields are ignored (zod strips them); a missing or
 * ill-typed required field is a validation error that the worker maps to HTTP 400 with the reason.
 */
import { z } from "zod";

export const CONTRACT_VERSION = "v1" as const;
export const REQUEST_EVENT_PATH = "/v1/request" as const;
export const RESPONSE_EVENT_PATH = "/v1/response" as const;
/**
 * Readiness probe (signed, body `{}`): 200 `{"ok":true}` when the worker accepts the gateway's signature
 * and reaches its store; the gateway's /ready waits for one success (docs/operations.md).
 */
export const PING_PATH = "/v1/ping" as const;

/** A transport address: where a message came from, or which gateway socket it arrived on. */
export const addressSchema = z.object({
  ip: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  transport: z.enum(["udp", "tcp", "tls"]).default("udp"),
});
export type Address = z.infer<typeof addressSchema>;

/**
 * Which gateway socket a request arrived on: the phones' socket, the Asterisk boxes' socket (a gateway with
 * `SIP_LISTEN_PBX` distinct from `SIP_LISTEN`), or the one socket both sides share. With separate sockets
 * the worker counts a request as coming from a tenant's Asterisk only when it arrived on `pbx`.
 */
export const socketRoleSchema = z.enum(["phones", "pbx", "shared"]);
export type SocketRole = z.infer<typeof socketRoleSchema>;

/** A header exactly as received: canonical name, raw value; repeated headers stay separate entries. */
export const headerSchema = z.tuple([z.string().min(1), z.string()]);
export type Header = z.infer<typeof headerSchema>;

/**
 * How `body` carries the message body: `"utf8"`, the text itself (the body was valid UTF-8, as SDP and
 * most SIP bodies are), or `"base64"` (RFC 4648 section 4) for any other bytes, so binary bodies survive JSON
 * byte for byte. Absent means `"utf8"`.
 */
export const bodyEncodingSchema = z.enum(["utf8", "base64"]).default("utf8");
export type BodyEncoding = z.infer<typeof bodyEncodingSchema>;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** The `body` / `bodyEncoding` fields of an event for these body bytes. */
export function encodeEventBody(bytes: Uint8Array): { body: string; bodyEncoding: BodyEncoding } {
  if (bytes.length === 0) return { body: "", bodyEncoding: "utf8" };
  try {
    return { body: strictUtf8.decode(bytes), bodyEncoding: "utf8" };
  } catch {
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return { body: btoa(binary), bodyEncoding: "base64" };
  }
}

/** The body bytes an event carries (the inverse of encodeEventBody). Throws on base64 that is not. */
export function decodeEventBody(event: { readonly body?: string | undefined; readonly bodyEncoding?: BodyEncoding | undefined }): Uint8Array {
  const body = event.body ?? "";
  if (event.bodyEncoding !== "base64") return utf8Encoder.encode(body);
  const binary = atob(body);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** A name-addr or addr-spec parsed once by the gateway (RFC 3261 section 20.10). */
export const nameAddrSchema = z.object({
  uri: z.string(),
  displayName: z.string().optional(),
  params: z.record(z.string(), z.string().nullable()).default({}),
});
export type NameAddr = z.infer<typeof nameAddrSchema>;

/** Conveniences the gateway computes once; the raw headers travel alongside. */
export const parsedRequestSchema = z.object({
  callId: z.string(),
  cseq: z.object({ seq: z.number().int().nonnegative(), method: z.string() }),
  from: nameAddrSchema,
  to: nameAddrSchema,
  /** Contact list; `"*"` for the wildcard of a de-registration (RFC 3261 section 10.2.2). */
  contacts: z.union([z.literal("*"), z.array(nameAddrSchema)]).default([]),
  /** Value of the Expires header, when present and valid. */
  expires: z.number().int().nonnegative().optional(),
  userAgent: z.string().optional(),
  /** Methods from Allow. */
  allow: z.array(z.string()).optional(),
  /** Path header values in order (RFC 3327). */
  path: z.array(z.string()).default([]),
  /** True when To carries a tag: an in-dialog request. */
  inDialog: z.boolean().default(false),
});
export type ParsedRequest = z.infer<typeof parsedRequestSchema>;

/** An initial (out-of-dialog) request the gateway asks the worker about. */
export const requestEventSchema = z.object({
  kind: z.literal("request"),
  /** The gateway's id for the server transaction (for logs and correlation only). */
  transactionId: z.string(),
  method: z.string().min(1),
  requestUri: z.string().min(1),
  headers: z.array(headerSchema),
  /** The body: text, or base64 when `bodyEncoding` says so. */
  body: z.string().default(""),
  bodyEncoding: bodyEncodingSchema,
  source: addressSchema,
  /** The gateway socket it arrived on. */
  local: addressSchema,
  /** The role of that socket; absent (an older gateway) means one shared socket, as before. */
  localRole: socketRoleSchema.default("shared"),
  /**
   * Every socket of this gateway (one, or the phones' and the Asterisk boxes' sockets). A binding whose
   * stored socket is none of them was saved through another gateway of the deployment, which holds the
   * phone's NAT pinhole (docs/routing.md, "Several gateways"). Absent (an older gateway): `[local]`.
   */
  gatewaySockets: z.array(addressSchema).optional(),
  /** Arrival time, Unix milliseconds. */
  receivedAt: z.number(),
  parsed: parsedRequestSchema,
});
export type RequestEvent = z.infer<typeof requestEventSchema>;

/** A final response the worker asked to see (decision `relay` with `wantResponse` other than "none"). */
export const responseEventSchema = z.object({
  kind: z.literal("response"),
  transactionId: z.string(),
  status: z.number().int().min(100).max(699),
  reason: z.string(),
  headers: z.array(headerSchema),
  /** The body: text, or base64 when `bodyEncoding` says so. */
  body: z.string().default(""),
  bodyEncoding: bodyEncodingSchema,
  source: addressSchema,
  local: addressSchema,
  receivedAt: z.number(),
  /** Contacts of the response, parsed. */
  contacts: z.array(nameAddrSchema).default([]),
  /** Expires header of the response, when present and valid. */
  expires: z.number().int().nonnegative().optional(),
  /** The opaque context the worker put in its relay decision, echoed unchanged. */
  context: z.string(),
});
export type ResponseEvent = z.infer<typeof responseEventSchema>;

/**
 * Header edits applied by the gateway, in this order: `remove` (every instance of each name),
 * then `set` (replace every instance of the name with these values, one header line each), then `add`.
 */
export const headerEditsSchema = z.object({
  remove: z.array(z.string()).default([]),
  set: z.array(z.tuple([z.string(), z.array(z.string())])).default([]),
  add: z.array(headerSchema).default([]),
});
export type HeaderEdits = z.infer<typeof headerEditsSchema>;

/**
 * A Contact the gateway writes pointing at itself: `<sip:USER@GW;uriParams>;params`, GW being the address
 * of the socket the request leaves from. The worker chooses the user and the parameters (policy); the
 * gateway knows its own addresses (mechanism).
 */
export const gatewayContactSchema = z.object({
  user: z.string().min(1),
  uriParams: z.record(z.string(), z.string().nullable()).default({}),
  params: z.record(z.string(), z.string().nullable()).default({}),
});
export type GatewayContact = z.infer<typeof gatewayContactSchema>;

/**
 * A next hop to fail over to (docs/operations.md, "Failover within a transaction"): an address and, when the
 * Request-URI must change with it, the Request-URI for that hop (absent: the target's own).
 */
export const alternativeSchema = addressSchema.extend({ requestUri: z.string().min(1).optional() });
export type Alternative = z.infer<typeof alternativeSchema>;

/** Where one branch of a relayed request goes. */
export const relayTargetSchema = z.object({
  /** Request-URI of the branch. */
  requestUri: z.string().min(1),
  /** Next hop; when absent the gateway resolves it from the route set or the Request-URI. */
  nextHop: addressSchema.optional(),
  /** Route header values to prepend (a stored Path, say). */
  route: z.array(z.string()).default([]),
  /** Contact headers to write instead of the request's, pointing at the gateway. */
  contacts: z.array(gatewayContactSchema).optional(),
  headers: headerEditsSchema.default({ remove: [], set: [], add: [] }),
  /**
   * Which side of the gateway the branch goes to: the Asterisk boxes (`pbx`) or the phones (`phones`). A
   * gateway with one address per side sends from, and advertises, that side's address.
   */
  side: z.enum(["pbx", "phones"]).optional(),
  /**
   * The branch goes through a peer gateway of the deployment: `nextHop` is that gateway's socket (the one
   * the binding was saved through), and this is the address only it may send to (the phone's NAT
   * `received` address). The gateway prepends a Route to `nextHop` carrying this address and its proof
   * (keyed by the deployment's shared GATEWAY_SECRET), which the peer verifies before sending there.
   */
  viaPeer: addressSchema.optional(),
  /**
   * Next hops to try, in order, when a REGISTER or INVITE relayed on this branch times out or gets 408 or
   * 503 (an INVITE only before any provisional other than 100), within the request's 64*T1: serial forking
   * inside the same response context (RFC 3261 16.6, 16.7). Everything else of the target (route, contacts,
   * headers, side) applies to each. Absent or empty: no failover (older workers).
   */
  alternatives: z.array(alternativeSchema).max(16).optional(),
});
export type RelayTarget = z.infer<typeof relayTargetSchema>;

export const replyDecisionSchema = z.object({
  action: z.literal("reply"),
  status: z.number().int().min(200).max(699),
  reason: z.string().min(1),
  headers: z.array(headerSchema).default([]),
  /**
   * The tenant (its domain) the worker attributed the request to, when it did: the gateway labels its
   * outcome and latency metrics with it (docs/migration.md, "Rollback triggers"). Absent: "none".
   */
  tenant: z.string().min(1).max(253).optional(),
});
export type ReplyDecision = z.infer<typeof replyDecisionSchema>;

export const relayDecisionSchema = z.object({
  action: z.literal("relay"),
  /** Branches, forked in parallel, in the order given (q order). */
  targets: z.array(relayTargetSchema).min(1),
  recordRoute: z.boolean().default(false),
  /**
   * Which final responses come back to the worker as a ResponseEvent before they are relayed: none, only a
   * 2xx (what the registrar needs: a challenge costs no worker call), or any final response.
   */
  wantResponse: z.enum(["none", "2xx", "final"]).default("none"),
  /** Opaque, integrity-protected state the worker needs at response time; echoed in the ResponseEvent. */
  context: z.string().default(""),
  /**
   * The tenant (its domain) the worker attributed the request to, when it did: the gateway labels its
   * outcome and latency metrics with it (docs/migration.md, "Rollback triggers"). Absent: "none".
   */
  tenant: z.string().min(1).max(253).optional(),
});
export type RelayDecision = z.infer<typeof relayDecisionSchema>;

/** For a response: pass it on, with header edits. */
export const forwardDecisionSchema = z.object({
  action: z.literal("forward"),
  headers: headerEditsSchema.default({ remove: [], set: [], add: [] }),
});
export type ForwardDecision = z.infer<typeof forwardDecisionSchema>;

export const dropDecisionSchema = z.object({ action: z.literal("drop"), reason: z.string().default("") });
export type DropDecision = z.infer<typeof dropDecisionSchema>;

/** What the worker may answer to a RequestEvent. */
export const requestDecisionSchema = z.discriminatedUnion("action", [
  replyDecisionSchema,
  relayDecisionSchema,
  dropDecisionSchema,
]);
export type RequestDecision = z.infer<typeof requestDecisionSchema>;

/** What the worker may answer to a ResponseEvent: forward it, replace it with a reply, or drop it. */
export const responseDecisionSchema = z.discriminatedUnion("action", [
  forwardDecisionSchema,
  replyDecisionSchema,
  dropDecisionSchema,
]);
export type ResponseDecision = z.infer<typeof responseDecisionSchema>;

export type RequestEventInput = z.input<typeof requestEventSchema>;
export type ResponseEventInput = z.input<typeof responseEventSchema>;
export type RequestDecisionInput = z.input<typeof requestDecisionSchema>;
export type ResponseDecisionInput = z.input<typeof responseDecisionSchema>;

/** A validation failure, with a one-line reason fit for an HTTP 400 body. */
export class ContractError extends Error {
  override readonly name = "ContractError";
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Validates `value` with `schema`, else a ContractError naming the first problem and where it is. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join(".") : "body";
  throw new ContractError(`${where}: ${issue?.message ?? "invalid"}`);
}

/** Validates an event or decision; throws ContractError with the first problem found. */
export const parseRequestEvent = (v: unknown): RequestEvent => parseWith(requestEventSchema, v);
export const parseResponseEvent = (v: unknown): ResponseEvent => parseWith(responseEventSchema, v);
export const parseRequestDecision = (v: unknown): RequestDecision => parseWith(requestDecisionSchema, v);
export const parseResponseDecision = (v: unknown): ResponseDecision => parseWith(responseDecisionSchema, v);
