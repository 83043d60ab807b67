import { describe, it, expect } from "vitest";
import { bodyText, headerValue, headerValues, parseMessage } from "../../../sip/index";
import { bytes, datagram, expectError, expectRequest, expectResponse, fixture, requestHeaders } from "./support";

describe("parseMessage: requests", () => {
  it("parses a REGISTER into method, Request-URI, headers in arrival order and an empty body", () => {
    const req = expectRequest(parseMessage(fixture("register-valid.sip")));
    expect(req.method).toBe("REGISTER");
    expect(req.uri).toBe("sip:tenant-a.example");
    expect(req.headers.map((h) => h.name)).toEqual([
      "Via",
      "Max-Forwards",
      "From",
      "To",
      "Call-ID",
      "CSeq",
      "Contact",
      "Allow",
      "User-Agent",
      "Expires",
      "Content-Length",
    ]);
    expect(headerValue(req, "Call-ID")).toBe("1j9FpLxk3uxtm8tn@192.0.2.10");
    expect(headerValue(req, "Allow")).toBe("INVITE, ACK, CANCEL, BYE, OPTIONS");
    expect(req.body.length).toBe(0);
  });

  it("expands compact header names and gives known names their canonical spelling (RFC 3261 7.3.3)", () => {
    const req = expectRequest(parseMessage(fixture("register-compact-forms-valid.sip")));
    expect(req.headers.map((h) => h.name)).toEqual([
      "Via",
      "From",
      "To",
      "Call-ID",
      "CSeq",
      "Max-Forwards",
      "Contact",
      "Supported",
      "Allow-Events",
      "User-Agent",
      "WWW-Authenticate",
      "X-Custom-Header",
      "Content-Length",
    ]);
    expect(headerValue(req, "Contact")).toBe("<sip:202@192.0.2.10:5070>;expires=600");
  });

  it("hands back the top Via it checked, so that nobody parses it again (first value of the first Via line)", () => {
    const r = parseMessage(
      datagram("OPTIONS sip:201@tenant-a.example SIP/2.0", [
        "v: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-top;rport, SIP/2.0/UDP 192.0.2.99;branch=z9hG4bK-second",
        "Via: SIP/2.0/UDP 192.0.2.98;branch=z9hG4bK-third",
        "Max-Forwards: 70",
        "From: <sip:a@tenant-a.example>;tag=1",
        "To: <sip:201@tenant-a.example>",
        "Call-ID: top-via-1",
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
      ]),
    );
    if (!r.ok) throw new Error("expected a message");
    expect(r.topVia).toMatchObject({ host: "192.0.2.10", port: 5070, branch: "z9hG4bK-top", rport: null });
  });

  it("keeps unknown header names in their original spelling", () => {
    const req = expectRequest(parseMessage(datagram("OPTIONS sip:a@b.example SIP/2.0", [...requestHeaders("OPTIONS"), "x-TeNaNt: a"])));
    expect(req.headers.at(-1)).toEqual({ name: "x-TeNaNt", value: "a" });
  });

  it("unfolds continuation lines into a single space (RFC 3261 7.3.1)", () => {
    const req = expectRequest(parseMessage(fixture("invite-folded-headers-valid.sip")));
    expect(headerValue(req, "Via")).toBe("SIP/2.0/UDP 192.0.2.10:5070 ;branch=z9hG4bKfold1");
    expect(headerValue(req, "From")).toBe('"Alice" <sip:201@tenant-a.example>;tag=1928301774');
    expect(headerValue(req, "CSeq")).toBe("1 INVITE");
    expect(headerValue(req, "Subject")).toBe("a subject that goes on and on");
    expect(bodyText(req.body).startsWith("v=0\r\n")).toBe(true);
  });

  it("keeps repeated header lines as separate entries in order, never comma-joined", () => {
    const res = expectResponse(parseMessage(fixture("response-401-two-www-authenticate-valid.sip")));
    const challenges = headerValues(res, "WWW-Authenticate");
    expect(challenges).toHaveLength(2);
    expect(challenges[0]).toContain("algorithm=SHA-256");
    expect(challenges[1]).toContain("algorithm=MD5");
  });

  it("keeps a comma-separated header line as one entry and separate lines as separate entries", () => {
    const req = expectRequest(
      parseMessage(
        datagram("INVITE sip:301@tenant-a.example SIP/2.0", [
          ...requestHeaders("INVITE"),
          "Route: <sip:p1.example;lr>, <sip:p2.example;lr>",
          "Route: <sip:p3.example;lr>",
        ]),
      ),
    );
    expect(headerValues(req, "Route")).toEqual(["<sip:p1.example;lr>, <sip:p2.example;lr>", "<sip:p3.example;lr>"]);
  });

  it("tolerates bare LF line ends", () => {
    const text = `${["OPTIONS sip:a@b.example SIP/2.0", ...requestHeaders("OPTIONS"), "Content-Length: 2"].join("\n")}\n\nhi`;
    const req = expectRequest(parseMessage(bytes(text)));
    expect(req.method).toBe("OPTIONS");
    expect(headerValue(req, "Call-ID")).toBe("3848276298220188511@192.0.2.10");
    expect(bodyText(req.body)).toBe("hi");
  });

  it("ignores CRLFs before the start line (RFC 3261 7.5)", () => {
    const text = `\r\n\r\n${["OPTIONS sip:a@b.example SIP/2.0", ...requestHeaders("OPTIONS")].join("\r\n")}\r\n\r\n`;
    expect(expectRequest(parseMessage(bytes(text))).method).toBe("OPTIONS");
  });

  it("answers 400 Truncated message when the empty line after the headers is missing", () => {
    for (const end of ["\r\n", ""]) {
      const text = `${["OPTIONS sip:a@b.example SIP/2.0", ...requestHeaders("OPTIONS")].join("\r\n")}${end}`;
      const { error } = expectError(parseMessage(bytes(text)));
      expect(error.reason).toBe("Truncated message");
      expect(error.replyable).toBe(true);
    }
  });

  it("parses IPv6 references in the Request-URI and Via (RFC 5118)", () => {
    const req = expectRequest(parseMessage(fixture("invite-ipv6-valid.sip")));
    expect(req.uri).toBe("sip:301@[2001:db8::10]:5062;transport=udp");
    expect(headerValues(req, "Via")).toHaveLength(2);
  });

  it("parses methods it does not know", () => {
    const req = expectRequest(parseMessage(datagram("NEWMETHOD sip:a@b.example SIP/2.0", requestHeaders("NEWMETHOD"))));
    expect(req.method).toBe("NEWMETHOD");
  });

  it("accepts a request without Max-Forwards (the proxy adds the default)", () => {
    const req = expectRequest(parseMessage(datagram("OPTIONS sip:a@b.example SIP/2.0", requestHeaders("OPTIONS", { "Max-Forwards": null }))));
    expect(headerValue(req, "Max-Forwards")).toBeUndefined();
  });

  it("accepts non-SIP Request-URI schemes such as tel:", () => {
    const req = expectRequest(parseMessage(datagram("INVITE tel:+15551234567 SIP/2.0", requestHeaders("INVITE"))));
    expect(req.uri).toBe("tel:+15551234567");
  });

  it("accepts ACK and CANCEL whose CSeq method is their own", () => {
    for (const method of ["ACK", "CANCEL"]) {
      expect(expectRequest(parseMessage(datagram(`${method} sip:a@b.example SIP/2.0`, requestHeaders(method)))).method).toBe(method);
    }
  });
});

