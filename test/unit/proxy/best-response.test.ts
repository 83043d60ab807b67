import { describe, expect, it } from "vitest";
import { chooseBestResponse } from "../../../edge-gateway/src/proxy/best-response";
import type { SipResponse } from "../../../sip/message";
import { response, values } from "./support";

function final(status: number, reason: string, extra: readonly string[] = []): SipResponse {
  return response([
    `SIP/2.0 ${status} ${reason}`,
    "Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-up;received=198.51.100.10;rport=5060",
    "From: <sip:asterisk@198.51.100.10>;tag=f",
    `To: <sip:401@tenant-a.example>;tag=t${status}`,
    "Call-ID: best-1",
    "CSeq: 1 INVITE",
    ...extra,
    "Content-Length: 0",
  ]);
}

describe("chooseBestResponse (RFC 3261 16.7 steps 6-7)", () => {
  it("16.7 step 6: a 6xx beats a 4xx, whatever the arrival order", () => {
    expect(chooseBestResponse([final(486, "Busy Here"), final(603, "Decline")])?.status).toBe(603);
    expect(chooseBestResponse([final(603, "Decline"), final(486, "Busy Here")])?.status).toBe(603);
  });

  it("16.7 step 6: a 6xx beats a 3xx", () => {
    expect(chooseBestResponse([final(302, "Moved Temporarily"), final(600, "Busy Everywhere")])?.status).toBe(600);
  });

  it("16.7 step 6: otherwise the lowest class is chosen", () => {
    expect(chooseBestResponse([final(500, "Server Internal Error"), final(486, "Busy Here")])?.status).toBe(486);
    expect(chooseBestResponse([final(404, "Not Found"), final(302, "Moved Temporarily")])?.status).toBe(302);
  });

  it("16.7 step 6: within a class, the first to arrive is kept", () => {
    const first = final(486, "Busy Here");
    expect(chooseBestResponse([first, final(480, "Temporarily Unavailable")])).toBe(first);
  });

  it("16.7 step 6: in the 4xx class a response affecting resubmission (401, 407, 415, 420, 484) is preferred", () => {
    expect(chooseBestResponse([final(404, "Not Found"), final(407, "Proxy Authentication Required", ['Proxy-Authenticate: Digest realm="a", nonce="1"'])])?.status).toBe(407);
    expect(chooseBestResponse([final(480, "Temporarily Unavailable"), final(484, "Address Incomplete")])?.status).toBe(484);
  });

  it("16.7 step 7: 401/407 challenges of every branch are merged, each header line kept separate", () => {
    const a = final(401, "Unauthorized", ['WWW-Authenticate: Digest realm="a.example", nonce="n1", algorithm=MD5']);
    const b = final(407, "Proxy Authentication Required", [
      'Proxy-Authenticate: Digest realm="b.example", nonce="n2"',
      'Proxy-Authenticate: Digest realm="b.example", nonce="n3", algorithm=SHA-256',
    ]);
    const c = final(486, "Busy Here", ['WWW-Authenticate: Digest realm="ignored", nonce="x"']);
    const best = chooseBestResponse([a, c, b]);
    expect(best?.status).toBe(401);
    expect(values(best!, "WWW-Authenticate")).toEqual(['Digest realm="a.example", nonce="n1", algorithm=MD5']);
    expect(values(best!, "Proxy-Authenticate")).toEqual(['Digest realm="b.example", nonce="n2"', 'Digest realm="b.example", nonce="n3", algorithm=SHA-256']);
  });

  it("16.7 step 7: the chosen response itself is not changed in place", () => {
    const a = final(401, "Unauthorized", ['WWW-Authenticate: Digest realm="a", nonce="1"']);
    const b = final(401, "Unauthorized", ['WWW-Authenticate: Digest realm="b", nonce="2"']);
    const before = a.headers.length;
    chooseBestResponse([a, b]);
    expect(a.headers).toHaveLength(before);
  });

  it("16.7 step 6: a chosen 503 is sent as 500", () => {
    const best = chooseBestResponse([final(503, "Service Unavailable", ["Retry-After: 30"])]);
    expect(best?.status).toBe(500);
    expect(best?.reason).toBe("Server Internal Error");
  });

  it("16.7 step 6: a 503 only loses to a lower class", () => {
    expect(chooseBestResponse([final(503, "Service Unavailable"), final(408, "Request Timeout")])?.status).toBe(408);
  });

  it("no final response at all gives undefined (the caller answers 408)", () => {
    expect(chooseBestResponse([])).toBeUndefined();
  });
});
