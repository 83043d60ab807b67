import { describe, expect, it } from "vitest";
import { applyHeaderEdits, HeaderEditError } from "../../../edge-gateway/src/proxy/header-edits";
import type { SipHeader } from "../../../sip/message";

const H = (name: string, value: string): SipHeader => ({ name, value });
const BASE: SipHeader[] = [
  H("Via", "SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1"),
  H("Contact", "<sip:a@10.0.0.5>"),
  H("X-A", "1"),
  H("Contact", "<sip:b@10.0.0.5>"),
  H("X-B", "2"),
  H("Supported", "path"),
  H("Supported", "outbound"),
];
const names = (hs: readonly SipHeader[]): string[] => hs.map((h) => `${h.name}: ${h.value}`);

describe("applyHeaderEdits (contract HeaderEdits)", () => {
  it("no edits: an equal copy", () => {
    const out = applyHeaderEdits(BASE, undefined);
    expect(out).toEqual(BASE);
    expect(out).not.toBe(BASE);
  });

  it("remove drops every instance of the name, case-insensitively and by compact form", () => {
    const out = applyHeaderEdits(BASE, { remove: ["supported", "m"], set: [], add: [] });
    expect(names(out)).toEqual(["Via: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1", "X-A: 1", "X-B: 2"]);
  });

  it("set replaces every instance, one line per value, at the position of the first instance", () => {
    const out = applyHeaderEdits(BASE, { remove: [], set: [["Contact", ["<sip:x@gw>", "<sip:y@gw>"]]], add: [] });
    expect(names(out)).toEqual([
      "Via: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1",
      "Contact: <sip:x@gw>",
      "Contact: <sip:y@gw>",
      "X-A: 1",
      "X-B: 2",
      "Supported: path",
      "Supported: outbound",
    ]);
  });

  it("set of an absent header appends it; set to no values removes it", () => {
    expect(names(applyHeaderEdits(BASE, { remove: [], set: [["x-new", ["v"]]], add: [] })).at(-1)).toBe("x-new: v");
    expect(applyHeaderEdits(BASE, { remove: [], set: [["X-A", []]], add: [] }).some((h) => h.name === "X-A")).toBe(false);
  });

  it("order is remove, then set, then add", () => {
    const out = applyHeaderEdits(BASE, {
      remove: ["X-A", "X-C"],
      set: [["X-A", ["set"]]],
      add: [["X-A", "added"], ["Supported", "gruu"]],
    });
    // X-A was removed first, so set appends it; add comes after.
    expect(names(out).slice(-3)).toEqual(["X-A: set", "X-A: added", "Supported: gruu"]);
    expect(out.filter((h) => h.name === "Supported").map((h) => h.value)).toEqual(["path", "outbound", "gruu"]);
  });

  it("names are written in their canonical spelling", () => {
    const out = applyHeaderEdits([], { remove: [], set: [], add: [["user-agent", "x"], ["k", "path"]] });
    expect(names(out)).toEqual(["User-Agent: x", "Supported: path"]);
  });

  it("the proxy's own headers are protected, in any spelling", () => {
    for (const name of ["Via", "v", "CALL-ID", "i", "CSeq", "From", "f", "To", "t", "Max-Forwards", "Content-Length", "l", "Record-Route", "Route"]) {
      expect(() => applyHeaderEdits(BASE, { remove: [name], set: [], add: [] }), name).toThrow(HeaderEditError);
      expect(() => applyHeaderEdits(BASE, { remove: [], set: [[name, ["x"]]], add: [] }), name).toThrow(HeaderEditError);
      expect(() => applyHeaderEdits(BASE, { remove: [], set: [], add: [[name, "x"]] }), name).toThrow(HeaderEditError);
    }
  });

  it("a header that cannot be put on the wire (name not a token, line break in the value) is refused", () => {
    expect(() => applyHeaderEdits(BASE, { remove: [], set: [], add: [["X Bad", "v"]] })).toThrow(HeaderEditError);
    expect(() => applyHeaderEdits(BASE, { remove: [], set: [], add: [["X-Inject", "v\r\nVia: SIP/2.0/UDP evil"]] })).toThrow(HeaderEditError);
    expect(() => applyHeaderEdits(BASE, { remove: [], set: [["X-Inject", ["a\nb"]]], add: [] })).toThrow(HeaderEditError);
  });
});