describe("parseMessage: body framing (RFC 3261 18.3)", () => {
  const start = "MESSAGE sip:301@tenant-a.example SIP/2.0";

  it("takes exactly Content-Length bytes as the body and ignores bytes after it", () => {
    const req = expectRequest(parseMessage(datagram(start, [...requestHeaders("MESSAGE"), "Content-Length: 5"], "hello, and more")));
    expect(bodyText(req.body)).toBe("hello");
  });

  it("answers 400 Content-Length mismatch when fewer bytes arrived than declared", () => {
    const { error, partial } = expectError(parseMessage(datagram(start, [...requestHeaders("MESSAGE"), "Content-Length: 50"], "short")));
    expect(error.status).toBe(400);
    expect(error.reason).toBe("Content-Length mismatch");
    expect(error.replyable).toBe(true);
    expect(partial?.method).toBe("MESSAGE");
  });

  it("takes the rest of the datagram as the body when Content-Length is missing", () => {
    const req = expectRequest(parseMessage(datagram(start, requestHeaders("MESSAGE"), "rest of\r\nthe datagram")));
    expect(bodyText(req.body)).toBe("rest of\r\nthe datagram");
  });

  it("counts Content-Length in bytes and keeps the body as those bytes", () => {
    const body = "héllo ☎ 😀";
    const length = new TextEncoder().encode(body).length;
    const req = expectRequest(parseMessage(datagram(start, [...requestHeaders("MESSAGE"), `Content-Length: ${length}`], `${body}trailing`)));
    expect(req.body).toEqual(new TextEncoder().encode(body));
  });

  it("accepts a compact l: and equal duplicate Content-Length lines", () => {
    const req = expectRequest(parseMessage(datagram(start, [...requestHeaders("MESSAGE"), "l: 2", "Content-Length: 2"], "ok")));
    expect(bodyText(req.body)).toBe("ok");
  });

  it("answers 400 Bad Content-Length to conflicting or non-numeric values", () => {
    for (const lines of [["l: 2", "Content-Length: 3"], ["Content-Length: two"], ["Content-Length: 0x10"], ["Content-Length: +2"]]) {
      const { error } = expectError(parseMessage(datagram(start, [...requestHeaders("MESSAGE"), ...lines], "ok!")));
      expect(error.reason).toBe("Bad Content-Length");
    }
  });
});

