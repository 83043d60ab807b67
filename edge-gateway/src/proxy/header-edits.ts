/**
 * Header edits of a decision (contract HeaderEdits) applied to a message: remove every instance of a name,
 * set (replace every instance by these values, one line each, at the place of the first one), then add.
 */
import type { HeaderEdits } from "../../../contract/v1";
import { canonicalHeaderName } from "../../../sip/header-names";
import type { SipHeader } from "../../../sip/message";
import { isToken } from "../../../sip/token";

/** Header names the worker may not touch: they are the proxy's own mechanics. */
const PROTECTED = new Set(["via", "call-id", "cseq", "from", "to", "max-forwards", "content-length", "record-route", "route"]);

export class HeaderEditError extends Error {
  override readonly name = "HeaderEditError";
}

function lower(name: string): string {
  return canonicalHeaderName(name).toLowerCase();
}

/** Returns the edited header list; throws HeaderEditError when an edit touches a protected header. */
export function applyHeaderEdits(headers: readonly SipHeader[], edits: HeaderEdits | undefined): SipHeader[] {
  if (!edits) return [...headers];
  const touched = [...edits.remove, ...edits.set.map(([n]) => n), ...edits.add.map(([n]) => n)];
  for (const n of touched) {
    if (PROTECTED.has(lower(n))) throw new HeaderEditError(`header ${n} is managed by the gateway`);
    if (!isToken(n)) throw new HeaderEditError(`header name ${JSON.stringify(n)} is not a token`);
  }
  // Refused here, as a bad decision, rather than failing later in the serializer as a transport error.
  for (const v of [...edits.set.flatMap(([, vs]) => vs), ...edits.add.map(([, v]) => v)]) {
    if (/[\r\n]/.test(v)) throw new HeaderEditError("header value holds a line break");
  }
  const removed = new Set(edits.remove.map(lower));
  let out = headers.filter((h) => !removed.has(h.name.toLowerCase()));
  for (const [name, values] of edits.set) {
    const canon = canonicalHeaderName(name);
    const l = canon.toLowerCase();
    const at = out.findIndex((h) => h.name.toLowerCase() === l);
    const rest = out.filter((h) => h.name.toLowerCase() !== l);
    const lines = values.map((value) => ({ name: canon, value }));
    const pos = at < 0 ? rest.length : at;
    out = [...rest.slice(0, pos), ...lines, ...rest.slice(pos)];
  }
  for (const [name, value] of edits.add) out.push({ name: canonicalHeaderName(name), value });
  return out;
}
