// Property tests: whatever bytes arrive, parseMessage answers with a ParseResult and never throws; what it
// accepts serialises and parses back to the same message.
import { describe, it, expect } from "vitest";
import { parseMessage, serializeMessage } from "../../../sip/index";
import type { ParseResult, SipMessage } from "../../../sip/index";
import { fixture } from "./support";

/** Deterministic PRNG (mulberry32), so a failure reproduces with its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEEDS = fixtureNames();

function fixtureNames(): Uint8Array[] {
  return [
    "register-valid.sip",
    "register-compact-forms-valid.sip",
    "invite-folded-headers-valid.sip",
    "response-401-two-www-authenticate-valid.sip",
    "invite-ipv6-valid.sip",
    "torture-odd-spacing-valid.sip",
    "torture-escaped-uri-valid.sip",
  ].map(fixture);
}

const INTERESTING = [..."\r\n \t:;,<>\"\\@[]%=/?0123456789-"].map((c) => c.charCodeAt(0));

function mutate(input: Uint8Array, rnd: () => number): Uint8Array {
  let bytes = Array.from(input);
  const rounds = 1 + Math.floor(rnd() * 4);
  for (let r = 0; r < rounds; r++) {
    const at = Math.floor(rnd() * (bytes.length + 1));
    const pick = (): number => (rnd() < 0.6 ? (INTERESTING[Math.floor(rnd() * INTERESTING.length)] ?? 0) : Math.floor(rnd() * 256));
    switch (Math.floor(rnd() * 6)) {
      case 0:
        bytes[at] = pick();
        break;
      case 1:
        bytes.splice(at, 0, ...Array.from({ length: 1 + Math.floor(rnd() * 8) }, pick));
        break;
      case 2:
        bytes.splice(at, 1 + Math.floor(rnd() * 16));
        break;
      case 3:
        bytes = bytes.slice(0, at);
        break;
      case 4: {
        const from = Math.floor(rnd() * bytes.length);
        bytes.splice(at, 0, ...bytes.slice(from, from + 1 + Math.floor(rnd() * 40)));
        break;
      }
      default:
        bytes[at] = (bytes[at] ?? 0) ^ (1 << Math.floor(rnd() * 8));
    }
  }
  return Uint8Array.from(bytes);
}

function withoutContentLength(message: SipMessage): SipMessage {
  return { ...message, headers: message.headers.filter((h) => h.name !== "Content-Length") };
}

function checkResult(result: ParseResult, input: Uint8Array): void {
  if (result.ok) {
    // Whatever is accepted can be written and read back unchanged, but for a recomputed Content-Length.
    const written = serializeMessage(result.message);
    const again = parseMessage(written);
    const before = JSON.stringify(withoutContentLength(result.message));
    const after = again.ok ? JSON.stringify(withoutContentLength(again.message)) : "not ok";
    const rewritten = again.ok ? new TextDecoder().decode(serializeMessage(again.message)) : "";
    if (after !== before || rewritten !== new TextDecoder().decode(written)) {
      const context = `round trip of ${JSON.stringify(new TextDecoder().decode(input))}`;
      expect(after, context).toBe(before);
      expect(rewritten, context).toBe(new TextDecoder().decode(written));
    }
    return;
  }
  if (result.keepalive) return;
  const { error, partial } = result;
  const consistent =
    error.reason !== "Unparseable message" && // the reason of an internal exception, caught
    [400, 414, 416, 505, 513].includes(error.status) &&
    error.replyable === (partial !== undefined && partial.method !== "ACK");
  if (!consistent) expect.fail(`${error.status} ${error.reason} for ${JSON.stringify(new TextDecoder().decode(input))}`);
}

describe("parseMessage never throws", () => {
  it("on random bytes", () => {
    const rnd = random(1);
    for (let i = 0; i < 2_000; i++) {
      const input = Uint8Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256));
      checkResult(parseMessage(input), input);
    }
  });

  it("on random printable text shaped like SIP", () => {
    const rnd = random(2);
    const alphabet = "INVITE REGISTER SIP/2.0 sip: Via: To: From: CSeq: Call-ID: l: v: \r\n;,<>\"@[]:0123456789 abc";
    for (let i = 0; i < 2_000; i++) {
      let text = "";
      const n = Math.floor(rnd() * 400);
      for (let k = 0; k < n; k++) text += alphabet[Math.floor(rnd() * alphabet.length)] ?? "";
      const input = new TextEncoder().encode(text);
      checkResult(parseMessage(input), input);
    }
  });

  it("on random mutations of valid messages, and keeps round trips stable", () => {
    const rnd = random(3);
    for (let i = 0; i < 6_000; i++) {
      const seed = SEEDS[i % SEEDS.length];
      if (seed === undefined) continue;
      const input = mutate(seed, rnd);
      checkResult(parseMessage(input), input);
    }
  });

  it("on every prefix of a valid message (truncated datagrams)", () => {
    for (const seed of SEEDS) {
      for (let n = 0; n <= seed.length; n++) {
        const input = seed.subarray(0, n);
        checkResult(parseMessage(input), input);
      }
    }
  });
});
