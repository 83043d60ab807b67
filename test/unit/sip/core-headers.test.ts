import { describe, expect, it } from "vitest";
import { cseqOf, headerTag, nameAddrOf } from "../../../sip/core-headers";
import { EMPTY_BODY, type SipRequest } from "../../../sip/message";
import { parseNameAddr } from "../../../sip/name-addr";
import { parseMessage } from "../../../sip/parser";
import { replaceHeaders } from "../../../sip/serializer";

const REGISTER = [
  "REGISTER sip:a.example SIP/2.0",
  "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKcore1",
  "f: \"Ann\" <sip:201@a.example>;tag=ft1",
  "t: <sip:201@a.example>",
  "i: core1@192.0.2.1",
  "CSeq:  7   REGISTER",
  "Max-Forwards: 70",
  "m: <sip:201@192.0.2.1:5070>",
  "l: 0",
  "",
  "",
].join("\r\n");

function parsed(): SipRequest {
  const r = parseMessage(new TextEncoder().encode(REGISTER));
  if (!r.ok || r.message.kind !== "request") throw new Error("expected a request");
  return r.message;
}

describe("From, To and CSeq parsed once per message", () => {
  it("read what the parser read, compact forms included: the same values every time", () => {
    const msg = parsed();
    const from = nameAddrOf(msg, "From");
    expect(from).toEqual(parseNameAddr("\"Ann\" <sip:201@a.example>;tag=ft1"));
    expect(nameAddrOf(msg, "From")).toBe(from);
    expect(headerTag(msg, "From")).toBe("ft1");
    expect(headerTag(msg, "To")).toBeUndefined();
    const cseq = cseqOf(msg);
    expect(cseq).toEqual({ seq: 7, method: "REGISTER" });
    expect(cseqOf(msg)).toBe(cseq);
    // Kept out of sight: not an enumerable property, so neither a spread copy nor JSON carries it.
    expect(Object.keys(msg).sort()).toEqual(["body", "headers", "kind", "method", "uri"]);
  });

  it("an edited message is read from its own headers, never from the message it was made from", () => {
    const msg = parsed();
    expect(headerTag(msg, "To")).toBeUndefined();
    const answered = replaceHeaders(replaceHeaders(msg, "To", ["<sip:201@a.example>;tag=tt9"]), "CSeq", ["8 REGISTER"]);
    expect(headerTag(answered, "To")).toBe("tt9");
    expect(cseqOf(answered)).toEqual({ seq: 8, method: "REGISTER" });
    // The original is unchanged.
    expect(headerTag(msg, "To")).toBeUndefined();
    expect(cseqOf(msg)?.seq).toBe(7);
  });

  it("a message built elsewhere is parsed on first use; absent or unreadable headers read as undefined, every time", () => {
    const built: SipRequest = {
      kind: "request",
      method: "OPTIONS",
      uri: "sip:a.example",
      headers: [
        { name: "To", value: "<sip:a.example>;tag=x1" },
        { name: "CSeq", value: "not a cseq" },
      ],
      body: EMPTY_BODY,
    };
    expect(headerTag(built, "To")).toBe("x1");
    expect(nameAddrOf(built, "From")).toBeUndefined();
    expect(nameAddrOf(built, "From")).toBeUndefined();
    expect(cseqOf(built)).toBeUndefined();
    expect(cseqOf(built)).toBeUndefined();
  });
});
