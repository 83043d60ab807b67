// Tiny builders of SipRequest/SipResponse plain objects and a recording transport for transaction tests.
import { EMPTY_BODY, headerValue, headerValues } from "../../../sip/message";
import { parseMessage } from "../../../sip/parser";
import type { SipHeader, SipMessage, SipRequest, SipResponse } from "../../../sip/message";
import { ManualClock, timerDurations } from "../../../edge-gateway/src/transaction";
import type {
  Destination,
  EncodedResponse,
  TimerConfig,
  TransactionContext,
  TransactionKey,
} from "../../../edge-gateway/src/transaction";

export const UPSTREAM: Destination = { ip: "192.0.2.10", port: 5060, transport: "udp" };
export const DOWNSTREAM: Destination = { ip: "198.51.100.20", port: 5080, transport: "udp" };
export const BRANCH = "z9hG4bK-abc123";
export const SENT_BY = "192.0.2.10:5060";

export interface RequestOptions {
  readonly branch?: string;
  readonly sentBy?: string;
  readonly cseq?: number;
  readonly callId?: string;
  readonly toTag?: string;
  /** Further Via lines below the top one. */
  readonly lowerVias?: readonly string[];
  readonly routes?: readonly string[];
  readonly extra?: readonly SipHeader[];
}

/** A request with the mandatory header fields of 8.1.1, top Via `SIP/2.0/UDP <sentBy>;branch=<branch>`. */
export function makeRequest(method: string, options: RequestOptions = {}): SipRequest {
  const branch = options.branch ?? BRANCH;
  const sentBy = options.sentBy ?? SENT_BY;
  const headers: SipHeader[] = [{ name: "Via", value: `SIP/2.0/UDP ${sentBy};branch=${branch}` }];
  for (const via of options.lowerVias ?? []) headers.push({ name: "Via", value: via });
  for (const route of options.routes ?? []) headers.push({ name: "Route", value: route });
  headers.push(
    { name: "Max-Forwards", value: "69" },
    { name: "From", value: "<sip:alice@tenant-a.example>;tag=from1" },
    { name: "To", value: `<sip:bob@tenant-a.example>${options.toTag === undefined ? "" : `;tag=${options.toTag}`}` },
    { name: "Call-ID", value: options.callId ?? "call-1@192.0.2.10" },
    { name: "CSeq", value: `${options.cseq ?? 1} ${method}` },
    ...(options.extra ?? []),
  );
  return { kind: "request", method, uri: "sip:bob@tenant-a.example", headers, body: EMPTY_BODY };
}

/** A response to `request` per 8.2.6.2 (Via, From, Call-ID, CSeq copied), To tagged unless `toTag` is null. */
export function makeResponse(request: SipRequest, status: number, toTag: string | null = "to1"): SipResponse {
  const headers: SipHeader[] = headerValues(request, "Via").map((value) => ({ name: "Via", value }));
  const to = headerValue(request, "To") ?? "";
  headers.push(
    { name: "From", value: headerValue(request, "From") ?? "" },
    { name: "To", value: toTag === null || to.includes(";tag=") ? to : `${to};tag=${toTag}` },
    { name: "Call-ID", value: headerValue(request, "Call-ID") ?? "" },
    { name: "CSeq", value: headerValue(request, "CSeq") ?? "" },
  );
  return { kind: "response", status, reason: `Status ${status}`, headers, body: EMPTY_BODY };
}

/** The request key a caller would compute from the top Via of `request`. */
export function requestKey(request: SipRequest, branch = BRANCH, sentBy = SENT_BY): TransactionKey {
  return { branch, sentBy, method: request.method };
}

export interface Sent {
  readonly at: number;
  readonly message: SipMessage;
  readonly destination: Destination;
}

/**
 * What went out, as a message: a response a transaction sent as bytes (an answered non-INVITE server
 * transaction keeps only those) is parsed back, so that the test sees what the wire would carry.
 */
export function sentMessage(message: SipMessage | EncodedResponse): SipMessage {
  if (!("bytes" in message)) return message;
  const parsed = parseMessage(message.bytes);
  if (!parsed.ok) throw new Error(`a transaction sent bytes that do not parse: ${"error" in parsed ? parsed.error.reason : "a keep-alive"}`);
  return parsed.message;
}

/** A ManualClock, timer durations and a `send` that records what went out and when. */
export function harness(config: Partial<TimerConfig> = {}) {
  const clock = new ManualClock();
  const sent: Sent[] = [];
  let failing: unknown;
  const context: TransactionContext = {
    clock,
    timers: timerDurations(config),
    send: (message, destination) => {
      if (failing !== undefined) throw failing;
      sent.push({ at: clock.now(), message: sentMessage(message), destination });
    },
  };
  return {
    clock,
    sent,
    context,
    /** Makes every following send throw `cause` (a synchronous transport failure). */
    failSends(cause: unknown = new Error("EHOSTUNREACH")): void {
      failing = cause;
    },
    /** Times at which messages were sent. */
    times(): number[] {
      return sent.map((s) => s.at);
    },
  };
}

/** Status code of a sent message, or the method for a request. */
export function label(message: SipMessage): string {
  return message.kind === "response" ? String(message.status) : message.method;
}

/** A TU that logs every callback as a string ("response 180", "timeout", "transport-error", "terminated"). */
export function recordingUser<T>() {
  const events: string[] = [];
  const responses: SipResponse[] = [];
  const user = {
    onResponse(response: SipResponse, _transaction: T): void {
      responses.push(response);
      events.push(`response ${response.status}`);
    },
    onTimeout(_transaction: T): void {
      events.push("timeout");
    },
    onTransportError(_transaction: T, _cause: unknown): void {
      events.push("transport-error");
    },
    onTerminated(_transaction: T): void {
      events.push("terminated");
    },
  };
  return { user, events, responses };
}
