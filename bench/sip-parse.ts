/**
 * Rough timing of the SIP grammar on a typical REGISTER and INVITE: prints parses per second and
 * microseconds per parse. Run: npx tsx bench/sip-parse.ts
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

function time(name: string, bytes: Uint8Array, iterations: number): void {
  for (let i = 0; i < iterations / 10; i++) parseMessage(bytes);
  const start = performance.now();
  for (let i = 0; i < iterations; i++) parseMessage(bytes);
  const ms = performance.now() - start;
  console.log(`${name}: ${Math.round((iterations / ms) * 1000)} parses/s, ${((ms * 1000) / iterations).toFixed(2)} µs/parse`);
}

const encoder = new TextEncoder();
time("REGISTER", encoder.encode(register), 200_000);
time("INVITE+SDP", encoder.encode(invite), 200_000);

const parsed = parseMessage(encoder.encode(invite));
if (parsed.ok) {
  const message = parsed.message;
  const start = performance.now();
  for (let i = 0; i < 200_000; i++) serializeMessage(message);
  const ms = performance.now() - start;
  console.log(`serialize INVITE+SDP: ${((ms * 1000) / 200_000).toFixed(2)} µs`);
}
