/**
 * Process exit codes of edgectl, stable so that scripts can branch on them. `edgectl help` prints this table.
 */
export const ExitCode = {
  /** The command did what it was asked. */
  Ok: 0,
  /** The admin API answered an error not listed below (4xx, 5xx), or something unexpected failed. */
  Failure: 1,
  /** Bad command line or configuration, found locally before any request. */
  Usage: 2,
  /** The admin API answered 404. */
  NotFound: 3,
  /** The admin API answered 409. */
  Conflict: 4,
  /** The admin API (or, for `rollback-check`, the gateway's /metrics) could not be reached. */
  Unreachable: 5,
  /** The admin API answered 401 or 403: the token is missing or wrong. */
  Unauthorized: 6,
  /** `rollback-check`: at least one rollback trigger fired. */
  TriggerFired: 7,
} as const;

/** One of the values of {@link ExitCode}. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code for an error answer of the admin API, by HTTP status. */
export function exitCodeForStatus(status: number): ExitCodeValue {
  switch (status) {
    case 401:
    case 403:
      return ExitCode.Unauthorized;
    case 404:
      return ExitCode.NotFound;
    case 409:
      return ExitCode.Conflict;
    default:
      return ExitCode.Failure;
  }
}
