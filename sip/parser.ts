/**
 * Bytes of one UDP datagram to a SIP message (RFC 3261 section 7, framing per 18.3), with the sanity
 * checks of section 16.3 / 8.2 that decide between accepting, answering 400/505/513, and dropping.
 * Never throws: every input maps to a ParseResult.
 */

import { parseCSeq } from "./cseq";
import { SipParseError } from "./errors";
import type { SipParseStatus } from "./errors";
import { canonicalHeaderName } from "./header-names";
import { parseMaxForwards } from "./max-forwards";
import type { SipHeader, SipMessage } from "./message";
import { parseNameAddr } from "./name-addr";
import { isToken, isWsp, parseBoundedInt } from "./token";
import { parseSipUri } from "./uri";
import { parseVia } from "./via";

/** Limits on what is accepted. */
export interface ParseOptions {
  /** Largest datagram accepted, in bytes; larger ones get 513 (default 65536). */
  readonly maxBytes?: number;
  /** Most header fields accepted; more get 400 "Too many headers" (default 256). */
  readonly maxHeaders?: number;
}

/** What is known of a request that failed a check but can still be answered. */
export interface PartialRequest {
  readonly method: string;
  readonly uri: string;
  /** Every well-formed header line, in order (the reply copies Via, From, To, Call-ID, CSeq from here). */
  readonly headers: readonly SipHeader[];
}

/**
 * The outcome of parsing a datagram: a message; a keep-alive (only CR, LF or whitespace) to ignore
 * silently; or an error, with what is needed to answer it when the request is answerable.
 */
export type ParseResult =
  | { readonly ok: true; readonly message: SipMessage }
  | { readonly ok: false; readonly keepalive: true }
  | {
      readonly ok: false;
      readonly keepalive: false;
      readonly error: SipParseError;
      readonly partial?: PartialRequest;
    };

const DEFAULT_MAX_BYTES = 65_536;
const DEFAULT_MAX_HEADERS = 256;
const CR = 0x0d;
const LF = 0x0a;

const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

interface Failure {
  readonly status: SipParseStatus;
  readonly reason: string;
}

type StartLine =
  | { readonly kind: "request"; readonly method: string; readonly uri: string; readonly problem?: Failure }
  | { readonly kind: "response"; readonly status: number; readonly reason: string; readonly problem?: Failure };

const SIP_VERSION = /^SIP\/[0-9]+\.[0-9]+$/i;
const STATUS_LINE = /^(SIP\/[0-9]+\.[0-9]+) ([1-6][0-9][0-9])(?: (.*))?$/is;
const URI_SHAPE = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"]+$/;

function fail(status: SipParseStatus, reason: string): Failure {
  return { status, reason };
}

function isSip20(version: string): boolean {
  return version.length === 7 && version.toUpperCase() === "SIP/2.0";
}

/** Parses the start line; undefined when it is neither a request nor a response line at all. */
function parseStartLine(line: string): StartLine | undefined {
  if (line.length > 3 && line.slice(0, 4).toUpperCase() === "SIP/") {
    const m = STATUS_LINE.exec(line);
    if (m === null) return undefined;
    const [, version = "", code = "", reason = ""] = m;
    const problem = isSip20(version) ? undefined : fail(505, "Version Not Supported");
    return { kind: "response", status: Number(code), reason, ...(problem && { problem }) };
  }
  const strict = line.split(" ");
  if (strict.length === 3 && !line.includes("\t")) {
    const [method = "", uri = "", version = ""] = strict;
    if (isToken(method) && isSip20(version)) {
      return isValidRequestUri(uri) ? { kind: "request", method, uri } : { kind: "request", method, uri, problem: fail(400, "Bad Request-URI") };
    }
  }
  // Otherwise split leniently, to know the method and URI for the 400 even when the spacing is wrong
  // (RFC 4475 "lwsstart", "trws").
  const words = line.split(/[ \t]+/).filter((w) => w.length > 0);
  const method = words[0] ?? "";
  const version = words[words.length - 1] ?? "";
  if (words.length < 3 || !isToken(method) || !SIP_VERSION.test(version)) return undefined;
  const uri = words.slice(1, -1).join(" ");
  let problem: Failure | undefined;
  if (!isSip20(version)) problem = fail(505, "Version Not Supported");
  else if (words.length !== 3 || line !== `${method} ${uri} ${version}`) problem = fail(400, "Bad Request-Line");
  else if (!isValidRequestUri(uri)) problem = fail(400, "Bad Request-URI");
  return { kind: "request", method, uri, ...(problem && { problem }) };
}

/** Any absolute URI; sip:/sips: ones must parse and carry no headers (RFC 3261 19.1.1, table 1). */
function isValidRequestUri(uri: string): boolean {
  if (!URI_SHAPE.test(uri)) return false;
  const lower = uri.slice(0, 5).toLowerCase();
  if (!lower.startsWith("sip:") && !lower.startsWith("sips:")) return true;
  const parsed = parseSipUri(uri);
  return parsed !== undefined && Object.keys(parsed.headers).length === 0;
}