describe("parseMessage: keep-alives", () => {
  it.each([
    ["CRLF", "\r\n"],
    ["double CRLF (RFC 5626 keep-alive)", "\r\n\r\n"],
    ["bare LF", "\n"],
    ["spaces and tabs", " \t \r\n"],
    ["an empty datagram", ""],
  ])("reports %s as a keep-alive, not an error", (_name, text) => {
    expect(parseMessage(bytes(text))).toEqual({ ok: false, keepalive: true });
  });
});

describe("parseMessage: responses", () => {
  it("parses the status line, headers and Via with received and rport", () => {
    const res = expectResponse(parseMessage(fixture("response-401-two-www-authenticate-valid.sip")));
    expect(res.status).toBe(401);
    expect(res.reason).toBe("Unauthorized");
  });

  it("accepts an empty reason phrase and a UTF-8 one", () => {
    const headers = requestHeaders("INVITE");
    expect(expectResponse(parseMessage(datagram("SIP/2.0 100 ", headers))).reason).toBe("");
    expect(expectResponse(parseMessage(datagram("SIP/2.0 100", headers))).reason).toBe("");
    expect(expectResponse(parseMessage(datagram("SIP/2.0 200 Überall OK ☺", headers))).reason).toBe("Überall OK ☺");
  });

  it("never marks a failed response as replyable", () => {
    const { error, partial } = expectError(parseMessage(datagram("SIP/2.0 200 OK", requestHeaders("INVITE", { "Call-ID": null }))));
    expect(error.reason).toBe("Missing Call-ID");
    expect(error.replyable).toBe(false);
    expect(partial).toBeUndefined();
  });

  it.each([
    ["a status below 100", "SIP/2.0 099 Low"],
    ["a status above 699", "SIP/2.0 700 High"],
    ["a four-digit status", "SIP/2.0 2000 OK"],
    ["no status", "SIP/2.0 OK"],
    ["two spaces", "SIP/2.0  200 OK"],
  ])("rejects a status line with %s as unanswerable", (_name, line) => {
    const { error } = expectError(parseMessage(datagram(line, requestHeaders("INVITE"))));
    expect(error.status).toBe(400);
    expect(error.reason).toBe("Bad Status-Line");
    expect(error.replyable).toBe(false);
  });

  it("answers nothing to a response with another SIP version", () => {
    const { error } = expectError(parseMessage(datagram("SIP/3.0 200 OK", requestHeaders("INVITE"))));
    expect(error.status).toBe(505);
    expect(error.replyable).toBe(false);
  });
});

