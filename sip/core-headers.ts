/**
 * From, To and CSeq as parsed once per message. The parser reads them while it checks a datagram
 * (parser.ts) and leaves what it read with the message object it returns. The proxy's checks (dialog or
 * not, loop detection, challenge answers, transaction matching) and the worker event then read them here
 * instead of parsing the same text again. A SipMessage never changes (readonly headers; an edit makes a new
 * object), so what was read stays true for its object. A message from elsewhere (one the gateway builds, a
 * test's) is parsed on first use here and remembered the same way. The values are shared: read them, never
 * write into them (their types are readonly).
 */
import { parseCSeq, type CSeq } from "./cseq";
import { headerValue, type SipMessage } from "./message";
import { parseNameAddr, type NameAddr } from "./name-addr";

interface CoreHeaders {
  from?: NameAddr | null;
  to?: NameAddr | null;
  cseq?: CSeq | null;
}

/**
 * Kept on the message itself under a property that is not enumerable: a copy made by spreading (an edited
 * message, `{ ...msg, headers }`) does not carry it, and reads its own headers. `null`: absent or unreadable.
 * (A WeakMap by message halved the parser's throughput: bench/sip-parse.ts.)
 */
const CORE = Symbol("core headers");
type WithCore = SipMessage & { [CORE]?: CoreHeaders };

function entry(msg: SipMessage): CoreHeaders {
  const m = msg as WithCore;
  let core = m[CORE];
  if (core === undefined) {
    core = {};
    Object.defineProperty(m, CORE, { value: core, enumerable: false });
  }
  return core;
}

/** What the parser read from a message it accepted (each of the three was present and well formed). */
export function rememberCoreHeaders(msg: SipMessage, read: { readonly from: NameAddr; readonly to: NameAddr; readonly cseq: CSeq }): void {
  Object.defineProperty(msg, CORE, { value: { from: read.from, to: read.to, cseq: read.cseq } satisfies CoreHeaders, enumerable: false });
}

/** The From or To header, parsed; undefined when absent or unreadable. */
export function nameAddrOf(msg: SipMessage, name: "From" | "To"): NameAddr | undefined {
  const core = entry(msg);
  const field = name === "From" ? "from" : "to";
  let value = core[field];
  if (value === undefined) {
    value = parseNameAddr(headerValue(msg, name) ?? "") ?? null;
    core[field] = value;
  }
  return value ?? undefined;
}

/** The tag parameter of a message's From or To header; undefined when it has none, or one without a value. */
export function headerTag(msg: SipMessage, name: "From" | "To"): string | undefined {
  const tag = nameAddrOf(msg, name)?.params["tag"];
  return typeof tag === "string" ? tag : undefined;
}

/** The CSeq header, parsed; undefined when absent or unreadable. */
export function cseqOf(msg: SipMessage): CSeq | undefined {
  const core = entry(msg);
  if (core.cseq === undefined) {
    const parsed = parseCSeq(headerValue(msg, "CSeq") ?? "");
    core.cseq = parsed ?? null;
  }
  return core.cseq ?? undefined;
}
