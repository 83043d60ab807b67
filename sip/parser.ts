/**
 * Bytes of one UDP datagram to a SIP message (RFC 3261 section 7, framing per 18.3), with the sanity
 * checks of section 16.3 / 8.2 that decide between accepting, answering 400/414/416/505/513, and dropping.
 * Never throws: every input maps to a ParseResult.
 *
 * Cost is linear in the datagram: every scan moves forward, no regular expression can backtrack over an
 * unbounded run, and the limits below (ParseLimits) bound what later stages (proxy, event builder) iterate.
 */

import { parseCSeq, type CSeq } from "./cseq";
import { rememberCoreHeaders } from "./core-headers";
import { SipParseError } from "./errors";
import type { SipParseStatus } from "./errors";
import { canonicalHeaderName } from "./header-names";
import { parseMaxForwards } from "./max-forwards";
import { EMPTY_BODY } from "./message";
import type { SipHeader, SipMessage } from "./message";
import { countListValues, parseContactHeader, parseNameAddr, splitHeaderList, type NameAddr } from "./name-addr";
import { isToken, isWsp, parseBoundedInt } from "./token";
import { parseSipUri } from "./uri";
import { parseTopVia, parseVia, RFC3261_BRANCH_COOKIE, type Via } from "./via";

/**
 * Limits on what is accepted; the gateway reads them from its configuration (the grammar never reads the
 * environment). Each is enforced before the work it bounds, so a hostile datagram costs at most their sum.
 */
export interface ParseLimits {
  /** Largest datagram accepted, in bytes; larger ones get 513 Message Too Large (RFC 3261 21.5.14). */
  readonly maxMessageBytes: number;
  /**
   * Longest header field (name, colon and value, folding included) and start line, in characters; a longer
   * header gets 400 "Header too long", a longer Request-Line 414 Request-URI Too Long (21.4.12).
   */
  readonly maxHeaderLineBytes: number;
  /** Most header fields; more get 400 "Too many headers". */
  readonly maxHeaders: number;
  /**
   * Most values of one list header (Via, Route, Record-Route, Contact, Path), summed over its lines; more
   * get 400 "Too many <Name> values".
   */
  readonly maxListValues: number;
}

/**
 * Defaults. 16 KiB per datagram: RFC 3261 18.1.1 sends anything above 1300 bytes over a congestion-controlled
 * transport when it can, and the largest UDP messages seen in practice (video SDP with ICE candidates,
 * multipart S/MIME bodies) stay within 4-8 KiB; 16 KiB leaves twice that while keeping the work per datagram a
 * quarter of the 65,507-byte UDP maximum. 8 KiB per header holds an RFC 8224 Identity or a long Contact list;
 * 128 headers are four times a busy INVITE; 64 values cover a registrar's Contact list and any sane Via stack
 * (RFC 4475 "longreq" has 34 Vias).
 */
export const DEFAULT_PARSE_LIMITS: ParseLimits = {
  maxMessageBytes: 16_384,
  maxHeaderLineBytes: 8_192,
  maxHeaders: 128,
  maxListValues: 64,
};

/** The largest payload of one UDP datagram over IPv4 (65,535 - 8 UDP - 20 IP header bytes). */
export const MAX_UDP_PAYLOAD = 65_507;

/** Headers whose comma-separated values the proxy walks one by one: their count is capped. */
const LIST_HEADERS: readonly string[] = ["Via", "Route", "Record-Route", "Contact", "Path"];

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
  | {
      readonly ok: true;
      readonly message: SipMessage;
      /** The top Via, parsed while checking the message: callers need not parse it again. */
      readonly topVia: Via;
    }
  | { readonly ok: false; readonly keepalive: true }
  | {
      readonly ok: false;
      readonly keepalive: false;
      readonly error: SipParseError;
      readonly partial?: PartialRequest;
    };

const CR = 0x0d;
const LF = 0x0a;

const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

interface Failure {
  readonly status: SipParseStatus;
  readonly reason: string;
}

