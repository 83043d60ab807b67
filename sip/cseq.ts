/**
 * The CSeq header (RFC 3261 section 20.16): a 32-bit sequence number and the request method.
 */

import { isToken, isWsp, parseBoundedInt } from "./token";

/** A parsed CSeq value. */
export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

/** Largest CSeq number: it "MUST be expressible as a 32-bit unsigned integer" (RFC 3261 20.16). */
export const MAX_CSEQ = 0xffffffff;

/** Parses `1*DIGIT LWS Method`; undefined when the number overflows 32 bits or the method is not a token. */
export function parseCSeq(value: string): CSeq | undefined {
  // 1*DIGIT LWS Method, blanks around: one scan, no regular expression.
  let i = 0;
  const n = value.length;
  while (i < n && isWsp(value.charCodeAt(i))) i++;
  const numStart = i;
  while (i < n && !isWsp(value.charCodeAt(i))) i++;
  const num = value.slice(numStart, i);
  while (i < n && isWsp(value.charCodeAt(i))) i++;
  const methodStart = i;
  while (i < n && !isWsp(value.charCodeAt(i))) i++;
  const method = value.slice(methodStart, i);
  while (i < n && isWsp(value.charCodeAt(i))) i++;
  if (i !== n) return undefined;
  const seq = parseBoundedInt(num, MAX_CSEQ);
  if (seq === undefined || !isToken(method)) return undefined;
  return { seq, method };
}

/** Writes a CSeq value: `seq method`. */
export function formatCSeq(cseq: CSeq): string {
  return `${cseq.seq} ${cseq.method}`;
}
