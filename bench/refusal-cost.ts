/**
 * What a refusal under overload costs the gateway's event loop in JavaScript, without sockets: a REGISTER and
 * a routed OPTIONS (each a new transaction) through ProxyCore.onDatagram with the load shedder refusing all
 * but 2 % of new requests, in the unit tests' core harness (test/unit/proxy/core-harness.ts) with a listener
 * that drops what it is given. Prints µs per datagram (mean of ITERATIONS, three rounds) beside the parse
 * alone. The receive and send system calls come on top (about 31 µs together on this machine's loopback:
 * docs/benchmarks.md).
 *
 *   npx tsx bench/refusal-cost.ts            (ITERATIONS=n to change the 200,000 per round)
 */
import { parseMessage } from "../sip/index";
import { PHONE_A, setup } from "../test/unit/proxy/core-harness";

const N = Number(process.env.ITERATIONS ?? 200_000);
// random 0.5 against a share of 0.98: every draw refuses but for the 2 % that a MAX_SHARE leaves.
const h = setup({ random: () => 0.5 });
for (let i = 0; i < 10; i++) h.core.overload.load.sample(5000, 1);
let sent = 0;
const sink = { local: h.phones.local, advertised: h.phones.advertised, send: (): void => void sent++ };
const enc = new TextEncoder();
const register = (n: number): Uint8Array =>
  enc.encode(
    `REGISTER sip:tenant-a.example SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-${n}-1\r\nMax-Forwards: 70\r\n` +
      `From: <sip:9123${n}@tenant-a.example>;tag=1234SIPpTag00${n}\r\nTo: <sip:9123${n}@tenant-a.example>\r\nCall-ID: ${n}-1234@127.0.0.1\r\n` +
      `CSeq: 1 REGISTER\r\nContact: <sip:9123${n}@127.0.0.1:5999>;expires=3600\r\nExpires: 3600\r\nUser-Agent: edge-bench\r\nContent-Length: 0\r\n\r\n`,
  );
const options = (n: number): Uint8Array =>
  enc.encode(
    `OPTIONS sip:201@192.0.2.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-${n}-1\r\nMax-Forwards: 70\r\n` +
      `From: "pbx" <sip:pbx@127.0.0.1>;tag=1234SIPpTag00${n}\r\nTo: <sip:201@192.0.2.1>\r\nCall-ID: ${n}-1234@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
  );

console.log(`refusal-cost: ${N.toLocaleString("en")} datagrams per round, refused share ${h.core.overload.load.refusedShare}`);
for (const [name, make] of [["REGISTER", register], ["OPTIONS", options]] as const) {
  const datagrams = Array.from({ length: N }, (_, i) => make(i));
  for (let round = 1; round <= 3; round++) {
    let t0 = performance.now();
    for (const d of datagrams) parseMessage(d);
    const parseUs = ((performance.now() - t0) * 1000) / N;
    const before = sent;
    t0 = performance.now();
    for (const d of datagrams) h.core.onDatagram(d, PHONE_A, sink);
    const us = ((performance.now() - t0) * 1000) / N;
    console.log(`  ${name.padEnd(8)} round ${round}: ${us.toFixed(2)} µs per refused datagram (the parse alone ${parseUs.toFixed(2)} µs); ${sent - before} answers sent`);
  }
}
