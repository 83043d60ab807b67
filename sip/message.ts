/**
 * SIP message values (RFC 3261 section 7). Headers are kept raw, in arrival order, one entry per header
 * line value; names are canonical (see header-names.ts) and parsed on demand. Messages are immutable:
 * the proxy builds new ones with the helpers in serializer/edit functions instead of mutating.
 */

/** One header field: canonical name and raw value (folding already unfolded, no trailing CRLF). */
export interface SipHeader {
  readonly name: string;
  readonly value: string;
}

export interface SipRequest {
  readonly kind: "request";
  readonly method: string;
  readonly uri: string;
  readonly headers: readonly SipHeader[];
  /** Body decoded as UTF-8; Content-Length is recomputed in bytes when serialising. */
  readonly body: string;
}

export interface SipResponse {
  readonly kind: "response";
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly SipHeader[];
  readonly body: string;
}

export type SipMessage = SipRequest | SipResponse;

/** Canonical-name comparison is case-insensitive (RFC 3261 section 7.3.1). */
function same(a: string, b: string): boolean {
  return a.length === b.length && a.toLowerCase() === b.toLowerCase();
}

/** Every value of the header `name` (canonical long form, any case), header lines in order. */
export function headerValues(msg: { readonly headers: readonly SipHeader[] }, name: string): string[] {
  const out: string[] = [];
  for (const h of msg.headers) if (same(h.name, name)) out.push(h.value);
  return out;
}

/** The first value of the header `name`, or undefined. */
export function headerValue(msg: { readonly headers: readonly SipHeader[] }, name: string): string | undefined {
  for (const h of msg.headers) if (same(h.name, name)) return h.value;
  return undefined;
}
