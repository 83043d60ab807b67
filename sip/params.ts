/**
 * Header parameters (`;name=value;flag`) as used by Via, name-addr headers and Contact (RFC 3261 25.1
 * generic-param). Names are case-insensitive and stored lower-case; values are kept as written, quoted
 * strings with their quotes, so that formatting gives back what was parsed.
 */

import { isGenValue, isToken, isWsp } from "./token";

/** Ordered parameters; `null` is a parameter without a value (`;lr`, `;rport`). */
export type Params = Readonly<Record<string, string | null>>;

/**
 * The prototype of every parameter record: empty and itself prototype-free, so that no name (`__proto__`,
 * `toString`) is inherited or special. A record with a prototype stays a fast V8 object, where one created
 * from `Object.create(null)` starts as a slow dictionary.
 */
const PARAMS_PROTO = Object.freeze(Object.create(null) as object);

/** A fresh parameter record; a parameter named `__proto__` is just a parameter. */
export function newParams(): Record<string, string | null> {
  return Object.create(PARAMS_PROTO) as Record<string, string | null>;
}

/** Index just past the closing quote of the quoted-string opening at `i`, or undefined if unterminated. */
export function scanQuotedString(s: string, i: number): number | undefined {
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x5c) j++; // quoted-pair: the next character is taken literally
    else if (c === 0x22) return j + 1;
    else if (c === 0x0d || c === 0x0a) return undefined;
  }
  return undefined;
}

function skipWsp(s: string, i: number): number {
  while (i < s.length && isWsp(s.charCodeAt(i))) i++;
  return i;
}

/** True for the characters that end an unquoted parameter name or value. */
function isDelimiter(c: number): boolean {
  return c === 0x3b || c === 0x3d || c === 0x2c || c === 0x20 || c === 0x09;
}

/**
 * Parses `*( SWS ";" SWS name [ SWS "=" SWS value ] )` from `start` to the end of `s` (trailing
 * whitespace allowed). Undefined when anything else is there. A repeated name keeps its first value.
 */
export function parseHeaderParams(s: string, start: number): Params | undefined {
  const params = newParams();
  let i = skipWsp(s, start);
  while (i < s.length) {
    if (s.charCodeAt(i) !== 0x3b) return undefined;
    i = skipWsp(s, i + 1);
    const nameStart = i;
    while (i < s.length && !isDelimiter(s.charCodeAt(i))) i++;
    const name = s.slice(nameStart, i);
    if (!isToken(name)) return undefined;
    i = skipWsp(s, i);
    let value: string | null = null;
    if (i < s.length && s.charCodeAt(i) === 0x3d) {
      i = skipWsp(s, i + 1);
      if (s.charCodeAt(i) === 0x22) {
        const end = scanQuotedString(s, i);
        if (end === undefined) return undefined;
        value = s.slice(i, end);
        i = end;
      } else {
        const valueStart = i;
        while (i < s.length && !isDelimiter(s.charCodeAt(i))) i++;
        value = s.slice(valueStart, i);
        if (!isGenValue(value)) return undefined;
      }
      i = skipWsp(s, i);
    }
    const key = name.toLowerCase();
    if (!Object.prototype.hasOwnProperty.call(params, key)) params[key] = value;
  }
  return params;
}

/** Writes parameters back as `;name=value;flag`, in their order. */
export function formatParams(params: Params): string {
  let out = "";
  for (const name in params) {
    const value = params[name];
    out += value === null || value === undefined ? `;${name}` : `;${name}=${value}`;
  }
  return out;
}

/**
 * The text of a quoted-string with its quotes removed and quoted-pairs resolved (`"a\"b"` -> `a"b`);
 * any other value is returned unchanged. Use it on parameter values such as `+sip.instance`.
 */
export function unquote(value: string): string {
  if (value.length < 2 || value.charCodeAt(0) !== 0x22 || value.charCodeAt(value.length - 1) !== 0x22) return value;
  const inner = value.slice(1, -1);
  return inner.includes("\\") ? inner.replace(/\\(.)/gs, "$1") : inner;
}

/** A quoted-string holding `text`, with `"` and `\` escaped. */
export function quote(text: string): string {
  return `"${text.replace(/["\\]/g, "\\$&")}"`;
}
