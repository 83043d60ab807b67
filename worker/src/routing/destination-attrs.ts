/**
 * Per-destination settings kept in the dispatcher `attrs` column, as Kamailio's dispatcher writes them:
 * `key=value` pairs separated by `;` (OpenSIPS passes `attrs` through as an opaque string, so both read the
 * column unchanged). The one key the worker reads:
 *
 * - `require_port=1`: a request counts as coming from this destination only when its source port equals the
 *   destination's port. Without it the port is compared only when several tenants share the source IP
 *   (test tools and some PBXes send from another port than they listen on); docs/routing.md.
 */
import type { Destination } from "../store/store";

export const REQUIRE_PORT_ATTR = "require_port";

/** The `key=value` pairs of an attrs string, keys lower-cased; a bare key has the value "". */
export function parseAttrs(attrs: string | null): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (attrs ?? "").split(";")) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf("=");
    out.set((eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase(), eq < 0 ? "" : p.slice(eq + 1).trim());
  }
  return out;
}

/** True when the destination is matched by IP and port, never by IP alone. */
export function requiresPort(d: Pick<Destination, "attrs">): boolean {
  const v = parseAttrs(d.attrs).get(REQUIRE_PORT_ATTR);
  return v === "1" || v === "true" || v === "yes";
}

/** `attrs` with `require_port` set to the given value (other pairs kept in order); null when nothing is left. */
export function withRequirePort(attrs: string | null, on: boolean): string | null {
  const pairs = (attrs ?? "")
    .split(";")
    .map((p) => p.trim())
    .filter((p) => p && p.split("=")[0]!.trim().toLowerCase() !== REQUIRE_PORT_ATTR);
  if (on) pairs.push(`${REQUIRE_PORT_ATTR}=1`);
  return pairs.length > 0 ? pairs.join(";") : null;
}
