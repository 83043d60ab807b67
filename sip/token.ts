/**
 * Character classes of the RFC 3261 grammar (section 25.1), as lookup tables: the parser runs on every
 * datagram, so these are checked with array reads, not regular expressions.
 */

function table(chars: string, alnum: boolean): Uint8Array {
  const t = new Uint8Array(128);
  if (alnum) {
    for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
    for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
    for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  }
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

const TOKEN = table("-.!%*_+`'~", true);
/** token plus what a host or an unbracketed IPv6 `received` value adds (gen-value, RFC 3261 25.1). */
const GEN_VALUE = table("-.!%*_+`'~[]:", true);
/** unreserved + escaped lead + user-unreserved (RFC 3261 25.1 `user`); `#` tolerated, phones send it. */
const USER = table("-_.!~*'()%&=+$,;?/#", true);
const PASSWORD = table("-_.!~*'()%&=+$,", true);
/** paramchar = param-unreserved / unreserved / escaped. */
const URI_PARAM = table("[]/:&+$-_.!~*'()%", true);
/** hnv-unreserved / unreserved / escaped. */
const URI_HEADER = table("[]/?:+$-_.!~*'()%", true);
const HOSTNAME = table("-._", true);

function all(s: string, t: Uint8Array, allowEmpty: boolean): boolean {
  if (s.length === 0) return allowEmpty;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || t[c] !== 1) return false;
  }
  return true;
}

/** True when `s` is a non-empty RFC 3261 token (methods, header names, parameter names). */
export function isToken(s: string): boolean {
  return all(s, TOKEN, false);
}

/** True for a non-empty generic parameter value that needs no quoting (token, host, IPv6 address). */
export function isGenValue(s: string): boolean {
  return all(s, GEN_VALUE, false);
}

/** True for the characters a SIP URI allows in its user part (escapes checked separately). */
export function isUserChars(s: string): boolean {
  return all(s, USER, false);
}

/** True for the characters a SIP URI allows in its password. */
export function isPasswordChars(s: string): boolean {
  return all(s, PASSWORD, true);
}

/** True for the characters a SIP URI allows in a parameter name or value. */
export function isUriParamChars(s: string, allowEmpty: boolean): boolean {
  return all(s, URI_PARAM, allowEmpty);
}

/** True for the characters a SIP URI allows in a header name or value. */
export function isUriHeaderChars(s: string, allowEmpty: boolean): boolean {
  return all(s, URI_HEADER, allowEmpty);
}

/** True for a plausible host name or IPv4 address (letters, digits, `-`, `.`, `_`). */
export function isHostnameChars(s: string): boolean {
  return all(s, HOSTNAME, false);
}

/** True for SP and HTAB. */
export function isWsp(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** True when every `%` in `s` starts a two-hex-digit escape. */
export function hasValidEscapes(s: string): boolean {
  let i = s.indexOf("%");
  while (i !== -1) {
    if (!isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) return false;
    i = s.indexOf("%", i + 3);
  }
  return true;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** True when `s` is one or more ASCII digits. */
export function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Parses 1*DIGIT not above `max` (leading zeros allowed); undefined otherwise. */
export function parseBoundedInt(s: string, max: number): number | undefined {
  if (!isDigits(s)) return undefined;
  let i = 0;
  while (i < s.length - 1 && s.charCodeAt(i) === 0x30) i++;
  if (s.length - i > 16) return undefined;
  const n = Number(s.slice(i));
  return n <= max ? n : undefined;
}
