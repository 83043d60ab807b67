import { describe, it, expect } from "vitest";
import { canonicalHeaderName } from "../../../sip/index";

describe("canonicalHeaderName", () => {
  it.each([
    ["i", "Call-ID"],
    ["m", "Contact"],
    ["e", "Content-Encoding"],
    ["l", "Content-Length"],
    ["c", "Content-Type"],
    ["f", "From"],
    ["s", "Subject"],
    ["k", "Supported"],
    ["t", "To"],
    ["v", "Via"],
    ["o", "Event"],
    ["r", "Refer-To"],
    ["b", "Referred-By"],
    ["u", "Allow-Events"],
    ["x", "Session-Expires"],
    ["j", "Reject-Contact"],
    ["a", "Accept-Contact"],
    ["d", "Request-Disposition"],
    ["y", "Identity"],
    ["n", "Identity-Info"],
  ])("expands the compact form %s to %s, in either case (RFC 3261 7.3.3)", (compact, long) => {
    expect(canonicalHeaderName(compact)).toBe(long);
    expect(canonicalHeaderName(compact.toUpperCase())).toBe(long);
  });

  it.each([
    ["call-id", "Call-ID"],
    ["CSEQ", "CSeq"],
    ["www-authenticate", "WWW-Authenticate"],
    ["max-forwards", "Max-Forwards"],
    ["RECORD-ROUTE", "Record-Route"],
    ["content-length", "Content-Length"],
    ["user-agent", "User-Agent"],
    ["proxy-authorization", "Proxy-Authorization"],
    ["rack", "RAck"],
    ["sip-etag", "SIP-ETag"],
  ])("gives %s its canonical spelling %s", (raw, canonical) => {
    expect(canonicalHeaderName(raw)).toBe(canonical);
  });

  it("keeps names it does not know in their original spelling", () => {
    expect(canonicalHeaderName("X-Tenant-ID")).toBe("X-Tenant-ID");
    expect(canonicalHeaderName("x-tenant-id")).toBe("x-tenant-id");
    expect(canonicalHeaderName("q")).toBe("q");
  });
});
