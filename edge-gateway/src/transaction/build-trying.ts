import { EMPTY_BODY, headerValue, headerValues } from "../../../sip/message";
import type { SipHeader, SipRequest, SipResponse } from "../../../sip/message";

/**
 * A 100 (Trying) response to `request` per RFC 3261 8.2.6: all Via header fields in order, From, To,
 * Call-ID, CSeq and Timestamp copied, no body. The To tag is not added ("MAY" for a 100, 8.2.6.2).
 */
export function buildTrying(request: SipRequest): SipResponse {
  const headers: SipHeader[] = [];
  // 8.2.6.2: "The Via header field values in the response MUST equal the Via header field values in the
  // request and MUST maintain the same ordering."
  for (const via of headerValues(request, "Via")) headers.push({ name: "Via", value: via });
  // 8.2.6.2: "The From field of the response MUST equal the From header field of the request. The Call-ID
  // header field of the response MUST equal the Call-ID header field of the request. The CSeq header field
  // of the response MUST equal the CSeq field of the request."
  // 8.2.6.1: "If there is a Timestamp header field in the request, the UAS MUST copy it into the 100
  // (Trying) response."
  for (const name of ["From", "To", "Call-ID", "CSeq", "Timestamp"]) {
    const value = headerValue(request, name);
    if (value !== undefined) headers.push({ name, value });
  }
  return { kind: "response", status: 100, reason: "Trying", headers, body: EMPTY_BODY };
}
