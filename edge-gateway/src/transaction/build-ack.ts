import { EMPTY_BODY, headerValue, headerValues } from "../../../sip/message";
import type { SipHeader, SipRequest, SipResponse } from "../../../sip/message";
import { firstViaElement } from "./via-line";

/**
 * The ACK a client INVITE transaction sends for a 3xx-6xx final response (RFC 3261 17.1.1.3): the INVITE's
 * Request-URI, Call-ID, From and CSeq number (method ACK), the To of the response (with its tag), a single
 * Via equal to the INVITE's top Via, and the INVITE's Route header fields.
 */
export function buildAck(invite: SipRequest, response: SipResponse): SipRequest {
  const headers: SipHeader[] = [];
  const via = headerValue(invite, "Via");
  // 17.1.1.3: "The ACK MUST contain a single Via header field, and this MUST be equal to the top Via
  // header field of the original request."
  if (via !== undefined) headers.push({ name: "Via", value: firstViaElement(via) });
  // 17.1.1.3: "If the INVITE request whose response is being acknowledged had Route header fields, those
  // header fields MUST appear in the ACK."
  for (const route of headerValues(invite, "Route")) headers.push({ name: "Route", value: route });
  // 8.1.1: Max-Forwards is mandatory in every request; keep the INVITE's value.
  headers.push({ name: "Max-Forwards", value: headerValue(invite, "Max-Forwards") ?? "70" });
  // 17.1.1.3: "The Call-ID, From, and Request-URI MUST be equal to the values of those header fields in the
  // request passed to the transport by the client transaction ... The To header field in the ACK MUST equal
  // the To header field in the response being acknowledged".
  const from = headerValue(invite, "From");
  if (from !== undefined) headers.push({ name: "From", value: from });
  const to = headerValue(response, "To") ?? headerValue(invite, "To");
  if (to !== undefined) headers.push({ name: "To", value: to });
  const callId = headerValue(invite, "Call-ID");
  if (callId !== undefined) headers.push({ name: "Call-ID", value: callId });
  // 17.1.1.3: "the CSeq header field in the ACK MUST contain the same value for the sequence number as was
  // present in the original request, but the method parameter MUST be equal to "ACK"."
  const cseqNumber = headerValue(invite, "CSeq")?.trim().split(/\s+/)[0];
  if (cseqNumber !== undefined && cseqNumber !== "") headers.push({ name: "CSeq", value: `${cseqNumber} ACK` });
  return { kind: "request", method: "ACK", uri: invite.uri, headers, body: EMPTY_BODY };
}
