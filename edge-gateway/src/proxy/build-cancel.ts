/**
 * CANCEL for a forwarded INVITE branch (RFC 3261 9.1): same Request-URI, Call-ID, To, From and CSeq number
 * as the INVITE, method CANCEL, a single Via equal to the INVITE's top Via (same branch), and the INVITE's
 * Route header fields.
 */
import { parseCSeq } from "../../../sip/cseq";
import type { SipHeader, SipRequest } from "../../../sip/message";
import { EMPTY_BODY, headerValue } from "../../../sip/message";
import { firstViaElement } from "../transaction/via-line";

/** Builds the CANCEL of `invite` (the request as the gateway sent it on that branch). */
export function buildCancel(invite: SipRequest, reason?: string): SipRequest {
  const headers: SipHeader[] = [];
  let viaDone = false;
  for (const h of invite.headers) {
    switch (h.name) {
      case "Via":
        if (!viaDone) headers.push({ name: "Via", value: firstViaElement(h.value) });
        viaDone = true;
        break;
      case "From":
      case "To":
      case "Call-ID":
      case "Route":
        headers.push(h);
        break;
      case "CSeq": {
        const c = parseCSeq(h.value);
        headers.push({ name: "CSeq", value: `${c?.seq ?? 1} CANCEL` });
        break;
      }
      default:
        break;
    }
  }
  headers.push({ name: "Max-Forwards", value: "70" });
  // RFC 3326: say why, e.g. another branch answered.
  if (reason) headers.push({ name: "Reason", value: reason });
  if (headerValue(invite, "CSeq") === undefined) headers.push({ name: "CSeq", value: "1 CANCEL" });
  return { kind: "request", method: "CANCEL", uri: invite.uri, headers, body: EMPTY_BODY };
}
