/**
 * SIP message to bytes (RFC 3261 section 7), and the immutable header edits the proxy core applies
 * before serialising (section 16.6: Via on top, Max-Forwards, Record-Route; response Via stripping).
 */

import { ByteSlab } from "./byte-slab";
import { canonicalHeaderName, isKnownCanonicalName } from "./header-names";
import type { SipHeader, SipMessage } from "./message";
import { listSeparatorIndex } from "./name-addr";
import { isToken } from "./token";

const encoder = new TextEncoder();

/** The slab of bytes handed to the transport and let go once sent. */
const SENT_AT_ONCE = new ByteSlab();

function hasLineBreak(s: string): boolean {
  return s.includes("\r") || s.includes("\n");
}

function startLine(msg: SipMessage): string {
  if (msg.kind === "request") {
    if (!isToken(msg.method)) throw new RangeError("method is not a token");
    if (msg.uri.length === 0 || /[\s]/.test(msg.uri)) throw new RangeError("Request-URI is empty or holds whitespace");
    return `${msg.method} ${msg.uri} SIP/2.0\r\n`;
  }
  if (!Number.isInteger(msg.status) || msg.status < 100 || msg.status > 699) throw new RangeError("status is not 100-699");
  if (hasLineBreak(msg.reason)) throw new RangeError("reason phrase holds a line break");
  return `SIP/2.0 ${msg.status} ${msg.reason}\r\n`;
}

/**
 * Writes a message: start line, one line per header entry in order under its canonical name,
 * Content-Length recomputed as the body's byte count (in place of the first one, or last), an empty line,
 * then the body bytes as they are (RFC 3261 7.4: the body is octets; 20.14: Content-Length counts them).
 * Throws RangeError for what cannot be put on the wire: a non-token method or header name, a line break
 * inside a value (header injection), a status outside 100-699.
 *
 * The bytes are a view into a shared slab (byte-slab.ts): `into`, or by default one for bytes that are sent
 * at once and let go. Bytes kept for long (a final response held for retransmissions) should come from a
 * slab of their own kind, so that they do not keep the slabs of short-lived messages alive.
 */
export function serializeMessage(msg: SipMessage, into: ByteSlab = SENT_AT_ONCE): Uint8Array {
  let out = startLine(msg);
  const contentLength = `Content-Length: ${msg.body.length}\r\n`;
  let wroteLength = false;
  for (const h of msg.headers) {
    const name = canonicalHeaderName(h.name);
    if (name === "Content-Length") {
      if (!wroteLength) out += contentLength;
      wroteLength = true;
      continue;
    }
    if (!isKnownCanonicalName(name) && !isToken(name)) throw new RangeError(`header name ${JSON.stringify(h.name)} is not a token`);
    if (hasLineBreak(h.value)) throw new RangeError(`header ${name} holds a line break`);
    out += `${name}: ${h.value}\r\n`;
  }
  if (!wroteLength) out += contentLength;
  out += "\r\n";
  // One view for head and body; the head is written in place when it is ASCII (it nearly always is: then
  // it has one byte per character).
  const bytes = into.take(out.length + msg.body.length);
  const { read, written } = encoder.encodeInto(out, bytes);
  if (read === out.length && written === out.length) {
    if (msg.body.length > 0) bytes.set(msg.body, written);
    return bytes;
  }
  // Wider than ASCII: the view taken is left unused.
  const head = encoder.encode(out);
  if (msg.body.length === 0) return head;
  const wide = new Uint8Array(head.length + msg.body.length);
  wide.set(head, 0);
  wide.set(msg.body, head.length);
  return wide;
}

function sameName(h: SipHeader, canonical: string): boolean {
  return canonicalHeaderName(h.name).toLowerCase() === canonical.toLowerCase();
}

/** A copy of `msg` with its header list replaced. */
export function withHeaders<M extends SipMessage>(msg: M, headers: readonly SipHeader[]): M {
  return { ...msg, headers };
}

/**
 * A copy with a header line inserted before the first line of the same name (the top of a Via or
 * Record-Route stack, RFC 3261 16.6 steps 4 and 8), or at the top when there is none.
 */
export function prependHeader<M extends SipMessage>(msg: M, name: string, value: string): M {
  const canonical = canonicalHeaderName(name);
  const at = msg.headers.findIndex((h) => sameName(h, canonical));
  const headers = [...msg.headers];
  headers.splice(at === -1 ? 0 : at, 0, { name: canonical, value });
  return withHeaders(msg, headers);
}

/** A copy with a header line added after all the others. */
export function appendHeader<M extends SipMessage>(msg: M, name: string, value: string): M {
  return withHeaders(msg, [...msg.headers, { name: canonicalHeaderName(name), value }]);
}

/**
 * A copy without the first value of the first `name` line: the whole line when it holds one value,
 * otherwise the rest of that line stays (e.g. the top Via of `Via: a, b`, RFC 3261 16.7 step 3).
 * Returns `msg` itself when there is no such header.
 */
export function removeFirstHeaderValue<M extends SipMessage>(msg: M, name: string): M {
  const canonical = canonicalHeaderName(name);
  const at = msg.headers.findIndex((h) => sameName(h, canonical));
  const line = msg.headers[at];
  if (line === undefined) return msg;
  const headers = [...msg.headers];
  const comma = listSeparatorIndex(line.value);
  const rest = comma === undefined ? "" : line.value.slice(comma + 1).trim();
  if (rest.length === 0) headers.splice(at, 1);
  else headers[at] = { name: line.name, value: rest };
  return withHeaders(msg, headers);
}

/**
 * A copy where every `name` line is replaced by one line per value, placed where the first one was
 * (appended when there was none); an empty `values` removes the header.
 */
export function replaceHeaders<M extends SipMessage>(msg: M, name: string, values: readonly string[]): M {
  const canonical = canonicalHeaderName(name);
  const headers: SipHeader[] = [];
  let placed = false;
  for (const h of msg.headers) {
    if (!sameName(h, canonical)) headers.push(h);
    else if (!placed) {
      for (const value of values) headers.push({ name: canonical, value });
      placed = true;
    }
  }
  if (!placed) for (const value of values) headers.push({ name: canonical, value });
  return withHeaders(msg, headers);
}

/** A copy without any `name` line. */
export function removeHeaders<M extends SipMessage>(msg: M, name: string): M {
  const canonical = canonicalHeaderName(name);
  return withHeaders(
    msg,
    msg.headers.filter((h) => !sameName(h, canonical)),
  );
}
