/**
 * The one error type of the SIP grammar layer. It carries the status to answer with and a reason phrase
 * that is safe to put on the wire (fixed text, never bytes from the offending message).
 */

/**
 * Statuses a parse failure maps to: 400 Bad Request, 414 Request-URI Too Long, 416 Unsupported URI Scheme,
 * 505 Version Not Supported, 513 Message Too Large.
 */
export type SipParseStatus = 400 | 414 | 416 | 505 | 513;

/** Options for {@link SipParseError}. */
export interface SipParseErrorOptions {
  /** True when the message is a request whose start line and top Via parsed, so a reply can be routed. */
  readonly replyable?: boolean;
}

/**
 * A message that failed the grammar or sanity checks. `reason` is a short phrase fit for the reply's
 * status line ("Missing Call-ID"); `replyable` is false for responses and for requests without a usable Via.
 */
export class SipParseError extends Error {
  override readonly name = "SipParseError";
  readonly status: SipParseStatus;
  readonly reason: string;
  readonly replyable: boolean;

  constructor(status: SipParseStatus, reason: string, options: SipParseErrorOptions = {}) {
    super(`${status} ${reason}`);
    this.status = status;
    this.reason = reason;
    this.replyable = options.replyable ?? false;
  }
}
