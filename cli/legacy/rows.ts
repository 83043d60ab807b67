/**
 * The legacy `endpoint_locations` rows and our bindings, side by side: how one becomes the other, which
 * binding of an AoR the one-row-per-AoR table keeps, and how both sides compare. Pure functions; the
 * MySQL, CSV and admin API ends are elsewhere (see docs/migration.md for the rules in prose).
 */
import { addressUri, isIpAddress, normalizeHost } from "../../sip/host";
import { parseSipUri } from "../../sip/uri";
import { checkAor } from "../validate";

/** The columns of `endpoint_locations`, in table (and CSV) order. */
export const LEGACY_COLUMNS = ["aor", "contact_ip", "contact_port", "contact_uri", "expires"] as const;

/** One legacy row as text, as MySQL (dateStrings) and the CSV give it; `expires` is `YYYY-MM-DD HH:MM:SS` UTC. */
export interface LegacyRow {
  readonly aor: string;
  readonly contact_ip: string;
  readonly contact_port: string;
  readonly contact_uri: string;
  readonly expires: string;
}

/** A binding as the admin API returns it (the fields used here). */
export interface LiveBinding {
  readonly id: number;
  readonly username: string;
  readonly domain: string;
  readonly contact: string;
  readonly received: string | null;
  readonly expires: number;
  readonly q: number;
}

/** A legacy row ready to import (the body rows of `POST /admin/v1/legacy/import`). */
export interface ImportRow {
  readonly username: string;
  readonly domain: string;
  readonly contact: string;
  readonly received: string | null;
  readonly expires: number;
}

const DATETIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** `YYYY-MM-DD HH:MM:SS` (UTC) as Unix seconds; undefined when it is not a real date and time. */
export function parseDatetime(text: string): number | undefined {
  const m = DATETIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(ms);
  // Date.UTC rolls 2026-02-30 over to March: a date that does not round-trip does not exist.
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || year < 1970) return undefined;
  return ms / 1000;
}

/** Unix seconds as `YYYY-MM-DD HH:MM:SS` UTC, the legacy DATETIME text. */
export function formatDatetime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 19).replace("T", " ");
}

/** RFC 3261 section 19.1.2: an absent port is 5060 for sip:, 5061 for sips:. */
const defaultPort = (scheme: "sip" | "sips"): number => (scheme === "sips" ? 5061 : 5060);


/** The AoR key both sides are matched on: the user as written, the domain in lower case. */
export function aorKey(user: string, domain: string): string {
  return `${user}@${domain.toLowerCase()}`;
}

/** The key of a legacy `aor` column (`user@domain`), or the text itself when it has no `@`. */
export function legacyAorKey(aor: string): string {
  const at = aor.lastIndexOf("@");
  return at < 0 ? aor : aorKey(aor.slice(0, at), aor.slice(at + 1));
}

export type ImportCheck =
  | { readonly kind: "ok"; readonly row: ImportRow }
  | { readonly kind: "expired" }
  | { readonly kind: "refused"; readonly reason: string };

/**
 * What to do with one legacy row: refuse it (malformed, or its domain is no tenant), skip it (expired at
 * `now`, Unix seconds), or import it. `tenants` holds the tenant domains in lower case.
 */
export function checkLegacyRow(row: LegacyRow, now: number, tenants: ReadonlySet<string>): ImportCheck {
  const refuse = (reason: string): ImportCheck => ({ kind: "refused", reason });
  const aor = checkAor(row.aor);
  if (!aor.ok) return refuse(`aor: ${aor.reason}`);
  const contact = parseSipUri(row.contact_uri);
  if (!contact) return refuse(`contact_uri '${row.contact_uri}' is not a sip: or sips: URI`);
  if (!isIpAddress(row.contact_ip) || row.contact_ip.startsWith("[")) return refuse(`contact_ip '${row.contact_ip}' is not an IP address`);
  const port = /^[0-9]{1,5}$/.test(row.contact_port) ? Number(row.contact_port) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) return refuse(`contact_port '${row.contact_port}' is not a port (1..65535)`);
  const expires = parseDatetime(row.expires);
  if (expires === undefined) return refuse(`expires '${row.expires}' is not YYYY-MM-DD HH:MM:SS`);
  if (expires <= now) return { kind: "expired" };
  const domain = aor.value.domain.toLowerCase();
  if (!tenants.has(domain)) return refuse(`domain ${domain} is no tenant`);
  const ip = normalizeHost(row.contact_ip);
  const sameAddress = normalizeHost(contact.host) === ip && (contact.port ?? defaultPort(contact.scheme)) === port;
  return {
    kind: "ok",
    row: {
      username: aor.value.user,
      domain,
      contact: row.contact_uri,
      received: sameAddress ? null : addressUri(ip, port),
      expires,
    },
  };
}

/**
 * The binding an AoR's one legacy row holds when it has several: highest q, then latest expiry, then the
 * oldest binding (lowest id), so the choice is the same on every run.
 */
export function pickBinding<B extends LiveBinding>(bindings: readonly B[]): B | undefined {
  return [...bindings].sort((a, b) => b.q - a.q || b.expires - a.expires || a.id - b.id)[0];
}

/** Where a binding's phone is reached: its NAT address (`received`), else its contact's host and port. */
export function bindingAddress(b: Pick<LiveBinding, "contact" | "received">): { ip: string; port: number } | undefined {
  const via = b.received !== null ? parseSipUri(b.received) : undefined;
  const uri = via ?? parseSipUri(b.contact);
  if (!uri) return undefined;
  return { ip: normalizeHost(uri.host), port: uri.port ?? defaultPort(uri.scheme) };
}

