import { describe, expect, it } from "vitest";
import { parseDestination } from "../../../worker/src/tenants/destination-uri";

describe("parsed dispatcher destinations", () => {
  it("are parsed once: the same URI text gives the same (frozen) address, not a new parse per request", () => {
    const a = parseDestination("sip:10.7.0.1:5080");
    expect(a).toEqual({ ip: "10.7.0.1", port: 5080, transport: "udp" });
    expect(parseDestination("sip:10.7.0.1:5080")).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
  });

  it("remember refusals too, and still refuse them", () => {
    expect(parseDestination("sip:pbx.example:5080")).toBeUndefined();
    expect(parseDestination("sip:pbx.example:5080")).toBeUndefined();
    expect(parseDestination("sip:10.7.0.2;transport=tcp")).toBeUndefined();
    expect(parseDestination("sip:[2001:db8::7]")).toEqual({ ip: "2001:db8::7", port: 5060, transport: "udp" });
  });
});
