// Parse cost grows linearly with the datagram, whatever its shape: for each hostile shape, parsing a ~60 KB
// datagram may cost at most a constant factor more per byte than parsing a ~1 KB one. A quadratic scan
// (a backtracking regular expression over a run of blanks, a re-scan per list element or per folded line)
// costs 60 times more per byte at 60 KB: the bound below is generous for timing noise and far below that.
import { describe, expect, it } from "vitest";
import { DEFAULT_PARSE_LIMITS, MAX_UDP_PAYLOAD, parseMessage } from "../../../sip/index";
import type { ParseLimits } from "../../../sip/index";

/** Limits that let the grammar read a 60 KB datagram to the end, so the grammar itself is measured. */
const OPEN: ParseLimits = { maxMessageBytes: MAX_UDP_PAYLOAD, maxHeaderLineBytes: MAX_UDP_PAYLOAD, maxHeaders: 100_000, maxListValues: 100_000 };

const VIA = "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK74bf9";
const REST = ["Max-Forwards: 70", "From: <sip:201@a.example>;tag=1", "To: <sip:301@a.example>", "Call-ID: c1@192.0.2.10"];

function request(method: string, lines: readonly string[], uri = "sip:301@a.example"): string {
  return `${method} ${uri} SIP/2.0\r\n${lines.join("\r\n")}\r\n\r\n`;
}
function withHeader(header: string, method = "INVITE"): string {
  return request(method, [VIA, ...REST, `CSeq: 1 ${method}`, header]);
}
const fill = (unit: string, n: number): string => unit.repeat(Math.max(1, Math.floor(n / unit.length)));

/** Hostile shapes, each a function of the approximate size of its hostile part. */
const SHAPES: Readonly<Record<string, (n: number) => string>> = {
  "Via sent-by with a run of blanks": (n) => request("OPTIONS", [`Via: SIP/2.0/UDP h${fill(" ", n)}x;branch=z9hG4bK1`, ...REST, "CSeq: 1 OPTIONS"]),
  "Via blanks before the port colon": (n) => request("OPTIONS", [`Via: SIP/2.0/UDP h${fill(" ", n)}:5060;branch=z9hG4bK1`, ...REST, "CSeq: 1 OPTIONS"]),
  "Via blanks between protocol parts": (n) => request("OPTIONS", [`Via: SIP${fill(" ", n)}/2.0/UDP h;branch=z9hG4bK1`, ...REST, "CSeq: 1 OPTIONS"]),
  "Via list of many values": (n) => request("OPTIONS", [`Via: ${fill("SIP/2.0/UDP h;branch=z9hG4bK1,", n)}SIP/2.0/UDP h`, ...REST, "CSeq: 1 OPTIONS"]),
  "Via with many parameters": (n) => request("OPTIONS", [`Via: SIP/2.0/UDP h;branch=z9hG4bK1${fill(";a", n)}`, ...REST, "CSeq: 1 OPTIONS"]),
  "Via with many distinct parameters": (n) =>
    request("OPTIONS", [`Via: SIP/2.0/UDP h;branch=z9hG4bK1${Array.from({ length: Math.floor(n / 7) }, (_, i) => `;p${i}`).join("")}`, ...REST, "CSeq: 1 OPTIONS"]),
  "Via lines, many of them": (n) => request("OPTIONS", [VIA, ...Array.from({ length: Math.floor(n / 36) }, () => "Via: SIP/2.0/UDP h;branch=z9hG4bK2"), ...REST, "CSeq: 1 OPTIONS"]),
  "Route list": (n) => withHeader(`Route: ${fill("<sip:p.example;lr>,", n)}<sip:q.example;lr>`),
  "Record-Route of empty elements": (n) => withHeader(`Record-Route: <sip:p.example;lr>${fill(",", n)}`),
  "Contact list in a REGISTER": (n) => withHeader(`Contact: ${fill("<sip:201@192.0.2.10>;expires=60,", n)}<sip:201@h>`, "REGISTER"),
  "Contact with an unterminated quote": (n) => withHeader(`Contact: "${fill("a,<", n)}`, "REGISTER"),
  "Contact of backslashes in quotes": (n) => withHeader(`Contact: "${fill("\\\\", n)}" <sip:a@b>`, "REGISTER"),
  "From display name of many words": (n) => request("INVITE", [VIA, "Max-Forwards: 70", `From: ${fill("a ", n)}<sip:201@a.example>;tag=1`, "To: <sip:301@a.example>", "Call-ID: c1", "CSeq: 1 INVITE"]),
  "To with many angle brackets": (n) => request("INVITE", [VIA, "Max-Forwards: 70", "From: <sip:201@a.example>;tag=1", `To: ${fill("<", n)}sip:301@a.example>`, "Call-ID: c1", "CSeq: 1 INVITE"]),
  "To with many semicolons": (n) => request("INVITE", [VIA, "Max-Forwards: 70", "From: <sip:201@a.example>;tag=1", `To: <sip:301@a.example>${fill(" ;", n)}`, "Call-ID: c1", "CSeq: 1 INVITE"]),
  "header folded over many lines": (n) => withHeader(`Subject: a${fill("\r\n b", n)}`),
  "header folded over blank lines": (n) => withHeader(`Subject:${fill("\r\n ", n)}x`),
  "many header lines": (n) => withHeader(fill("X-A: 1\r\n", n).slice(0, -2)),
  "Request-URI with many parameters": (n) => request("OPTIONS", [VIA, ...REST, "CSeq: 1 OPTIONS"], `sip:301@a.example${fill(";x", n)}`),
  "Request-URI with many escapes": (n) => request("OPTIONS", [VIA, ...REST, "CSeq: 1 OPTIONS"], `sip:${fill("%41", n)}@a.example`),
  "Request-Line with a run of blanks": (n) => `OPTIONS${fill(" ", n)}sip:a@b SIP/2.0\r\n${[VIA, ...REST, "CSeq: 1 OPTIONS"].join("\r\n")}\r\n\r\n`,
  "Status-Line reason of blanks": (n) => `SIP/2.0 200 ${fill(" ", n)}OK\r\n${[VIA, ...REST, "CSeq: 1 INVITE"].join("\r\n")}\r\n\r\n`,
  "CSeq with a run of blanks": (n) => request("OPTIONS", [VIA, ...REST, `CSeq: 1${fill(" ", n)}OPTIONS`]),
  "Content-Length of zeros": (n) => withHeader(`Content-Length: ${fill("0", n)}`),
  "Call-ID of one long word": (n) => request("OPTIONS", [VIA, "From: <sip:201@a.example>;tag=1", "To: <sip:301@a.example>", `Call-ID: ${fill("c", n)}`, "CSeq: 1 OPTIONS"]),
  "body of line breaks": (n) => withHeader("Content-Type: text/plain") + fill("\r\n", n),
  "header section of bare line feeds": (n) => `OPTIONS sip:a@b SIP/2.0\n${[VIA, ...REST, "CSeq: 1 OPTIONS"].join("\n")}${fill("\nX: 1", n)}\n\n`,
};

