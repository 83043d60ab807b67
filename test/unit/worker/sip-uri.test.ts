import { describe, expect, it } from "vitest";
import { parseUri } from "../../../worker/src/sip-uri";

describe("the worker's URI view", () => {
  it("parses a URI text once: a decision reading it again gets the same frozen value", () => {
    const a = parseUri("sip:201@Tenant-A.example:5070;erb=abc");
    expect(a).toEqual({ scheme: "sip", user: "201", host: "tenant-a.example", port: 5070, params: { erb: "abc" } });
    expect(parseUri("sip:201@Tenant-A.example:5070;erb=abc")).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a?.params)).toBe(true);
  });

  it("still refuses what is not a sip: URI, every time", () => {
    expect(parseUri("tel:+15551234")).toBeUndefined();
    expect(parseUri("tel:+15551234")).toBeUndefined();
    expect(parseUri(`sip:${"a".repeat(600)}@x.example`)?.user).toHaveLength(600);
  });
});