describe("parseMessage: start line checks", () => {
  it.each([
    ["garbage", "GARBAGE"],
    ["an HTTP request", "GET / HTTP/1.1"],
    ["no version", "INVITE sip:a@b.example"],
    ["a method that is not a token", "INV@TE sip:a@b.example SIP/2.0"],
  ])("rejects %s as unanswerable", (_name, line) => {
    const { error, partial } = expectError(parseMessage(datagram(line, requestHeaders("INVITE"))));
    expect(error.status).toBe(400);
    expect(error.reason).toBe("Bad Request-Line");
    expect(error.replyable).toBe(false);
    expect(partial).toBeUndefined();
  });

  it.each([
    ["two spaces between elements (RFC 4475 lwsstart)", "INVITE  sip:a@b.example  SIP/2.0", "Bad Request-Line"],
    ["a trailing space (RFC 4475 trws)", "INVITE sip:a@b.example SIP/2.0 ", "Bad Request-Line"],
    ["a tab separator", "INVITE\tsip:a@b.example SIP/2.0", "Bad Request-Line"],
    ["whitespace inside the Request-URI (RFC 4475 lwsruri)", "INVITE sip:a@b.example; lr SIP/2.0", "Bad Request-Line"],
    ["a Request-URI in angle brackets (RFC 4475 ltgtruri)", "INVITE <sip:a@b.example> SIP/2.0", "Bad Request-URI"],
    ["a Request-URI without scheme", "INVITE a@b.example SIP/2.0", "Bad Request-URI"],
    ["a malformed SIP Request-URI", "INVITE sip:a@b..example SIP/2.0", "Bad Request-URI"],
  ])("answers 400 to a request line with %s", (_name, line, reason) => {
    const { error, partial } = expectError(parseMessage(datagram(line, requestHeaders("INVITE"))));
    expect(error.status).toBe(400);
    expect(error.reason).toBe(reason);
    expect(error.replyable).toBe(true);
    expect(partial?.method).toBe("INVITE");
  });

  it("answers 505 Version Not Supported to another SIP version, with what the reply needs", () => {
    const { error, partial } = expectError(parseMessage(datagram("OPTIONS sip:a@b.example SIP/3.0", requestHeaders("OPTIONS"))));
    expect(error.status).toBe(505);
    expect(error.reason).toBe("Version Not Supported");
    expect(error.replyable).toBe(true);
    expect(partial).toMatchObject({ method: "OPTIONS", uri: "sip:a@b.example" });
    expect(partial?.headers.map((h) => h.name)).toContain("Via");
  });

  it("accepts the version in any case (RFC 3261 7.1)", () => {
    expect(expectRequest(parseMessage(datagram("OPTIONS sip:a@b.example sip/2.0", requestHeaders("OPTIONS")))).method).toBe("OPTIONS");
  });
});

describe("parseMessage: mandatory headers (RFC 3261 8.1.1)", () => {
  it.each(["Call-ID", "From", "To", "CSeq"])("answers 400 Missing %s, replyable", (name) => {
    const { error, partial } = expectError(parseMessage(datagram("INVITE sip:a@b.example SIP/2.0", requestHeaders("INVITE", { [name]: null }))));
    expect(error.status).toBe(400);
    expect(error.reason).toBe(`Missing ${name}`);
    expect(error.replyable).toBe(true);
    expect(partial?.headers.find((h) => h.name === name)).toBeUndefined();
  });

  it("cannot answer a request without Via", () => {
    const { error, partial } = expectError(parseMessage(datagram("INVITE sip:a@b.example SIP/2.0", requestHeaders("INVITE", { Via: null }))));
    expect(error.reason).toBe("Missing Via");
    expect(error.replyable).toBe(false);
    expect(partial).toBeUndefined();
  });

  it("cannot answer a request whose top Via does not parse", () => {
    const { error } = expectError(parseMessage(datagram("INVITE sip:a@b.example SIP/2.0", requestHeaders("INVITE", { Via: "SIP/2.0/UDP" }))));
    expect(error.reason).toBe("Bad Via");
    expect(error.replyable).toBe(false);
  });

  it("never marks an ACK as replyable (RFC 3261 17.2.1)", () => {
    const { error, partial } = expectError(parseMessage(datagram("ACK sip:a@b.example SIP/2.0", requestHeaders("ACK", { "Call-ID": null }))));
    expect(error.replyable).toBe(false);
    expect(partial?.method).toBe("ACK");
  });

  it.each([
    ["CSeq", "x INVITE", "Bad CSeq"],
    ["CSeq", "1", "Bad CSeq"],
    ["CSeq", "-1 INVITE", "Bad CSeq"],
    ["CSeq", "4294967296 INVITE", "Bad CSeq"],
    ["CSeq", "1 OPTIONS", "CSeq method mismatch"],
    ["CSeq", "1 invite", "CSeq method mismatch"],
    ["Max-Forwards", "256", "Bad Max-Forwards"],
    ["Max-Forwards", "-1", "Bad Max-Forwards"],
    ["Max-Forwards", "seventy", "Bad Max-Forwards"],
    ["From", "not an address", "Bad From"],
    ["To", '"unterminated <sip:a@b.example>', "Bad To"],
    ["Call-ID", "has space@host", "Bad Call-ID"],
    ["Call-ID", "", "Bad Call-ID"],
  ])("answers 400 when %s is %j", (name, value, reason) => {
    const { error } = expectError(parseMessage(datagram("INVITE sip:a@b.example SIP/2.0", requestHeaders("INVITE", { [name]: value }))));
    expect(error.status).toBe(400);
    expect(error.reason).toBe(reason);
    expect(error.replyable).toBe(true);
  });

  it("accepts the largest 32-bit CSeq number (RFC 3261 20.16)", () => {
    expectRequest(parseMessage(datagram("INVITE sip:a@b.example SIP/2.0", requestHeaders("INVITE", { CSeq: "4294967295 INVITE" }))));
  });

  it.each(["Call-ID", "From", "To", "CSeq", "Max-Forwards"])("answers 400 Multiple %s when the header appears twice", (name) => {
    const headers = requestHeaders("INVITE");
    const line = headers.find((h) => h.startsWith(`${name}:`)) ?? "";
    const { error } = expectError(parseMessage(datagram("INVITE sip:a@b.example SIP/2.0", [...headers, line])));
    expect(error.reason).toBe(`Multiple ${name}`);
  });
});

