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
  /** Body bytes as received (never decoded); Content-Length is their count when serialising. */
  readonly body: Uint8Array;
}

export interface SipResponse {
  readonly kind: "response";
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly SipHeader[];
  readonly body: Uint8Array;
}

export type SipMessage = SipRequest | SipResponse;

/** The empty body, shared (frozen by convention: never write into a message body). */
export const EMPTY_BODY: Uint8Array = new Uint8Array(0);

const utf8 = new TextEncoder();
const utf8Text = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** A body from text, encoded as UTF-8 (for bodies the gateway writes itself, and for tests). */
export function textBody(text: string): Uint8Array {
  return text.length === 0 ? EMPTY_BODY : utf8.encode(text);
}

/** A body as text, invalid UTF-8 replaced by U+FFFD (for logs and tests; never re-encode it for the wire). */
export function bodyText(body: Uint8Array): string {
  return body.length === 0 ? "" : utf8Text.decode(body);
}

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
