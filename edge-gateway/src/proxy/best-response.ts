/**
 * Choosing the response to send upstream when every branch of a forked request has answered (RFC 3261
 * section 16.7 steps 6-7): a 6xx wins, else the lowest class (in 4xx, one that affects resubmission first);
 * 401/407 challenges of all branches merged; a 503 is relayed as 500; no response at all is a 408.
 */
import type { SipHeader, SipResponse } from "../../../sip/message";

/** The class rank used for choosing: 6xx first, then 2xx (never reached here), 3xx, 4xx, 5xx. */
function rank(status: number): number {
  if (status >= 600) return 0;
  return Math.floor(status / 100);
}

const CHALLENGES = new Set(["www-authenticate", "proxy-authenticate"]);

/**
 * 16.7 step 6: "The proxy SHOULD give preference to responses that provide information affecting
 * resubmission of this request, such as 401, 407, 415, 420, and 484 if the 4xx class is chosen."
 */
const RESUBMISSION = new Set([401, 407, 415, 420, 484]);

/** True when `r` should replace `best`: a better class, or a preferred 4xx over a plain one of the same class. */
function better(r: SipResponse, best: SipResponse): boolean {
  const a = rank(r.status);
  const b = rank(best.status);
  if (a !== b) return a < b;
  return RESUBMISSION.has(r.status) && !RESUBMISSION.has(best.status);
}

/**
 * Picks the best final response among non-2xx finals (in arrival order), or undefined when there are
 * none (every branch timed out: the caller answers 408).
 */
export function chooseBestResponse(finals: readonly SipResponse[]): SipResponse | undefined {
  let best: SipResponse | undefined;
  for (const r of finals) {
    if (!best || better(r, best)) best = r;
  }
  if (!best) return undefined;
  // 16.7 step 7: "If the selected response is a 401 or 407, the proxy MUST collect all WWW-Authenticate
  // and Proxy-Authenticate header field values from all other 401 and 407 responses ... and add them".
  if (best.status === 401 || best.status === 407) {
    const extra: SipHeader[] = [];
    for (const r of finals) {
      if (r === best || (r.status !== 401 && r.status !== 407)) continue;
      for (const h of r.headers) if (CHALLENGES.has(h.name.toLowerCase())) extra.push(h);
    }
    if (extra.length > 0) best = { ...best, headers: [...best.headers, ...extra] };
  }
  // 16.7 step 6: "If the selected response is a 503 (Service Unavailable), the proxy MUST ... generate a
  // 500 (Server Internal Error) response" instead: the 503 speaks of the downstream element, not of us.
  if (best.status === 503) best = { ...best, status: 500, reason: "Server Internal Error" };
  return best;
}