const encoder = new TextEncoder();

/** Microseconds per parse: the best of several rounds, each long enough to outlast the timer's resolution. */
function cost(bytes: Uint8Array, limits: Partial<ParseLimits>): number {
  let iterations = 1;
  let t0 = performance.now();
  parseMessage(bytes, limits);
  let elapsed = performance.now() - t0;
  while (elapsed < 5 && iterations < 1 << 16) {
    iterations *= 4;
    t0 = performance.now();
    for (let i = 0; i < iterations; i++) parseMessage(bytes, limits);
    elapsed = performance.now() - t0;
  }
  let best = (elapsed * 1000) / iterations;
  for (let round = 0; round < 3; round++) {
    t0 = performance.now();
    for (let i = 0; i < iterations; i++) parseMessage(bytes, limits);
    best = Math.min(best, ((performance.now() - t0) * 1000) / iterations);
  }
  return best;
}

describe("parse cost is linear in the datagram", () => {
  it.each(Object.entries(SHAPES))("%s: 60 KB costs at most a few times more per byte than 1 KB", (_name, shape) => {
    const small = encoder.encode(shape(1_000));
    const large = encoder.encode(shape(60_000));
    expect(large.length).toBeLessThanOrEqual(MAX_UDP_PAYLOAD);
    expect(large.length / small.length).toBeGreaterThan(30);
    const perByteSmall = cost(small, OPEN) / small.length;
    const perByteLarge = cost(large, OPEN) / large.length;
    // Linear: about 1. Quadratic: about 60. Allowed: 6, for GC and cache effects on a shared machine.
    expect(perByteLarge / perByteSmall).toBeLessThan(6);
    // And in absolute terms: a 60 KB datagram of any shape is parsed well within a millisecond or two.
    expect(cost(large, OPEN)).toBeLessThan(20_000);
  });

  it("under the default limits every hostile 60 KB datagram is refused at once (513, the size bound)", () => {
    for (const shape of Object.values(SHAPES)) {
      const large = encoder.encode(shape(60_000));
      const r = parseMessage(large, DEFAULT_PARSE_LIMITS);
      expect(!r.ok && !r.keepalive && r.error.status).toBe(513);
      expect(cost(large, DEFAULT_PARSE_LIMITS)).toBeLessThan(5_000);
    }
  });
});
