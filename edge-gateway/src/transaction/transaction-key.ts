/**
 * Matching keys, computed by the caller from the already parsed message so that the transaction layer
 * needs no SIP parsing. Only RFC 3261 branches (with the magic cookie) are matched; RFC 2543 matching
 * (17.1.3/17.2.3 fallback on Request-URI, tags, Call-ID, CSeq and top Via) is not supported.
 */

/** RFC 3261 section 8.1.1.7: "The branch parameter value MUST begin with the magic cookie "z9hG4bK"". */
export const MAGIC_COOKIE = "z9hG4bK";

/** Key of an incoming request, for server transaction matching (17.2.3). */
export interface TransactionKey {
  /** The `branch` parameter of the top Via. */
  readonly branch: string;
  /** The sent-by of the top Via as "host:port", with the default port (5060) filled in by the caller. */
  readonly sentBy: string;
  /** The request method (ACK matches the INVITE transaction; CANCEL is its own transaction). */
  readonly method: string;
}

/** Key of an incoming response, for client transaction matching (17.1.3). */
export interface ResponseKey {
  /** The `branch` parameter of the top Via. */
  readonly branch: string;
  /** The method of the CSeq header field. */
  readonly method: string;
}

/** True when `branch` begins with the RFC 3261 magic cookie (compared case-insensitively, as a token). */
export function hasMagicCookie(branch: string | undefined): branch is string {
  return branch !== undefined && branch.length > MAGIC_COOKIE.length &&
    branch.slice(0, MAGIC_COOKIE.length).toLowerCase() === MAGIC_COOKIE.toLowerCase();
}

// RFC 3261 7.3.1: tokens (the branch) and host names are case-insensitive; method names are
// case-sensitive (section 7.1). A NUL never appears in a SIP token, so it is a safe separator.

/**
 * Server map key per 17.2.3: branch, sent-by and method, where "the method of the request that created
 * the transaction is INVITE" for an ACK.
 */
export function serverKeyOf(key: TransactionKey): string {
  const method = key.method === "ACK" ? "INVITE" : key.method;
  return `${key.branch.toLowerCase()}\u0000${key.sentBy.toLowerCase()}\u0000${method}`;
}

/**
 * A copy of `s` that shares no memory with the text it was cut from. V8 represents a substring as a slice
 * of its parent, which keeps the parent alive: a branch parameter kept for Timer J would keep the whole
 * datagram's text for 32 s.
 */
export function ownCopy(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/** Client map key per 17.1.3: the branch of the top Via and the CSeq method. */
export function clientKeyOf(branch: string, method: string): string {
  return `${branch.toLowerCase()}\u0000${method}`;
}