function trimWsp(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isWsp(s.charCodeAt(a))) a++;
  while (b > a && isWsp(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

interface HeaderBlock {
  readonly headers: SipHeader[];
  readonly problem?: Failure;
}

/** Header lines after the start line: unfolds continuations, canonicalises names, keeps every line. */
function parseHeaderLines(lines: readonly string[], maxHeaders: number): HeaderBlock {
  const headers: SipHeader[] = [];
  let problem: Failure | undefined;
  for (let k = 1; k < lines.length; k++) {
    const line = lines[k] ?? "";
    if (line.length === 0) continue; // only the last line of a datagram without its empty line
    if (isWsp(line.charCodeAt(0))) {
      // A continuation line with nothing to continue; a continuation of a good line was consumed below.
      problem ??= fail(400, "Bad header line");
      continue;
    }
    const colon = line.indexOf(":");
    const name = colon === -1 ? "" : trimWsp(line.slice(0, colon));
    if (colon === -1 || !isToken(name) || line.includes("\r")) {
      problem ??= fail(400, "Bad header line");
      while (isWsp((lines[k + 1] ?? "").charCodeAt(0))) k++;
      continue;
    }
    let value = line.slice(colon + 1);
    // RFC 3261 7.3.1: a line starting with whitespace continues the previous one; the line break and
    // the whitespace around it become a single SP.
    while (k + 1 < lines.length && isWsp((lines[k + 1] ?? "").charCodeAt(0))) {
      k++;
      const cont = trimWsp(lines[k] ?? "");
      if (cont.includes("\r")) problem ??= fail(400, "Bad header line");
      else if (cont.length > 0) value = `${trimWsp(value)} ${cont}`;
    }
    if (headers.length >= maxHeaders) {
      problem ??= fail(400, "Too many headers");
      break;
    }
    headers.push({ name: canonicalHeaderName(name), value: trimWsp(value) });
  }
  return problem === undefined ? { headers } : { headers, problem };
}

interface Singles {
  via?: string;
  callId: string[];
  from: string[];
  to: string[];
  cseq: string[];
  maxForwards: string[];
  contentLength: string[];
}

function collect(headers: readonly SipHeader[]): Singles {
  const s: Singles = { callId: [], from: [], to: [], cseq: [], maxForwards: [], contentLength: [] };
  for (const h of headers) {
    switch (h.name) {
      case "Via":
        s.via ??= h.value;
        break;
      case "Call-ID":
        s.callId.push(h.value);
        break;
      case "From":
        s.from.push(h.value);
        break;
      case "To":
        s.to.push(h.value);
        break;
      case "CSeq":
        s.cseq.push(h.value);
        break;
      case "Max-Forwards":
        s.maxForwards.push(h.value);
        break;
      case "Content-Length":
        s.contentLength.push(h.value);
        break;
      default:
        break;
    }
  }
  return s;
}

/** A failure unless exactly one line of a single-valued header is present (RFC 3261 20; RFC 4475 "multi01"). */
function single(values: readonly string[], name: string): Failure | undefined {
  if (values.length === 0) return fail(400, `Missing ${name}`);
  if (values.length > 1) return fail(400, `Multiple ${name}`);
  return undefined;
}

/** Mandatory headers and the scalar ones the transaction layer relies on (RFC 3261 8.1.1, 16.3). */
function checkHeaders(s: Singles, start: StartLine): Failure | undefined {
  if (s.via === undefined) return fail(400, "Missing Via");
  if (parseVia(s.via).length === 0) return fail(400, "Bad Via");
  const callId = single(s.callId, "Call-ID");
  if (callId) return callId;
  const id = s.callId[0] ?? "";
  if (id.length === 0 || /[\s\x00-\x1f\x7f]/.test(id)) return fail(400, "Bad Call-ID");
  const from = single(s.from, "From");
  if (from) return from;
  if (parseNameAddr(s.from[0] ?? "") === undefined) return fail(400, "Bad From");
  const to = single(s.to, "To");
  if (to) return to;
  if (parseNameAddr(s.to[0] ?? "") === undefined) return fail(400, "Bad To");
  const cseqMissing = single(s.cseq, "CSeq");
  if (cseqMissing) return cseqMissing;
  const cseq = parseCSeq(s.cseq[0] ?? "");
  if (cseq === undefined) return fail(400, "Bad CSeq");
  if (start.kind === "request") {
    // RFC 3261 8.2: the CSeq method MUST match the request method (ACK and CANCEL carry their own).
    if (cseq.method !== start.method) return fail(400, "CSeq method mismatch");
    if (s.maxForwards.length > 1) return fail(400, "Multiple Max-Forwards");
    const mf = s.maxForwards[0];
    if (mf !== undefined && parseMaxForwards(mf) === undefined) return fail(400, "Bad Max-Forwards");
  }
  return undefined;
}

/** The declared Content-Length, undefined when absent; a Failure when unusable. */
function contentLength(values: readonly string[]): number | undefined | Failure {
  if (values.length === 0) return undefined;
  const first = values[0] ?? "";
  if (values.some((v) => v !== first)) return fail(400, "Bad Content-Length");
  return parseBoundedInt(first, 0x7fffffff) ?? fail(400, "Bad Content-Length");
}

function isFailure(x: unknown): x is Failure {
  return typeof x === "object" && x !== null && "status" in x;
}

type ErrorResult = Extract<ParseResult, { keepalive: false }>;

function errorResult(f: Failure, start?: StartLine, headers?: readonly SipHeader[]): ErrorResult {
  let partial: PartialRequest | undefined;
  if (start?.kind === "request" && headers !== undefined) {
    const via = headers.find((h) => h.name === "Via");
    if (via !== undefined && parseVia(via.value).length > 0) partial = { method: start.method, uri: start.uri, headers };
  }
  // A request without a usable top Via cannot be answered (RFC 3261 18.2.2 routes replies by Via);
  // an ACK is never answered (RFC 3261 17.2.1); a response never is.
  const replyable = partial !== undefined && partial.method !== "ACK";
  const error = new SipParseError(f.status, f.reason, { replyable });
  return partial === undefined ? { ok: false, keepalive: false, error } : { ok: false, keepalive: false, error, partial };
}

function parse(bytes: Uint8Array, options: ParseOptions): ParseResult {
  const len = bytes.length;
  let start = 0;
  while (start < len && (bytes[start] === CR || bytes[start] === LF)) start++;
  let i = start;
  while (i < len && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === CR || bytes[i] === LF)) i++;
  if (i === len) return { ok: false, keepalive: true };

  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const tooLarge = len > maxBytes;
  const limit = tooLarge ? maxBytes : len;

  // Find the empty line that ends the header section; bare LF line ends are tolerated.
  let headEnd = limit;
  let bodyStart = limit;
  let blankLine = false;
  for (let pos = start; pos < limit; ) {
    const lf = bytes.indexOf(LF, pos);
    if (lf === -1 || lf >= limit) break;
    if (lf === pos || (lf === pos + 1 && bytes[pos] === CR)) {
      headEnd = pos;
      bodyStart = lf + 1;
      blankLine = true;
      break;
    }
    pos = lf + 1;
  }
  if (tooLarge && !blankLine) return errorResult(fail(513, "Message Too Large"));

  const head = decoder.decode(bytes.subarray(start, headEnd));
  const lines = head.split("\n");
  for (let k = 0; k < lines.length; k++) {
    const l = lines[k] ?? "";
    if (l.charCodeAt(l.length - 1) === CR) lines[k] = l.slice(0, -1);
  }
  const firstLine = lines[0] ?? "";
  const startLine = firstLine.includes("\r") ? undefined : parseStartLine(firstLine);
  if (startLine === undefined) {
    return errorResult(fail(400, firstLine.toUpperCase().startsWith("SIP/") ? "Bad Status-Line" : "Bad Request-Line"));
  }

  const block = parseHeaderLines(lines, options.maxHeaders ?? DEFAULT_MAX_HEADERS);
  const { headers } = block;
  if (tooLarge) return errorResult(fail(513, "Message Too Large"), startLine, headers);
  if (startLine.problem) return errorResult(startLine.problem, startLine, headers);
  if (block.problem) return errorResult(block.problem, startLine, headers);
  // The empty line is mandatory (RFC 3261 7); without it the datagram may have been cut short, and a
  // REGISTER cut before its Contact would read as a query.
  if (!blankLine) return errorResult(fail(400, "Truncated message"), startLine, headers);
  const singles = collect(headers);
  const problem = checkHeaders(singles, startLine);
  if (problem) return errorResult(problem, startLine, headers);

  // RFC 3261 18.3: over UDP the body is Content-Length bytes; bytes beyond it are discarded, fewer is an
  // error; without Content-Length the body runs to the end of the datagram.
  const declared = contentLength(singles.contentLength);
  if (isFailure(declared)) return errorResult(declared, startLine, headers);
  const available = len - bodyStart;
  if (declared !== undefined && declared > available) {
    return errorResult(fail(400, "Content-Length mismatch"), startLine, headers);
  }
  const bodyLength = declared ?? available;
  const body = bodyLength === 0 ? "" : decoder.decode(bytes.subarray(bodyStart, bodyStart + bodyLength));

  const message: SipMessage =
    startLine.kind === "request"
      ? { kind: "request", method: startLine.method, uri: startLine.uri, headers, body }
      : { kind: "response", status: startLine.status, reason: startLine.reason, headers, body };
  return { ok: true, message };
}

/**
 * Parses one datagram. Keep-alives (only CR/LF/whitespace) give `{ ok: false, keepalive: true }`; a
 * failure carries a SipParseError (status, reason, replyable) and, for an answerable request, `partial`.
 */
export function parseMessage(bytes: Uint8Array, options: ParseOptions = {}): ParseResult {
  try {
    return parse(bytes, options);
  } catch {
    // Not expected: the checks above are total. Kept so a defect can never take the gateway down.
    return { ok: false, keepalive: false, error: new SipParseError(400, "Unparseable message") };
  }
}
