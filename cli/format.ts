/**
 * Output of the CLI: aligned tables for people, JSON for scripts. Pure functions returning text; nothing
 * here writes or reads the clock (the caller passes "now").
 *
 * Binding fields come from SIP messages (User-Agent, Call-ID, Contact) that anyone on the network can send,
 * so every value is rendered with control characters escaped: a crafted User-Agent must not be able to move
 * the operator's cursor or retitle their terminal.
 */
import type { Binding, Destination, Tenant } from "./admin-client";

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Escapes C0, DEL and C1 control characters as `\xHH`, leaving all other text as it is. */
export function sanitize(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/**
 * JSON for scripts: two-space indented, newline-terminated. DEL and C1 characters, which `JSON.stringify`
 * leaves raw, are written as `\u00XX` escapes, so the text stays valid JSON and terminal-safe.
 */
export function formatJson(value: unknown): string {
  const text = JSON.stringify(value, null, 2) ?? "null";
  return `${text.replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}\n`;
}

/** One table cell: `-` for null, undefined or empty, otherwise the value as text, control characters escaped. */
export function cell(value: unknown): string {
  if (value === null || value === undefined || value === "") return "-";
  if (typeof value === "string") return sanitize(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  return sanitize(JSON.stringify(value) ?? "-");
}

const width = (text: string): number => [...text].length;

/**
 * Renders rows under headers in columns two spaces apart, newline-terminated, with no trailing spaces.
 * Cells are expected already rendered (see {@link cell}).
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, i) => Math.max(width(header), ...rows.map((row) => width(row[i] ?? ""))));
  const line = (cells: readonly string[]) =>
    headers
      .map((_, i) => {
        const text = cells[i] ?? "";
        return i === headers.length - 1 ? text : text + " ".repeat((widths[i] ?? 0) - width(text));
      })
      .join("  ")
      .trimEnd();
  return [headers, ...rows].map(line).join("\n") + "\n";
}

/** Renders `name: value` lines with the values aligned, newline-terminated. */
export function renderFields(fields: readonly (readonly [string, string])[]): string {
  const pad = Math.max(0, ...fields.map(([name]) => width(name))) + 2;
  return fields.map(([name, value]) => `${`${name}:`.padEnd(pad)}${value}`).join("\n") + "\n";
}

/**
 * A duration as `1d2h3m4s`, from the largest non-zero unit down to seconds (`45s`, `3m12s`, `1h0m5s`).
 */
export function formatDuration(totalSeconds: number): string {
  let rest = Math.max(0, Math.floor(totalSeconds));
  const parts: string[] = [];
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
  ] as const) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0 || parts.length > 0) parts.push(`${count}${unit}`);
  }
  parts.push(`${rest}s`);
  return parts.join("");
}

/** How long a binding has left: `in 3m12s`, or `expired` once `expires` (Unix seconds) is not in the future. */
export function describeExpiry(expires: unknown, nowSeconds: number): string {
  if (typeof expires !== "number" || !Number.isFinite(expires)) return "-";
  const left = Math.floor(expires - nowSeconds);
  return left > 0 ? `in ${formatDuration(left)}` : "expired";
}

const yesNo = (value: unknown): string => (value === true ? "yes" : value === false ? "no" : cell(value));

const destinationUris = (destinations: unknown): string =>
  Array.isArray(destinations) && destinations.length > 0
    ? destinations.map((d: Partial<Destination> | null) => cell(d?.uri)).join(",")
    : "-";

/** The `tenant list` table: domain, set id, whether subdomains are accepted, destination URIs. */
export function formatTenantsTable(tenants: readonly Tenant[]): string {
  return renderTable(
    ["DOMAIN", "SETID", "SUBDOMAINS", "DESTINATIONS"],
    tenants.map((t) => [cell(t.domain), cell(t.setid), yesNo(t.acceptSubdomain), destinationUris(t.destinations)]),
  );
}

/** The `tenant show` text: the tenant's fields, then a table of its destinations. */
export function formatTenantDetail(tenant: Tenant): string {
  const destinations = Array.isArray(tenant.destinations)
    ? tenant.destinations.filter((d): d is Destination => typeof d === "object" && d !== null)
    : [];
  const head = renderFields([
    ["domain", cell(tenant.domain)],
    ["setid", cell(tenant.setid)],
    ["subdomains", yesNo(tenant.acceptSubdomain)],
    ["attrs", cell(tenant.attrs)],
  ]);
  if (destinations.length === 0) return `${head}\nno destinations\n`;
  const table = renderTable(
    ["ID", "URI", "STATE", "WEIGHT", "PRIORITY", "MATCH", "SOCKET", "DESCRIPTION"],
    destinations.map((d) => [
      cell(d.id),
      cell(d.uri),
      cell(d.state),
      cell(d.weight),
      cell(d.priority),
      d.requirePort ? "ip+port" : "ip",
      cell(d.socket),
      cell(d.description),
    ]),
  );
  return `${head}\n${table}`;
}

/** The `location list` table; `nowSeconds` (Unix) is what the REMAINING column counts from. */
export function formatBindingsTable(bindings: readonly Binding[], nowSeconds: number): string {
  return renderTable(
    ["USERNAME", "DOMAIN", "CONTACT", "RECEIVED", "EXPIRES", "REMAINING", "USER_AGENT", "CALLID", "CSEQ"],
    bindings.map((b) => [
      cell(b.username),
      cell(b.domain),
      cell(b.contact),
      cell(b.received),
      cell(b.expires),
      describeExpiry(b.expires, nowSeconds),
      cell(b.userAgent),
      cell(b.callid),
      cell(b.cseq),
    ]),
  );
}

/** `userAgent` -> `user_agent`; names already in snake_case are unchanged. */
export function toSnakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

const BINDING_JSON_LEAD = ["username", "domain", "contact", "received", "expires", "user_agent", "callid", "cseq"];

/**
 * A binding as `location list --json` prints it: every field under its snake_case name (the OpenSIPS
 * `location` column names), the commonly read ones first, the others after in the API's order.
 */
export function bindingToJson(binding: Binding): Record<string, unknown> {
  const snake = new Map(Object.entries(binding).map(([key, value]) => [toSnakeCase(key), value] as const));
  const out: Record<string, unknown> = {};
  for (const key of BINDING_JSON_LEAD) if (snake.has(key)) out[key] = snake.get(key);
  for (const [key, value] of snake) if (!(key in out)) out[key] = value;
  return out;
}
