import { describe, expect, it } from "vitest";
import { addContactAlias, consumeRequestUriAlias } from "../../../edge-gateway/src/proxy/nat-alias";
import type { SipHeader } from "../../../sip/message";
import { addr } from "./support";

const contact = (value: string): SipHeader[] => [
  { name: "Call-ID", value: "nat-1" },
  { name: "Contact", value },
];

describe("addContactAlias (NAT traversal of dialog Contacts)", () => {
  it("adds alias=<source ip>~<source port>~1 when the Contact host:port differs from the source", () => {
    const out = addContactAlias(contact("<sip:401@10.0.0.5:5060;transport=udp>;expires=60"), addr("203.0.113.50", 40000));
    expect(out[1]).toEqual({ name: "Contact", value: "<sip:401@10.0.0.5:5060;transport=udp;alias=203.0.113.50~40000~1>;expires=60" });
    expect(out[0]).toEqual({ name: "Call-ID", value: "nat-1" });
  });

  it("adds the alias when only the port differs", () => {
    const out = addContactAlias(contact("<sip:401@203.0.113.50>"), addr("203.0.113.50", 40000));
    expect(out[1]?.value).toBe("<sip:401@203.0.113.50;alias=203.0.113.50~40000~1>");
  });

  it("leaves a Contact that already names the source (the port defaulting to 5060) untouched", () => {
    const headers = contact("<sip:401@203.0.113.50>");
    const out = addContactAlias(headers, addr("203.0.113.50", 5060));
    expect(out[1]).toBe(headers[1]);
  });

  it("does not add the alias twice", () => {
    const once = addContactAlias(contact("<sip:401@10.0.0.5:5060>"), addr("203.0.113.50", 40000));
    const twice = addContactAlias(once, addr("198.51.100.7", 5060));
    expect(twice[1]?.value).toBe("<sip:401@10.0.0.5:5060;alias=203.0.113.50~40000~1>");
  });

  it("IPv6: the alias address is bracketed; an equal IPv6 Contact needs none", () => {
    const out = addContactAlias(contact("<sip:401@[fd00::5]:5060>"), addr("2001:db8::50", 40000));
    expect(out[1]?.value).toBe("<sip:401@[fd00::5]:5060;alias=[2001:db8::50]~40000~1>");
    const same = contact("<sip:401@[2001:DB8::50]:40000>");
    expect(addContactAlias(same, addr("2001:db8::50", 40000))[1]).toBe(same[1]);
  });

  it("handles each Contact of a comma list and keeps the wildcard and non-SIP URIs as they are", () => {
    const out = addContactAlias(contact('"A" <sip:a@10.0.0.5>, <sip:b@203.0.113.50:40000>'), addr("203.0.113.50", 40000));
    expect(out[1]?.value).toBe('"A" <sip:a@10.0.0.5;alias=203.0.113.50~40000~1>, <sip:b@203.0.113.50:40000>');
    const star = contact("*");
    expect(addContactAlias(star, addr("203.0.113.50", 40000))[1]).toBe(star[1]);
    const tel = contact("<tel:+4930123>");
    expect(addContactAlias(tel, addr("203.0.113.50", 40000))[1]).toBe(tel[1]);
  });
});

describe("consumeRequestUriAlias (in-dialog requests towards a NATed phone)", () => {
  it("strips the alias from the Request-URI and gives its address as the target", () => {
    expect(consumeRequestUriAlias("sip:401@10.0.0.5:5060;transport=udp;alias=203.0.113.50~40000~1;ob")).toEqual({
      uri: "sip:401@10.0.0.5:5060;transport=udp;ob",
      target: addr("203.0.113.50", 40000),
    });
  });

  it("IPv6 alias: the target address is unbracketed", () => {
    expect(consumeRequestUriAlias("sip:401@[fd00::5]:5060;alias=[2001:db8::50]~40000~1")).toEqual({
      uri: "sip:401@[fd00::5]:5060",
      target: addr("2001:db8::50", 40000),
    });
    expect(consumeRequestUriAlias("sip:401@[fd00::5]:5060;alias=2001:db8::50~40000~1")?.target).toEqual(addr("2001:db8::50", 40000));
  });

  it("a Request-URI without alias gives undefined", () => {
    expect(consumeRequestUriAlias("sip:401@10.0.0.5:5060")).toBeUndefined();
    expect(consumeRequestUriAlias("tel:+4930123")).toBeUndefined();
  });

  it("a malformed alias is ignored", () => {
    for (const alias of ["nonsense", "203.0.113.50~0~1", "203.0.113.50~70000~1", "203.0.113.50", "999.1.1.1~5060~1", "....~5060~1", "[::1~5060~1", "[203.0.113.50]~5060~1", "203.0.113.50~5060~2", ";alias"]) {
      expect(consumeRequestUriAlias(`sip:401@10.0.0.5;alias=${alias}`), alias).toBeUndefined();
    }
  });

  it("round trip: what addContactAlias writes, consumeRequestUriAlias reads back", () => {
    const [, c] = addContactAlias(contact("<sip:401@10.0.0.5:5062;ob>"), addr("203.0.113.50", 40000));
    const uri = /<([^>]+)>/.exec(c?.value ?? "")?.[1] ?? "";
    expect(consumeRequestUriAlias(uri)).toEqual({ uri: "sip:401@10.0.0.5:5062;ob", target: addr("203.0.113.50", 40000) });
  });
});