type StartLine =
  | {
      readonly kind: "request";
      readonly method: string;
      readonly uri: string;
      readonly problem?: Failure;
      /** The Request-URI's scheme is not sip, sips or tel (416, after the syntax checks: RFC 3261 16.3). */
      readonly unsupportedScheme?: boolean;
    }
  | { readonly kind: "response"; readonly status: number; readonly reason: string; readonly problem?: Failure };

const SIP_VERSION = /^SIP\/[0-9]+\.[0-9]+$/i;
const STATUS_LINE = /^(SIP\/[0-9]+\.[0-9]+) ([1-6][0-9][0-9])(?: (.*))?$/is;
const URI_SHAPE = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"]+$/;

function fail(status: SipParseStatus, reason: string): Failure {
  return { status, reason };
}

/** True when `line` starts with "SIP/" in any case (a Status-Line), without allocating. */
function startsWithSipSlash(line: string): boolean {
  return (
    line.length > 3 &&
    (line.charCodeAt(0) | 0x20) === 0x73 &&
    (line.charCodeAt(1) | 0x20) === 0x69 &&
    (line.charCodeAt(2) | 0x20) === 0x70 &&
    line.charCodeAt(3) === 0x2f
  );
}

function isSip20(version: string): boolean {
  return version === "SIP/2.0" || (version.length === 7 && version.toUpperCase() === "SIP/2.0");
}

