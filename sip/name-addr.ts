/**
 * name-addr / addr-spec values with header parameters (RFC 3261 sections 20.10, 20.20, 20.39, 25.1):
 * From, To, Contact, Route, Record-Route, Path, Refer-To; and the splitting of comma-separated header lists.
 */

import { formatParams, parseHeaderParams, quote, scanQuotedString, unquote } from "./params";
import type { Params } from "./params";
import { isToken, isWsp } from "./token";

/** One address with its header parameters (`;tag=x`, `;expires=60`, `;q=0.5`, `;+sip.instance="<urn:...>"`). */
export interface NameAddr {
  /** Display name with quotes and escapes removed; absent when none was written. */
  readonly displayName?: string;
  /** The URI as written, without angle brackets; parse it with parseSipUri when it is sip:/sips:. */
  readonly uri: string;
  /** Header parameters in order, names lower-case, values as written (quoted strings keep their quotes). */
  readonly params: Params;
}

/**
 * Index of the comma that ends the first element of a header list, skipping commas inside quoted strings
 * and angle brackets; undefined when the value holds a single element.
 */
export function listSeparatorIndex(value: string, from = 0): number | undefined {
  let angle = false;
  for (let i = from; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x22) {
      const end = scanQuotedString(value, i);
      if (end === undefined) return undefined; // unterminated: the rest is one (bad) element
      i = end - 1;
    } else if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    else if (c === 0x2c && !angle) return i;
  }
  return undefined;
}

/**
 * Splits a comma-separated header value (Contact, Route, Record-Route, Via, Path, Allow, Supported) into
 * trimmed elements, respecting quoted strings and `<...>`; empty elements are dropped. Not for
 * Authorization or WWW-Authenticate, whose commas separate parameters.
 */
export function splitHeaderList(value: string): string[] {
  if (!value.includes(",")) {
    const only = value.trim();
    return only.length === 0 ? [] : [only];
  }
  const out: string[] = [];
  let start = 0;
  for (;;) {
    const comma = listSeparatorIndex(value, start);
    const item = value.slice(start, comma).trim();
    if (item.length > 0) out.push(item);
    if (comma === undefined) return out;
    start = comma + 1;
  }
}

/**
 * The number of non-empty elements of a comma-separated header value, counting no further than `max + 1`
 * (the caller only needs to know whether a cap is exceeded). One pass, like splitHeaderList.
 */
export function countListValues(value: string, max: number): number {
  let count = 0;
  let start = 0;
  for (;;) {
    const comma = listSeparatorIndex(value, start);
    const end = comma ?? value.length;
    for (let i = start; i < end; i++) {
      const c = value.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09) {
        count++;
        break;
      }
    }
    if (comma === undefined || count > max) return count;
    start = comma + 1;
  }
}

/** The first element of a comma-separated header value, trimmed (the top Via of a Via line). */
export function firstListValue(value: string): string {
  const comma = listSeparatorIndex(value);
  return (comma === undefined ? value : value.slice(0, comma)).trim();
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"]+$/;

function isDisplayNameWord(w: string): boolean {
  for (let i = 0; i < w.length; i++) {
    const c = w.charCodeAt(i);
    // token characters; UTF-8 names are tolerated unquoted, as deployed phones send them.
    if (c < 128 && !isToken(w[i] ?? "")) return false;
  }
  return true;
}

/**
 * Parses one name-addr (`"Bob" <sip:bob@example.com>;tag=1`) or addr-spec (`sip:bob@example.com;tag=1`,
 * where everything after the first `;` is a header parameter). Undefined on bad syntax.
 */
export function parseNameAddr(value: string): NameAddr | undefined {
  let i = 0;
  while (i < value.length && isWsp(value.charCodeAt(i))) i++;
  let displayName: string | undefined;
  let open: number;
  if (value.charCodeAt(i) === 0x22) {
    const end = scanQuotedString(value, i);
    if (end === undefined) return undefined;
    displayName = unquote(value.slice(i, end));
    open = end;
    while (open < value.length && isWsp(value.charCodeAt(open))) open++;
    if (value.charCodeAt(open) !== 0x3c) return undefined;
  } else {
    open = i;
    while (open < value.length) {
      const c = value.charCodeAt(open);
      if (c === 0x3c || c === 0x3b || c === 0x22) break;
      open++;
    }
    if (value.charCodeAt(open) !== 0x3c) {
      // addr-spec: no display name, no brackets; the URI may not hold `;`, `?` or `,` (RFC 3261 20).
      const uri = value.slice(i, open).trimEnd();
      if (!SCHEME.test(uri) || uri.includes("?") || uri.includes(",")) return undefined;
      const params = parseHeaderParams(value, open);
      return params === undefined ? undefined : { uri, params };
    }
    if (open > i) {
      const words = value.slice(i, open).split(/[ \t]+/).filter((w) => w.length > 0);
      if (!words.every(isDisplayNameWord)) return undefined;
      if (words.length > 0) displayName = words.join(" ");
    }
  }
  const close = value.indexOf(">", open + 1);
  if (close === -1) return undefined;
  const uri = value.slice(open + 1, close);
  if (!SCHEME.test(uri)) return undefined;
  const params = parseHeaderParams(value, close + 1);
  if (params === undefined) return undefined;
  return displayName === undefined ? { uri, params } : { displayName, uri, params };
}

/**
 * Parses a Contact header value: `'*'` for the wildcard (RFC 3261 10.2.2), otherwise the list of
 * addresses; undefined when any element is malformed.
 */
export function parseContactHeader(value: string): "*" | NameAddr[] | undefined {
  if (value.trim() === "*") return "*";
  const items = splitHeaderList(value);
  if (items.length === 0) return undefined;
  const out: NameAddr[] = [];
  for (const item of items) {
    const na = parseNameAddr(item);
    if (na === undefined) return undefined;
    out.push(na);
  }
  return out;
}

/** Writes a name-addr, always with angle brackets and, when present, a quoted display name. */
export function formatNameAddr(na: NameAddr): string {
  const name = na.displayName === undefined ? "" : `${quote(na.displayName)} `;
  return `${name}<${na.uri}>${formatParams(na.params)}`;
}

