// Torture messages in the spirit of RFC 4475: valid ones must parse with the right values, invalid ones
// must give the status and reason the gateway answers with (or be marked unanswerable).
import { describe, it, expect } from "vitest";
import {
  bodyText,
  headerValue,
  headerValues,
  parseContactHeader,
  parseCSeq,
  parseMessage,
  parseNameAddr,
  parseSipUri,
  parseVia,
  topVia,
} from "../../../sip/index";
import { expectError, expectRequest, fixture } from "./support";

describe("valid torture messages", () => {
  it("parses odd spacing, mixed case, folding, empty and unknown headers (RFC 4475 3.1.1.1 wsinv)", () => {
    const req = expectRequest(parseMessage(fixture("torture-odd-spacing-valid.sip")));
    expect(req.uri).toBe("sip:vivekg@chair-dnrc.example.com;unknownparam");
    expect(parseNameAddr(headerValue(req, "To") ?? "")).toEqual({
      uri: "sip:vivekg@chair-dnrc.example.com",
      params: { tag: "1918181833n" },
    });
    expect(parseNameAddr(headerValue(req, "From") ?? "")).toMatchObject({ displayName: 'J Rosenberg \\"', params: { tag: "98asjd8" } });
    expect(headerValue(req, "Max-Forwards")).toBe("0068");
    expect(parseCSeq(headerValue(req, "CSeq") ?? "")).toEqual({ seq: 9, method: "INVITE" });
    expect(headerValue(req, "Subject")).toBe("");
    expect(headerValue(req, "NewFangledHeader")).toBe("newfangled value continued newfangled value");
    expect(headerValue(req, "UnknownHeaderWithUnusualValue")).toBe(";;,,;;,;");
    expect(headerValue(req, "Route")).toBe("<sip:services.example.com;lr;unknownwith=value;unknown-no-value>");

    const viaLines = headerValues(req, "Via");
    expect(viaLines).toHaveLength(2);
    expect(topVia(req)).toMatchObject({ protocol: "SIP/2.0/UDP", host: "192.0.2.2", branch: "390skdjuw" });
    expect(parseVia(viaLines[1] ?? "").map((v) => [v.transport, v.host, v.branch])).toEqual([
      ["TCP", "spindle.example.com", "z9hG4bK9ikj8"],
      ["UDP", "192.168.255.111", "z9hG4bK30239"],
    ]);

    expect(parseContactHeader(headerValue(req, "Contact") ?? "")).toEqual([
      { displayName: 'Quoted string ""', uri: "sip:jdrosen@example.com", params: { newparam: "newvalue", secondparam: null, q: "0.33" } },
    ]);
    expect(bodyText(req.body)).toMatch(/^v=0\r\n[\s\S]*a=rtpmap:31 LPC\r\n$/);
  });

  it("decodes escaped characters in URIs (RFC 4475 3.1.1.4 esc01)", () => {
    const req = expectRequest(parseMessage(fixture("torture-escaped-uri-valid.sip")));
    expect(parseSipUri(req.uri)).toMatchObject({ user: "sips:user@example.com", host: "example.net" });
    expect(parseSipUri(parseNameAddr(headerValue(req, "To") ?? "")?.uri ?? "")?.user).toBe("user");
    expect(parseSipUri(parseNameAddr(headerValue(req, "From") ?? "")?.uri ?? "")?.user).toBe("I have spaces");
    const contact = parseContactHeader(headerValue(req, "Contact") ?? "");
    expect(contact !== "*" && parseSipUri(contact?.[0]?.uri ?? "")).toMatchObject({
      user: "caller",
      params: { "%6c%72": null, "n%61me": "v%61lue%25%34%31" },
    });
    expect(headerValue(req, "Content-Type")).toBe("application/sdp");
  });

  it("keeps escaped NULs in URIs and repeated Contact lines (RFC 4475 3.1.1.5 escnull)", () => {
    const req = expectRequest(parseMessage(fixture("torture-escaped-null-valid.sip")));
    expect(parseSipUri(parseNameAddr(headerValue(req, "To") ?? "")?.uri ?? "")?.user).toBe("null-\u0000-null");
    expect(headerValues(req, "Contact")).toEqual(["<sip:%00@host5.example.com>", "<sip:%00%00@host5.example.com>"]);
  });
});

describe("invalid torture messages", () => {
  it.each([
    ["invalid-400-negative-content-length.sip", 400, "Bad Content-Length", true],
    ["invalid-400-overlarge-cseq.sip", 400, "Bad CSeq", true],
    ["invalid-400-unterminated-quote.sip", 400, "Bad To", true],
    ["invalid-400-huge-max-forwards.sip", 400, "Bad Max-Forwards", true],
    ["invalid-505-unknown-version.sip", 505, "Version Not Supported", true],
    ["invalid-400-cseq-method-mismatch.sip", 400, "CSeq method mismatch", true],
    ["invalid-400-multiple-call-id.sip", 400, "Multiple Call-ID", true],
    ["invalid-400-angle-brackets-request-uri.sip", 400, "Bad Request-URI", true],
    ["invalid-400-trailing-space-request-line.sip", 400, "Bad Request-Line", true],
    ["invalid-400-escaped-headers-in-request-uri.sip", 400, "Bad Request-URI", true],
    ["invalid-400-addr-spec-with-query.sip", 400, "Bad To", true],
    ["invalid-400-comma-in-display-name.sip", 400, "Bad From", true],
    ["invalid-400-unusable-via-unanswerable.sip", 400, "Bad Via", false],
    ["invalid-400-overlarge-status-code.sip", 400, "Bad Status-Line", false],
    ["invalid-400-content-length-larger-than-body.sip", 400, "Content-Length mismatch", true],
  ] as const)("%s gives %i %s (replyable: %s)", (name, status, reason, replyable) => {
    const { error, partial } = expectError(parseMessage(fixture(name)));
    expect(error.status).toBe(status);
    expect(error.reason).toBe(reason);
    expect(error.replyable).toBe(replyable);
    expect(partial !== undefined).toBe(replyable);
  });

  it("gives reason phrases fit for a status line: short, printable, never message bytes", () => {
    const junk = new TextEncoder().encode("INVITE sip:a@b.example SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: \u0007evil\r\n\r\n");
    const { error } = expectError(parseMessage(junk));
    expect(error.reason).toMatch(/^[A-Za-z0-9 -]{3,40}$/);
  });
});
