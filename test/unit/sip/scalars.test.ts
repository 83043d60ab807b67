import { describe, it, expect } from "vitest";
import { DEFAULT_MAX_FORWARDS, formatCSeq, MAX_CSEQ, parseCSeq, parseExpires, parseMaxForwards } from "../../../sip/index";

describe("parseCSeq", () => {
  it("parses the number and the method", () => {
    expect(parseCSeq("314159 INVITE")).toEqual({ seq: 314159, method: "INVITE" });
    expect(parseCSeq("  0009 \t INVITE ")).toEqual({ seq: 9, method: "INVITE" });
    expect(parseCSeq(`${MAX_CSEQ} BYE`)).toEqual({ seq: 4294967295, method: "BYE" });
  });

  it.each(["", "1", "INVITE", "1 INVITE extra", "-1 INVITE", "1.5 INVITE", "4294967296 INVITE", "36893488147419103232 INVITE", "1 INV@TE"])(
    "returns undefined for %j",
    (value) => {
      expect(parseCSeq(value)).toBeUndefined();
    },
  );

  it("formats back to `seq method`", () => {
    expect(formatCSeq({ seq: 2, method: "REGISTER" })).toBe("2 REGISTER");
  });
});

describe("parseExpires", () => {
  it("parses delta-seconds up to 2^32-1", () => {
    expect(parseExpires("3600")).toBe(3600);
    expect(parseExpires(" 0 ")).toBe(0);
    expect(parseExpires("4294967295")).toBe(4294967295);
  });

  it.each(["", "-1", "1e3", "10000000000000", "280297596632815", "Thu, 01 Dec 1994 16:00:00 GMT"])(
    "returns undefined for %j so the caller applies its default (RFC 4475 scalar02)",
    (value) => {
      expect(parseExpires(value)).toBeUndefined();
    },
  );
});

describe("parseMaxForwards", () => {
  it("parses 0-255, leading zeros included", () => {
    expect(parseMaxForwards("70")).toBe(70);
    expect(parseMaxForwards("0068")).toBe(68);
    expect(parseMaxForwards("0")).toBe(0);
    expect(parseMaxForwards("255")).toBe(255);
  });

  it.each(["256", "300", "-1", "", "x"])("returns undefined for %j", (value) => {
    expect(parseMaxForwards(value)).toBeUndefined();
  });

  it("defaults to 70 (RFC 3261 8.1.1.6)", () => {
    expect(DEFAULT_MAX_FORWARDS).toBe(70);
  });
});
