/**
 * A problem with the legacy side of a cut-over command: MySQL unreachable or refusing the login, the
 * `endpoint_locations` table missing or of another shape, a CSV file unreadable or without the legacy
 * header. The message names the source with its password redacted; edgectl exits 8 with it.
 */
export class LegacySourceError extends Error {
  override readonly name = "LegacySourceError";
}
