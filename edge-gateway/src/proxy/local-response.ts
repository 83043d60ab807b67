/**
 * Responses the gateway generates itself (RFC 3261 8.2.6, 16.7): Via, From, To, Call-ID and CSeq copied
 * from the request, a To tag added to anything but 100, extra headers from the decision.
 */
import { EMPTY_BODY } from "../../../sip/message";
import type { SipHeader, SipRequest, SipResponse } from "../../../sip/message";
import { parseNameAddr } from "../../../sip/name-addr";
import { randomHex } from "./random-hex";

const COPIED = new Set(["via", "from", "call-id", "cseq"]);

/** A fresh To tag. */
export function newTag(): string {
  return randomHex(6);
}

/** Builds a response to `req`; `toTag` is used when To has none and status > 100. */
export function createResponse(
  req: SipRequest,
  status: number,
  reason: string,
  extra: readonly SipHeader[] = [],
  toTag: string = newTag(),
): SipResponse {
  const headers: SipHeader[] = [];
  for (const h of req.headers) {
    const l = h.name.toLowerCase();
    if (COPIED.has(l)) headers.push(h);
    else if (l === "to") {
      const hasTag = parseNameAddr(h.value)?.params["tag"] !== undefined;
      headers.push(status > 100 && !hasTag ? { name: "To", value: `${h.value};tag=${toTag}` } : h);
    }
  }
  // RFC 3261 8.2.6.1: a 100 Trying copies the Timestamp header.
  if (status === 100) for (const h of req.headers) if (h.name.toLowerCase() === "timestamp") headers.push(h);
  headers.push({ name: "Server", value: "edge-registrar" }, ...extra);
  return { kind: "response", status, reason, headers, body: EMPTY_BODY };
}