describe("parseMessage: header lines and limits", () => {
  it.each([
    ["a line without colon", "NoColonHere"],
    ["a name with a space", "Bad Name: x"],
    ["an empty name", ": value"],
  ])("answers 400 Bad header line for %s, keeping the other headers for the reply", (_name, line) => {
    const { error, partial } = expectError(parseMessage(datagram("INVITE sip:a@b.example SIP/2.0", [...requestHeaders("INVITE"), line])));
    expect(error.reason).toBe("Bad header line");
    expect(error.replyable).toBe(true);
    expect(partial?.headers.map((h) => h.name)).toEqual(["Via", "Max-Forwards", "From", "To", "Call-ID", "CSeq"]);
  });

  it("rejects a continuation line before any header", () => {
    const { error } = expectError(parseMessage(datagram("INVITE sip:a@b.example SIP/2.0", [" folded", ...requestHeaders("INVITE")])));
    expect(error.reason).toBe("Bad header line");
  });

  it("rejects a bare CR inside a header line", () => {
    const { error } = expectError(parseMessage(datagram("INVITE sip:a@b.example SIP/2.0", [...requestHeaders("INVITE"), "Subject: a\rb"])));
    expect(error.reason).toBe("Bad header line");
  });

  it("answers 400 Too many headers past maxHeaders", () => {
    const many = Array.from({ length: 10 }, (_, i) => `X-H${i}: ${i}`);
    const { error } = expectError(parseMessage(datagram("INVITE sip:a@b.example SIP/2.0", [...requestHeaders("INVITE"), ...many]), { maxHeaders: 12 }));
    expect(error.reason).toBe("Too many headers");
    expect(error.status).toBe(400);
  });

  it("accepts 128 header fields by default and refuses the 129th", () => {
    const base = requestHeaders("INVITE");
    const filler = (n: number) => Array.from({ length: n }, (_, i) => `X-H${i}: ${i}`);
    expectRequest(parseMessage(datagram("INVITE sip:a@b.example SIP/2.0", [...base, ...filler(128 - base.length)])));
    const { error } = expectError(parseMessage(datagram("INVITE sip:a@b.example SIP/2.0", [...base, ...filler(129 - base.length)])));
    expect(error.reason).toBe("Too many headers");
  });

  it("answers 513 Message Too Large above maxMessageBytes (16 KiB by default), still replyable when the headers are readable", () => {
    const big = datagram("MESSAGE sip:a@b.example SIP/2.0", requestHeaders("MESSAGE"), "x".repeat(16_384));
    const { error, partial } = expectError(parseMessage(big));
    expect(error.status).toBe(513);
    expect(error.replyable).toBe(true);
    expect(partial?.method).toBe("MESSAGE");
  });

  it("answers 513 without a reply when not even the headers fit", () => {
    const huge = datagram("MESSAGE sip:a@b.example SIP/2.0", [...requestHeaders("MESSAGE"), `X-Big: ${"y".repeat(2_000)}`]);
    const { error, partial } = expectError(parseMessage(huge, { maxMessageBytes: 1_000 }));
    expect(error.status).toBe(513);
    expect(error.replyable).toBe(false);
    expect(partial).toBeUndefined();
  });
});