/** Parses the start line; undefined when it is neither a request nor a response line at all. */
function parseStartLine(line: string, maxLength: number): StartLine | undefined {
  if (line.length > maxLength) {
    // Too long to look at: answerable only as a request whose method and version are where they belong.
    const sp = line.indexOf(" ");
    const method = sp === -1 ? "" : line.slice(0, sp);
    if (!isToken(method) || !line.endsWith(" SIP/2.0")) return undefined;
    return { kind: "request", method, uri: "", problem: fail(414, "Request-URI Too Long") };
  }
  if (startsWithSipSlash(line)) {
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
      if (!isValidRequestUri(uri)) return { kind: "request", method, uri, problem: fail(400, "Bad Request-URI") };
      return isUnderstoodScheme(uri) ? { kind: "request", method, uri } : { kind: "request", method, uri, unsupportedScheme: true };
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

function isSipScheme(uri: string): boolean {
  const lower = uri.slice(0, 5).toLowerCase();
  return lower.startsWith("sip:") || lower.startsWith("sips:");
}

/**
 * Request-URI schemes the gateway routes: sip and sips, and tel (RFC 3966), which phones dial and the
 * worker places by the caller's domain. Any other gets 416 (RFC 3261 16.3 step 2).
 */
function isUnderstoodScheme(uri: string): boolean {
  return isSipScheme(uri) || uri.slice(0, 4).toLowerCase() === "tel:";
}

/** Any absolute URI; sip:/sips: ones must parse and carry no headers (RFC 3261 19.1.1, table 1). */
function isValidRequestUri(uri: string): boolean {
  if (!URI_SHAPE.test(uri)) return false;
  if (!isSipScheme(uri)) return true;
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

/** `s` from `from` on, without blanks at either end, in one slice. */
function trimmedFrom(s: string, from: number): string {
  let b = s.length;
  while (from < b && isWsp(s.charCodeAt(from))) from++;
  while (b > from && isWsp(s.charCodeAt(b - 1))) b--;
  return s.slice(from, b);
}

/** How many times `ch` occurs in `s`. */
function countOf(s: string, ch: string): number {
  let n = 0;
  for (let i = s.indexOf(ch); i !== -1; i = s.indexOf(ch, i + 1)) n++;
  return n;
}

interface HeaderBlock {
  readonly headers: SipHeader[];
  readonly problem?: Failure;
}

/**
 * Header lines after the start line: unfolds continuations, canonicalises names, keeps every line. Each
 * folded field is gathered in a list and joined once, so a field of many short continuation lines costs
 * its length, not its length times its line count.
 */
function parseHeaderLines(lines: readonly string[], limits: ParseLimits, strayCr: boolean): HeaderBlock {
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
    let nameEnd = colon;
    while (nameEnd > 0 && isWsp(line.charCodeAt(nameEnd - 1))) nameEnd--;
    const name = colon === -1 ? "" : line.slice(0, nameEnd);
    if (colon === -1 || !isToken(name) || (strayCr && line.includes("\r"))) {
      problem ??= fail(400, "Bad header line");
      while (isWsp((lines[k + 1] ?? "").charCodeAt(0))) k++;
      continue;
    }
    // RFC 3261 7.3.1: a line starting with whitespace continues the previous one; the line break and
    // the whitespace around it become a single SP.
    let length = line.length;
    let parts: string[] | undefined;
    while (k + 1 < lines.length && isWsp((lines[k + 1] ?? "").charCodeAt(0))) {
      k++;
      const raw = lines[k] ?? "";
      length += raw.length;
      if (length > limits.maxHeaderLineBytes) continue; // refused below; keep skipping its lines
      const cont = trimWsp(raw);
      if (strayCr && cont.includes("\r")) problem ??= fail(400, "Bad header line");
      else if (cont.length > 0) (parts ??= [trimWsp(line.slice(colon + 1))]).push(cont);
    }
    if (length > limits.maxHeaderLineBytes) {
      problem ??= fail(400, "Header too long");
      continue;
    }
    if (headers.length >= limits.maxHeaders) {
      problem ??= fail(400, "Too many headers");
      break;
    }
    const value = parts === undefined ? trimmedFrom(line, colon + 1) : parts.filter((p) => p.length > 0).join(" ");
    headers.push({ name: canonicalHeaderName(name), value });
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
  contacts: string[];
}

/** A failure when a list header holds more values than `max` over all its lines. */
function checkListCounts(headers: readonly SipHeader[], max: number): Failure | undefined {
  const counts = [0, 0, 0, 0, 0];
  for (const h of headers) {
    const slot = LIST_HEADERS.indexOf(h.name);
    if (slot === -1) continue;
    const before = counts[slot] ?? 0;
    // A line without a comma holds one value (or none): no need to walk it.
    const total = before + (h.value.includes(",") ? countListValues(h.value, max - before) : 1);
    if (total > max) return fail(400, `Too many ${h.name} values`);
    counts[slot] = total;
  }
  return undefined;
}

function collect(headers: readonly SipHeader[]): Singles {
  const s: Singles = { callId: [], from: [], to: [], cseq: [], maxForwards: [], contentLength: [], contacts: [] };
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
      case "Contact":
        s.contacts.push(h.value);
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

/** What checking the core headers read: kept so that nobody parses them again (core-headers.ts). */
interface CheckedHeaders {
  readonly top: Via;
  readonly from: NameAddr;
  readonly to: NameAddr;
  readonly cseq: CSeq;
}

/**
 * Mandatory headers and the scalar ones the transaction layer relies on (RFC 3261 8.1.1, 16.3). Returns the
 * top Via, From, To and CSeq as read when all is well.
 */
function checkHeaders(s: Singles, start: StartLine): Failure | CheckedHeaders {
  if (s.via === undefined) return fail(400, "Missing Via");
  const vias = parseVia(s.via);
  const top = vias[0];
  if (top === undefined) return fail(400, "Bad Via");
  // RFC 4475 3.2.1 "badbranch": the magic cookie alone claims RFC 3261 transaction matching and gives no
  // identifier; answered 400 statelessly, from here, rather than matched as a transaction of its own.
  if (start.kind === "request" && top.branch === RFC3261_BRANCH_COOKIE) return fail(400, "Bad Via Branch");
  const callId = single(s.callId, "Call-ID");
  if (callId) return callId;
  const id = s.callId[0] ?? "";
  if (id.length === 0 || /[\s\x00-\x1f\x7f]/.test(id)) return fail(400, "Bad Call-ID");
  const fromMissing = single(s.from, "From");
  if (fromMissing) return fromMissing;
  const from = parseNameAddr(s.from[0] ?? "");
  if (from === undefined) return fail(400, "Bad From");
  const toMissing = single(s.to, "To");
  if (toMissing) return toMissing;
  const to = parseNameAddr(s.to[0] ?? "");
  if (to === undefined) return fail(400, "Bad To");
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
    // A REGISTER's Contacts are its meaning: one dropped as unreadable would turn an update into a query
    // or a removal (RFC 4475 3.1.2.13 "regbadct": answered 400).
    // A `*` among other values is left to the registrar logic (RFC 3261 10.2.2), not refused as syntax.
    if (start.method === "REGISTER" && !s.contacts.every(isContactLine)) return fail(400, "Bad Contact");
  }
  return { top, from, to, cseq };
}

function isContactLine(value: string): boolean {
  if (parseContactHeader(value) !== undefined) return true;
  const items = splitHeaderList(value);
  return items.length > 0 && items.every((item) => item === "*" || parseNameAddr(item) !== undefined);
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
    if (via !== undefined && parseTopVia(via.value) !== undefined) partial = { method: start.method, uri: start.uri, headers };
  }
  // A request without a usable top Via cannot be answered (RFC 3261 18.2.2 routes replies by Via);
  // an ACK is never answered (RFC 3261 17.2.1); a response never is.
  const replyable = partial !== undefined && partial.method !== "ACK";
  const error = new SipParseError(f.status, f.reason, { replyable });
  return partial === undefined ? { ok: false, keepalive: false, error } : { ok: false, keepalive: false, error, partial };
}

function parse(bytes: Uint8Array, limits: ParseLimits): ParseResult {
  const len = bytes.length;
  let start = 0;
  while (start < len && (bytes[start] === CR || bytes[start] === LF)) start++;
  let i = start;
  while (i < len && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === CR || bytes[i] === LF)) i++;
  if (i === len) return { ok: false, keepalive: true };

  const tooLarge = len > limits.maxMessageBytes;
  const limit = tooLarge ? limits.maxMessageBytes : len;

  // Find the empty line that ends the header section; bare LF line ends are tolerated.
  let headEnd = limit;
  let bodyStart = limit;
  let blankLine = false;
  for (let pos = bytes.indexOf(LF, start); pos !== -1 && pos < limit; pos = bytes.indexOf(LF, pos + 1)) {
    // A line feed followed by an empty line: LF LF, or LF CR LF.
    const next = bytes[pos + 1];
    if (next === LF && pos + 1 < limit) {
      headEnd = pos + 1;
      bodyStart = pos + 2;
      blankLine = true;
      break;
    }
    if (next === CR && bytes[pos + 2] === LF && pos + 2 < limit) {
      headEnd = pos + 1;
      bodyStart = pos + 3;
      blankLine = true;
      break;
    }
  }
  if (tooLarge && !blankLine) return errorResult(fail(513, "Message Too Large"));

  // The head without its last line end; lines split at LF, a CR before it dropped.
  let headStop = headEnd;
  if (blankLine) {
    headStop--; // the LF that ends the last header line
    if (headStop > start && bytes[headStop - 1] === CR) headStop--;
  }
  const head = decoder.decode(bytes.subarray(start, headStop));
  const lines = head.split("\n");
  let stripped = 0;
  for (let k = 0; k < lines.length; k++) {
    const l = lines[k] ?? "";
    if (l.charCodeAt(l.length - 1) === CR) {
      lines[k] = l.slice(0, -1);
      stripped++;
    }
  }
  // Any CR left is inside a line (RFC 3261 7: a bare CR is no line end); lines are checked one by one only then.
  const strayCr = countOf(head, "\r") > stripped;
  const firstLine = lines[0] ?? "";
  const startLine = strayCr && firstLine.includes("\r") ? undefined : parseStartLine(firstLine, limits.maxHeaderLineBytes);
  if (startLine === undefined) {
    return errorResult(fail(400, startsWithSipSlash(firstLine) ? "Bad Status-Line" : "Bad Request-Line"));
  }

  const block = parseHeaderLines(lines, limits, strayCr);
  const { headers } = block;
  if (tooLarge) return errorResult(fail(513, "Message Too Large"), startLine, headers);
  if (startLine.problem) return errorResult(startLine.problem, startLine, headers);
  if (block.problem) return errorResult(block.problem, startLine, headers);
  // The empty line is mandatory (RFC 3261 7); without it the datagram may have been cut short, and a
  // REGISTER cut before its Contact would read as a query.
  if (!blankLine) return errorResult(fail(400, "Truncated message"), startLine, headers);
  const tooMany = checkListCounts(headers, limits.maxListValues);
  if (tooMany) return errorResult(tooMany, startLine, headers);
  const singles = collect(headers);
  const checked = checkHeaders(singles, startLine);
  if (isFailure(checked)) return errorResult(checked, startLine, headers);

  // RFC 3261 18.3: over UDP the body is Content-Length bytes; bytes beyond it are discarded, fewer is an
  // error; without Content-Length the body runs to the end of the datagram.
  const declared = contentLength(singles.contentLength);
  if (isFailure(declared)) return errorResult(declared, startLine, headers);
  const available = len - bodyStart;
  if (declared !== undefined && declared > available) {
    return errorResult(fail(400, "Content-Length mismatch"), startLine, headers);
  }
  // RFC 3261 16.3 step 2: a Request-URI scheme the proxy does not understand gets 416, once the message
  // is known to be well formed (RFC 4475 3.3.2 "unkscm", 3.3.3 "novelsc").
  if (startLine.kind === "request" && startLine.unsupportedScheme) {
    return errorResult(fail(416, "Unsupported URI Scheme"), startLine, headers);
  }
  const bodyLength = declared ?? available;
  // The body stays bytes (RFC 3261 7.4): a view of the datagram's, not a copy. A copy is a backing store of
  // its own per message, which costs more than the parse where the engine frees it on another core
  // (docs/benchmarks.md); the view keeps the datagram's head alive with the message, a few hundred bytes.
  const body = bodyLength === 0 ? EMPTY_BODY : bytes.subarray(bodyStart, bodyStart + bodyLength);

  const message: SipMessage =
    startLine.kind === "request"
      ? { kind: "request", method: startLine.method, uri: startLine.uri, headers, body }
      : { kind: "response", status: startLine.status, reason: startLine.reason, headers, body };
  rememberCoreHeaders(message, checked);
  return { ok: true, message, topVia: checked.top };
}

/** Complete limits for `limits`, memoised per object: the gateway passes the same one for every datagram. */
const completed = new WeakMap<Partial<ParseLimits>, ParseLimits>();
function complete(limits: Partial<ParseLimits>): ParseLimits {
  if (limits === DEFAULT_PARSE_LIMITS) return DEFAULT_PARSE_LIMITS;
  let full = completed.get(limits);
  if (full === undefined) {
    full = { ...DEFAULT_PARSE_LIMITS, ...limits };
    completed.set(limits, full);
  }
  return full;
}

/**
 * Parses one datagram under `limits` (DEFAULT_PARSE_LIMITS for any left out). Keep-alives (only
 * CR/LF/whitespace) give `{ ok: false, keepalive: true }`; a failure carries a SipParseError (status,
 * reason, replyable) and, for an answerable request, `partial`.
 *
 * The message's body is a view of `bytes`: hand each datagram in an array of its own (as Node's dgram
 * gives it) and never write into it afterwards.
 */
export function parseMessage(bytes: Uint8Array, limits: Partial<ParseLimits> = DEFAULT_PARSE_LIMITS): ParseResult {
  try {
    return parse(bytes, complete(limits));
  } catch {
    // Not expected: the checks above are total. Kept so a defect can never take the gateway down.
    return { ok: false, keepalive: false, error: new SipParseError(400, "Unparseable message") };
  }
}
