/**
 * The SIP grammar layer: bytes to immutable messages and back, header values parsed on demand.
 * No I/O, no environment. Explicit re-exports only: this list is the public surface.
 */

export type { SipHeader, SipMessage, SipRequest, SipResponse } from "./message";
export { bodyText, EMPTY_BODY, headerValue, headerValues, textBody } from "./message";
export { canonicalHeaderName } from "./header-names";
export { ByteSlab } from "./byte-slab";
export { SipParseError } from "./errors";
export type { SipParseErrorOptions, SipParseStatus } from "./errors";
export { DEFAULT_PARSE_LIMITS, MAX_UDP_PAYLOAD, parseMessage } from "./parser";
export type { ParseLimits, ParseResult, PartialRequest } from "./parser";
export {
  appendHeader,
  prependHeader,
  removeFirstHeaderValue,
  removeHeaders,
  replaceHeaders,
  serializeMessage,
  withHeaders,
} from "./serializer";
export { formatSipUri, parseSipUri, sameHostPort } from "./uri";
export type { SipUri } from "./uri";
export type { HostPort } from "./host";
export { normalizeHost } from "./host";
export { formatNameAddr, parseContactHeader, parseNameAddr, splitHeaderList } from "./name-addr";
export type { NameAddr } from "./name-addr";
export type { Params } from "./params";
export { unquote } from "./params";
export { formatVia, parseTopVia, parseVia, RFC3261_BRANCH_COOKIE, topVia, withViaParams } from "./via";
export type { Via } from "./via";
export { formatCSeq, MAX_CSEQ, parseCSeq } from "./cseq";
export type { CSeq } from "./cseq";
export { MAX_EXPIRES, parseExpires } from "./expires";
export { DEFAULT_MAX_FORWARDS, parseMaxForwards } from "./max-forwards";
