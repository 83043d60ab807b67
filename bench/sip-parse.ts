/**
 * Throughput of the SIP grammar on a typical REGISTER and INVITE: CPU time per parse, per serialisation and
 * per round trip (parse then serialise), and the messages per second one core sustains at that cost.
 * Run: npx tsx bench/sip-parse.ts (ITERATIONS=n to change the 100,000 calls per round).
 */

import { parseMessage, serializeMessage } from "../sip/index";

const register = [
  "REGISTER sip:tenant-a.example SIP/2.0",
  "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK776asdhds;rport",
  "Max-Forwards: 70",
  "From: \"Alice\" <sip:201@tenant-a.example>;tag=a73kszlfl",
  "To: <sip:201@tenant-a.example>",
  "Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.10",
  "CSeq: 2 REGISTER",
  'Contact: <sip:201@192.0.2.10:5070;transport=udp>;expires=3600;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"',
  "Authorization: Digest username=\"201\", realm=\"tenant-a.example\", nonce=\"5f1b2c\", uri=\"sip:tenant-a.example\", response=\"0123456789abcdef0123456789abcdef\", algorithm=MD5",
  "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY, MESSAGE",
  "Supported: path, gruu, outbound",
  "User-Agent: Yealink SIP-T46S 66.86.0.15",
  "Expires: 3600",
  "Content-Length: 0",
  "",
  "",
].join("\r\n");

const sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n";
const invite = [
  "INVITE sip:301@tenant-a.example SIP/2.0",
  "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKnashds8;rport",
  "Max-Forwards: 70",
  "From: \"Alice\" <sip:201@tenant-a.example>;tag=1928301774",
  "To: <sip:301@tenant-a.example>",
  "Call-ID: a84b4c76e66710@192.0.2.10",
  "CSeq: 314159 INVITE",
  "Contact: <sip:201@192.0.2.10:5070>",
  "Content-Type: application/sdp",
  `Content-Length: ${sdp.length}`,
  "",
  sdp,
].join("\r\n");

/**
 * CPU microseconds per call of `fn` (user + system time of this process, so other processes on a shared
 * machine do not count), best of `rounds` rounds of `iterations` calls after a warm-up.
 */
function cpuMicros(fn: () => void, iterations: number, rounds = 5): number {
  for (let i = 0; i < iterations / 5; i++) fn();
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const before = process.cpuUsage();
    for (let i = 0; i < iterations; i++) fn();
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / iterations);
  }
  return best;
}

const encoder = new TextEncoder();
const ITERATIONS = Number(process.env.ITERATIONS ?? 100_000);
let worst = 0;
for (const [name, text] of [
  ["REGISTER", register],
  ["INVITE+SDP", invite],
] as const) {
  const bytes = encoder.encode(text);
  const result = parseMessage(bytes);
  if (!result.ok) throw new Error(`${name} does not parse`);
  const message = result.message;
  const parse = cpuMicros(() => parseMessage(bytes), ITERATIONS);
  const serialize = cpuMicros(() => serializeMessage(message), ITERATIONS);
  const both = cpuMicros(() => {
    const r = parseMessage(bytes);
    if (r.ok) serializeMessage(r.message);
  }, ITERATIONS);
  worst = Math.max(worst, both);
  console.log(
    `${name} (${bytes.length} bytes): parse ${parse.toFixed(2)} µs, serialize ${serialize.toFixed(2)} µs, ` +
      `parse+serialize ${both.toFixed(2)} µs = ${Math.round(1e6 / both).toLocaleString("en")} messages/s on one core`,
  );
}
console.log(`slowest: ${Math.round(1e6 / worst).toLocaleString("en")} messages/s parsed and serialised again per core (CPU time)`);
