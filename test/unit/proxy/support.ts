// Builders for the proxy tests: SIP text to messages (through the real parser), and small readers.
import { headerValue, headerValues } from "../../../sip/message";
import type { SipMessage, SipRequest, SipResponse } from "../../../sip/message";
import { parseMessage } from "../../../sip/parser";
import { serializeMessage } from "../../../sip/serializer";
import { topVia } from "../../../sip/via";
import type { TransportAddress } from "../../../edge-gateway/src/transport/transport";

const encoder = new TextEncoder();

/** The bytes of a message written as lines (CRLF added, blank line and body appended). */
export function wire(lines: readonly string[], body = ""): Uint8Array {
  return encoder.encode(`${lines.join("\r\n")}\r\n\r\n${body}`);
}

/** Parses bytes that must be a valid message. */
export function parse(bytes: Uint8Array): SipMessage {
  const r = parseMessage(bytes);
  if (!r.ok) throw new Error(r.keepalive ? "keep-alive, not a message" : `unparseable: ${r.error.status} ${r.error.reason}`);
  return r.message;
}

export function request(lines: readonly string[], body = ""): SipRequest {
  const m = parse(wire(lines, body));
  if (m.kind !== "request") throw new Error("not a request");
  return m;
}

export function response(lines: readonly string[], body = ""): SipResponse {
  const m = parse(wire(lines, body));
  if (m.kind !== "response") throw new Error("not a response");
  return m;
}

/** Serialises and parses again, as the peer would see it. */
export function roundTrip<M extends SipMessage>(msg: M): M {
  return parse(serializeMessage(msg)) as M;
}

export function addr(ip: string, port: number): TransportAddress {
  return { ip, port, transport: "udp" };
}

/** All values of a header, in order, one entry per line. */
export const values = (msg: SipMessage, name: string): string[] => headerValues(msg, name);
export const value = (msg: SipMessage, name: string): string | undefined => headerValue(msg, name);

/** The branch of the top Via. */
export function topBranch(msg: SipMessage): string | undefined {
  return topVia(msg)?.branch;
}

/** Copies a message's header lines that a UAS echoes in a response (Via, From, To, Call-ID, CSeq). */
export function echoed(req: SipRequest, toTag?: string): string[] {
  const out: string[] = [];
  for (const h of req.headers) {
    if (h.name === "Via" || h.name === "From" || h.name === "Call-ID" || h.name === "CSeq") out.push(`${h.name}: ${h.value}`);
    else if (h.name === "To") out.push(`To: ${h.value}${toTag !== undefined && !h.value.includes(";tag=") ? `;tag=${toTag}` : ""}`);
  }
  return out;
}

/** A response to `req` as a downstream UAS would write it. */
export function answer(req: SipRequest, status: number, reason: string, extra: readonly string[] = [], toTag?: string): SipResponse {
  return response([`SIP/2.0 ${status} ${reason}`, ...echoed(req, status > 100 ? (toTag ?? "uas-tag") : toTag), ...extra, "Content-Length: 0"]);
}