/** A binding in the legacy shape; undefined when its contact is not a SIP URI (nothing to write). */
export function toLegacyRow(b: LiveBinding): LegacyRow | undefined {
  const address = bindingAddress(b);
  if (!address) return undefined;
  return {
    aor: `${b.username}@${b.domain}`,
    contact_ip: address.ip,
    contact_port: String(address.port),
    contact_uri: b.contact,
    expires: formatDatetime(b.expires),
  };
}

/** Live bindings grouped by AoR key, in key order. */
export function groupByAor<B extends LiveBinding>(bindings: readonly B[]): Map<string, B[]> {
  const groups = new Map<string, B[]>();
  for (const b of bindings) {
    const key = aorKey(b.username, b.domain);
    const list = groups.get(key) ?? [];
    list.push(b);
    groups.set(key, list);
  }
  return new Map([...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** An AoR with several live bindings, and the one the legacy table gets. */
export interface SeveralBindings {
  readonly aor: string;
  readonly kept: LiveBinding;
  readonly others: readonly LiveBinding[];
}

/** Our live bindings as the legacy table would hold them: one row per AoR, and the AoRs that had several. */
export function legacyRowsOf(bindings: readonly LiveBinding[]): { rows: Map<string, LegacyRow>; several: SeveralBindings[] } {
  const rows = new Map<string, LegacyRow>();
  const several: SeveralBindings[] = [];
  for (const [key, group] of groupByAor(bindings)) {
    const kept = pickBinding(group);
    const row = kept ? toLegacyRow(kept) : undefined;
    if (!kept || !row) continue;
    rows.set(key, row);
    if (group.length > 1) several.push({ aor: key, kept, others: group.filter((b) => b !== kept) });
  }
  return { rows, several };
}

/** Two legacy rows say the same thing (addresses compared in normal form, ports as numbers). */
export function sameLegacyRow(a: LegacyRow, b: LegacyRow): boolean {
  return (
    a.aor === b.aor &&
    normalizeHost(a.contact_ip) === normalizeHost(b.contact_ip) &&
    Number(a.contact_port) === Number(b.contact_port) &&
    a.contact_uri === b.contact_uri &&
    a.expires === b.expires
  );
}

export type Comparison =
  | { readonly aor: string; readonly status: "same"; readonly legacy: LegacyRow; readonly here: readonly LegacyRow[] }
  | { readonly aor: string; readonly status: "different"; readonly legacy: LegacyRow; readonly here: readonly LegacyRow[] }
  | { readonly aor: string; readonly status: "only-legacy"; readonly legacy: LegacyRow }
  | { readonly aor: string; readonly status: "only-here"; readonly here: readonly LegacyRow[] };

/**
 * Compares the live legacy rows with our live bindings, AoR by AoR. An AoR is `same` when one of our
 * bindings reaches the phone at the legacy row's address and port (NAT address first) with the same contact
 * URI; the legacy table holds one contact per AoR, so a second device registered here does not make it
 * differ. Expiry times are not compared: both sides refresh on their own. Expired rows must be left out
 * by the caller (they count as absent).
 */
export function compareLive(legacy: ReadonlyMap<string, LegacyRow>, bindings: readonly LiveBinding[]): Comparison[] {
  const here = groupByAor(bindings);
  const keys = [...new Set([...legacy.keys(), ...here.keys()])].sort();
  return keys.map((aor): Comparison => {
    const old = legacy.get(aor);
    const ours = (here.get(aor) ?? []).map(toLegacyRow).filter((r): r is LegacyRow => r !== undefined);
    if (!old) return { aor, status: "only-here", here: ours };
    if (ours.length === 0) return { aor, status: "only-legacy", legacy: old };
    const match = ours.some(
      (r) =>
        r.contact_uri === old.contact_uri &&
        Number(r.contact_port) === Number(old.contact_port) &&
        normalizeHost(r.contact_ip) === normalizeHost(old.contact_ip),
    );
    return { aor, status: match ? "same" : "different", legacy: old, here: ours };
  });
}

/** The writes that make a legacy table equal to `desired` (both keyed by {@link legacyAorKey}). */
export interface LegacyChanges {
  readonly inserts: readonly LegacyRow[];
  /** Rows to rewrite; `aor` is the desired spelling, `currentAor` the spelling the table has. */
  readonly updates: readonly (LegacyRow & { readonly currentAor: string })[];
  /** `aor` values, as the table spells them. */
  readonly deletes: readonly string[];
  readonly unchanged: number;
}

/** Inserts, updates and deletes that turn `current` into `desired`. */
export function diffLegacy(current: ReadonlyMap<string, LegacyRow>, desired: ReadonlyMap<string, LegacyRow>): LegacyChanges {
  const inserts: LegacyRow[] = [];
  const updates: (LegacyRow & { currentAor: string })[] = [];
  const deletes: string[] = [];
  let unchanged = 0;
  for (const [key, row] of desired) {
    const old = current.get(key);
    if (!old) inserts.push(row);
    else if (sameLegacyRow(old, row)) unchanged++;
    else updates.push({ ...row, currentAor: old.aor });
  }
  for (const [key, old] of current) if (!desired.has(key)) deletes.push(old.aor);
  return { inserts, updates, deletes, unchanged };
}
