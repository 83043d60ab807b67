// The memory of relayed challenges behind overload control's preference for their answers: bounded, used up
// once per challenge, forgotten after one or two lifetimes, and never opened by a stranger.
import { describe, expect, it } from "vitest";
import { ChallengeAnswers } from "../../../edge-gateway/src/proxy/challenge-answers";
import type { SipRequest } from "../../../sip/message";
import { addr, request } from "./support";

const PHONE = addr("203.0.113.50", 40000);

function register(options: { callId?: string; fromTag?: string; toTag?: string; auth?: boolean } = {}): SipRequest {
  return request([
    "REGISTER sip:tenant-a.example SIP/2.0",
    "Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK-ca",
    "Max-Forwards: 70",
    `From: <sip:401@tenant-a.example>;tag=${options.fromTag ?? "f1"}`,
    `To: <sip:401@tenant-a.example>${options.toTag ? `;tag=${options.toTag}` : ""}`,
    `Call-ID: ${options.callId ?? "c1"}`,
    "CSeq: 1 REGISTER",
    ...(options.auth === false ? [] : ['Authorization: Digest username="401", nonce="n", response="0"']),
    "Content-Length: 0",
  ]);
}

function memory(max = 100, lifetimeMs = 1_000): { answers: ChallengeAnswers; advance: (ms: number) => void } {
  let now = 0;
  return { answers: new ChallengeAnswers(max, lifetimeMs, () => now), advance: (ms) => (now += ms) };
}

describe("ChallengeAnswers", () => {
  it("remembers a 401 or 407 sent for an out-of-dialog request, and admits its answer once", () => {
    const { answers } = memory();
    answers.noteFinal(register({ auth: false }), PHONE, 401);
    answers.noteFinal(register({ callId: "c2", auth: false }), PHONE, 407);
    expect(answers.size).toBe(2);
    expect(answers.takeAnswer(register(), PHONE)).toBe(true);
    expect(answers.takeAnswer(register(), PHONE)).toBe(false);
    expect(answers.takeAnswer(register({ callId: "c2" }), PHONE)).toBe(true);
    expect(answers.size).toBe(0);
  });

  it("ignores other statuses and in-dialog requests; an answer must carry credentials and match address, Call-ID and From tag", () => {
    const { answers } = memory();
    for (const status of [200, 403, 404, 423, 500]) answers.noteFinal(register({ auth: false }), PHONE, status);
    answers.noteFinal(register({ toTag: "t", auth: false }), PHONE, 401);
    expect(answers.size).toBe(0);
    answers.noteFinal(register({ auth: false }), PHONE, 401);
    expect(answers.takeAnswer(register({ auth: false }), PHONE)).toBe(false);
    expect(answers.takeAnswer(register(), addr("203.0.113.50", 40001))).toBe(false);
    expect(answers.takeAnswer(register(), addr("203.0.113.51", 40000))).toBe(false);
    expect(answers.takeAnswer(register({ callId: "c9" }), PHONE)).toBe(false);
    expect(answers.takeAnswer(register({ fromTag: "f9" }), PHONE)).toBe(false);
    // Those misses used nothing up.
    expect(answers.takeAnswer(register(), PHONE)).toBe(true);
  });

  it("keeps an entry for between one and two lifetimes", () => {
    const { answers, advance } = memory(100, 1_000);
    answers.noteFinal(register({ callId: "early", auth: false }), PHONE, 401);
    advance(999);
    answers.noteFinal(register({ callId: "late", auth: false }), PHONE, 401);
    advance(1); // 1,000: one rotation; both are in the previous generation now.
    expect(answers.takeAnswer(register({ callId: "early" }), PHONE)).toBe(true);
    answers.noteFinal(register({ callId: "early", auth: false }), PHONE, 401); // noted again at 1,000
    advance(1_000); // 2,000: "late" (noted at 999) is gone; "early" (1,000) moves to the previous generation.
    expect(answers.takeAnswer(register({ callId: "late" }), PHONE)).toBe(false);
    expect(answers.takeAnswer(register({ callId: "early" }), PHONE)).toBe(true);
    // A long quiet spell forgets everything at once.
    answers.noteFinal(register({ callId: "quiet", auth: false }), PHONE, 401);
    advance(5_000);
    expect(answers.takeAnswer(register({ callId: "quiet" }), PHONE)).toBe(false);
    expect(answers.size).toBe(0);
  });

  it("holds at most `max` entries per generation: a flood of challenges is not all remembered", () => {
    const { answers, advance } = memory(3, 1_000);
    for (let i = 0; i < 10; i++) answers.noteFinal(register({ callId: `f${i}`, auth: false }), PHONE, 401);
    expect(answers.size).toBe(3);
    expect(answers.takeAnswer(register({ callId: "f9" }), PHONE)).toBe(false);
    expect(answers.takeAnswer(register({ callId: "f0" }), PHONE)).toBe(true);
    advance(1_000);
    for (let i = 10; i < 20; i++) answers.noteFinal(register({ callId: `f${i}`, auth: false }), PHONE, 401);
    expect(answers.size).toBe(5); // 2 left in the previous generation, 3 in the current one
  });
});
