/**
 * The one error type of the store server. It carries the Hrana error `code` sent to the client and the HTTP
 * status to answer with when the error concerns the whole HTTP request rather than one stream request.
 */
export class StoreError extends Error {
  override readonly name = "StoreError";

  /**
   * @param code Machine-readable code, e.g. `BATON_REUSED` or `SQLITE_CONSTRAINT`.
   * @param message Human-readable reason.
   * @param status HTTP status used when the error fails a whole HTTP request (400 unless given).
   */
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
