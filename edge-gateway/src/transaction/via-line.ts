/**
 * The one place that splits the top Via value off a message (RFC 3261 7.3.1: a Via line may carry several
 * comma-separated values, and a quoted generic-param may hold a comma). Used to strip the gateway's own Via
 * from a response (16.7 step 3), to copy the top Via into an ACK or CANCEL (17.1.1.3, 9.1), and to rewrite
 * the top Via of a request (18.2.1 received/rport).
 */
import type { SipHeader, SipMessage } from "../../../sip/message";

/** The first element of a Via header value, and the rest as written (undefined when there is none). */
export function splitViaValue(value: string): { top: string; rest: string | undefined } {
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (quoted && ch === "\\") i++;
    else if (ch === '"') quoted = !quoted;
    else if (ch === "," && !quoted) {
      const rest = value.slice(i + 1).trim();
      return { top: value.slice(0, i).trim(), rest: rest === "" ? undefined : rest };
    }
  }
  return { top: value.trim(), rest: undefined };
}

/** The first element of a Via header value. */
export function firstViaElement(value: string): string {
  return splitViaValue(value).top;
}

/** The top Via value of a message as written, or undefined. */
export function topViaText(msg: SipMessage): string | undefined {
  const line = msg.headers.find((h) => h.name === "Via");
  return line === undefined ? undefined : splitViaValue(line.value).top;
}

/**
 * The message with its top Via value replaced by `value` (undefined: removed), other values of that line
 * kept as written (other hops' values are not ours to rewrite).
 */
export function replaceTopVia<M extends SipMessage>(msg: M, value: string | undefined): M {
  const index = msg.headers.findIndex((h) => h.name === "Via");
  const line = msg.headers[index];
  if (!line) return msg;
  const { rest } = splitViaValue(line.value);
  const headers: SipHeader[] = [...msg.headers];
  const joined = value === undefined ? rest : rest === undefined ? value : `${value}, ${rest}`;
  if (joined === undefined) headers.splice(index, 1);
  else headers[index] = { name: "Via", value: joined };
  return { ...msg, headers };
}

/** The message without its top Via value (a response on its way back, 16.7 step 3). */
export function stripTopVia<M extends SipMessage>(msg: M): M {
  return replaceTopVia(msg, undefined);
}
