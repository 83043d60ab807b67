// Mutation fuzzing of the gateway's whole receive path: valid SIP datagrams (typical traffic and the RFC 4475
// messages) mutated (bit flips, truncation, duplicated headers, blanks and commas, huge values, random bytes)
// and fed to ProxyCore.onDatagram with the core harness's listeners and scripted worker. Counts what must
// never happen (an exception out of onDatagram, an internal error caught inside it, an unhandled rejection,
// an event the worker's contract refuses) and measures time per datagram and memory. Used by the CI-sized
// test (test/unit/proxy/fuzz-receive.test.ts) and by the 1M-datagram benchmark (bench/fuzz-receive.ts).
import { readdirSync, readFileSync } from "node:fs";
import { requestEventSchema, responseEventSchema } from "../../../contract/v1";
import type { RequestDecisionInput } from "../../../contract/v1";
import type { WorkerAnswer } from "../../../edge-gateway/src/worker-client/worker-client";
import type { RequestDecision } from "../../../contract/v1";
import { serializeMessage } from "../../../sip/serializer";
import type { SipHeader } from "../../../sip/message";
import { textBody } from "../../../sip/message";
import type { Sent } from "./core-harness";
import { ASTERISK, decide, flush, forward, PHONE_A, PHONE_B, PHONES_SIDE, setup } from "./core-harness";
import type { TransportAddress } from "../../../edge-gateway/src/transport/transport";

/** Deterministic PRNG (mulberry32): a failure reproduces from its seed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const encoder = new TextEncoder();
const GW = `${PHONES_SIDE.ip}:${PHONES_SIDE.port}`;
const SDP = "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n";

function msg(lines: readonly string[], body = ""): Uint8Array {
  return encoder.encode(`${lines.join("\r\n")}\r\nContent-Length: ${encoder.encode(body).length}\r\n\r\n${body}`);
}

/** Typical traffic of a phone-facing socket. */
function typical(): Uint8Array[] {
  const via = "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-f1;rport";
  const from = 'From: "Alice" <sip:201@tenant-a.example>;tag=f1';
  return [
    msg(["REGISTER sip:tenant-a.example SIP/2.0", via, "Max-Forwards: 70", from, "To: <sip:201@tenant-a.example>", "Call-ID: reg-1@10.0.0.5", "CSeq: 2 REGISTER",
      'Contact: <sip:201@10.0.0.5:5060;transport=udp>;expires=3600;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"',
      'Authorization: Digest username="201", realm="tenant-a.example", nonce="5f1b2c", uri="sip:tenant-a.example", response="0123456789abcdef0123456789abcdef", algorithm=MD5',
      "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS", "Supported: path, gruu, outbound", "User-Agent: Yealink SIP-T46S", "Expires: 3600"]),
    msg(["INVITE sip:301@tenant-a.example SIP/2.0", via, "Max-Forwards: 70", from, "To: <sip:301@tenant-a.example>", "Call-ID: inv-1@10.0.0.5", "CSeq: 1 INVITE",
      "Contact: <sip:201@10.0.0.5:5060>", "Content-Type: application/sdp", "Route: <sip:proxy.example;lr>, <sip:other.example;lr>"], SDP),
    msg(["OPTIONS sip:201@tenant-a.example SIP/2.0", via, "Max-Forwards: 70", from, "To: <sip:201@tenant-a.example>", "Call-ID: opt-1@10.0.0.5", "CSeq: 7 OPTIONS", "Accept: application/sdp"]),
    msg(["BYE sip:301@198.51.100.10:5060 SIP/2.0", via, "Max-Forwards: 70", from, "To: <sip:301@tenant-a.example>;tag=t1", "Call-ID: inv-1@10.0.0.5", "CSeq: 2 BYE",
      `Route: <sip:${GW};lr>`]),
    msg(["ACK sip:301@198.51.100.10:5060 SIP/2.0", via, "Max-Forwards: 70", from, "To: <sip:301@tenant-a.example>;tag=t1", "Call-ID: inv-1@10.0.0.5", "CSeq: 1 ACK",
      `Route: <sip:${GW};lr>`]),
    msg(["CANCEL sip:301@tenant-a.example SIP/2.0", via, "Max-Forwards: 70", from, "To: <sip:301@tenant-a.example>", "Call-ID: inv-1@10.0.0.5", "CSeq: 1 CANCEL"]),
    msg(["SIP/2.0 180 Ringing", `Via: SIP/2.0/UDP ${GW};branch=z9hG4bK-gw-1, SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-a1;received=198.51.100.10`,
      'From: "PBX" <sip:100@tenant-a.example>;tag=p1', "To: <sip:201@tenant-a.example>;tag=t9", "Call-ID: pbx-1@198.51.100.10", "CSeq: 101 INVITE",
      "Contact: <sip:201@10.0.0.5:5060>", `Record-Route: <sip:${GW};lr>`]),
    msg(["SIP/2.0 200 OK", `Via: SIP/2.0/UDP ${GW};branch=z9hG4bK-gw-2`, "From: <sip:201@tenant-a.example>;tag=f2", "To: <sip:201@tenant-a.example>;tag=r2",
      "Call-ID: reg-2@10.0.0.5", "CSeq: 3 REGISTER", "Contact: <sip:201@192.0.2.1:5060;erb=abc>;expires=300, <sip:201@10.9.9.9>;expires=60", "Expires: 300"]),
  ];
}

/** How many of the seeds are typical traffic (they come first). */
const TYPICAL = 8;

const decoder = new TextDecoder();

/** `seed` with its `-f1` branch and `-1@` Call-ID made unique by `n`. */
function freshIds(seed: Uint8Array, n: number): Uint8Array {
  return encoder.encode(decoder.decode(seed).replaceAll("z9hG4bK-f1", `z9hG4bK-f${n}`).replaceAll("-1@10.0.0.5", `-${n}@10.0.0.5`));
}

/** The seeds: typical traffic, then every RFC 4475 message. */
export function seeds(): Uint8Array[] {
  const dir = new URL("../../fixtures/rfc4475/", import.meta.url);
  const torture = readdirSync(dir)
    .filter((f) => f.endsWith(".dat"))
    .sort()
    .map((f) => new Uint8Array(readFileSync(new URL(f, dir))));
  return [...typical(), ...torture];
}

const INTERESTING = [..."\r\n \t:;,<>\"\\@[]%=/?0123456789-*"].map((c) => c.charCodeAt(0));
const HEADER_NAMES = ["Via", "v", "Route", "Record-Route", "Contact", "m", "From", "To", "Call-ID", "CSeq", "Content-Length", "l", "Max-Forwards", "Proxy-Require", "Expires", "Path"];

function indexOfSeq(b: Uint8Array, seq: readonly number[], from: number): number {
  outer: for (let i = from; i + seq.length <= b.length; i++) {
    for (let k = 0; k < seq.length; k++) if (b[i + k] !== seq[k]) continue outer;
    return i;
  }
  return -1;
}

function splice(b: Uint8Array, at: number, removeCount: number, insert: Uint8Array): Uint8Array {
  const remove = Math.max(0, Math.min(removeCount, b.length - at));
  const out = new Uint8Array(b.length - remove + insert.length);
  out.set(b.subarray(0, at));
  out.set(insert, at);
  out.set(b.subarray(at + remove), at + insert.length);
  return out;
}

/** One mutation of `input`, chosen by `rnd`. */
export function mutate(input: Uint8Array, rnd: () => number, all: readonly Uint8Array[]): Uint8Array {
  const pick = (n: number): number => Math.floor(rnd() * n);
  let b = input;
  const rounds = rnd() < 0.7 ? 1 : 2 + pick(2);
  for (let r = 0; r < rounds; r++) {
    const at = pick(b.length + 1);
    switch (pick(12)) {
      case 0: { // bit flips
        b = b.slice();
        for (let k = 1 + pick(4); k > 0; k--) {
          const i = pick(b.length);
          b[i] = (b[i] ?? 0) ^ (1 << pick(8));
        }
        break;
      }
      case 1: { // an interesting or random byte set
        b = b.slice();
        if (b.length > 0) b[pick(b.length)] = rnd() < 0.7 ? (INTERESTING[pick(INTERESTING.length)] ?? 0) : pick(256);
        break;
      }
      case 2: // truncation
        b = b.subarray(0, at);
        break;
      case 3: { // a header line duplicated, many times
        const start = indexOfSeq(b, [13, 10], pick(b.length));
        const end = start === -1 ? -1 : indexOfSeq(b, [13, 10], start + 2);
        if (end > start) {
          const line = b.subarray(start, end);
          const times = 1 + (rnd() < 0.1 ? pick(400) : pick(4));
          const rep = new Uint8Array(line.length * times);
          for (let k = 0; k < times; k++) rep.set(line, k * line.length);
          b = splice(b, end, 0, rep);
        }
        break;
      }
      case 4: { // a run of blanks, commas, semicolons or folds
        const unit = [[0x20], [0x09], [0x2c], [0x3b], [0x2c, 0x20], [13, 10, 0x20], [0x3a], [0x22], [0x3c]][pick(9)] ?? [0x20];
        const times = rnd() < 0.2 ? 1000 + pick(15_000) : 1 + pick(50);
        const rep = new Uint8Array(unit.length * times);
        for (let k = 0; k < times; k++) rep.set(unit, k * unit.length);
        b = splice(b, at, 0, rep);
        break;
      }
      case 5: { // a huge header value
        const name = HEADER_NAMES[pick(HEADER_NAMES.length)] ?? "Via";
        const filler = String.fromCharCode(INTERESTING[pick(INTERESTING.length)] ?? 0x61).repeat(pick(20_000));
        const line = encoder.encode(`\r\n${name}: ${rnd() < 0.5 ? "SIP/2.0/UDP h" : "<sip:a@b>"}${filler}`);
        const first = indexOfSeq(b, [13, 10], 0);
        b = splice(b, first === -1 ? b.length : first, 0, line);
        break;
      }
      case 6: // a range deleted
        b = splice(b, at, Math.min(b.length - at, 1 + pick(64)), new Uint8Array(0));
        break;
      case 7: { // a range copied elsewhere
        const from = pick(b.length);
        b = splice(b, at, 0, b.slice(from, from + 1 + pick(200)));
        break;
      }
      case 8: { // a piece of another message spliced in
        const other = all[pick(all.length)] ?? b;
        const from = pick(other.length);
        b = splice(b, at, pick(32), other.slice(from, from + 1 + pick(300)));
        break;
      }
      case 9: // random bytes
        b = Uint8Array.from({ length: pick(rnd() < 0.05 ? 65_507 : 600) }, () => pick(256));
        return b;
      case 10: { // Content-Length changed
        const text = new TextDecoder().decode(b);
        const values = ["0", "-1", "99999999999999999999", String(pick(2000)), "1e3", " 5 ", ""];
        b = encoder.encode(text.replace(/(Content-Length|\nl)\s*:[^\r\n]*/i, `$1: ${values[pick(values.length)] ?? "0"}`));
        break;
      }
      default: { // bytes outside ASCII, invalid UTF-8 included
        const bad = Uint8Array.from({ length: 1 + pick(8) }, () => 0x80 + pick(128));
        b = splice(b, at, 0, bad);
      }
    }
  }
  return b.length > 65_507 ? b.subarray(0, 65_507) : b;
}

const ANSWERS: readonly (readonly [number, string])[] = [
  [100, "Trying"],
  [180, "Ringing"],
  [200, "OK"],
  [401, "Unauthorized"],
  [486, "Busy Here"],
  [503, "Service Unavailable"],
];

/**
 * A peer's answer to a request the gateway sent: the Vias, From, To (with a tag), Call-ID and CSeq copied
 * (RFC 3261 8.2.6.2), so that it matches the gateway's client transaction and drives the response path.
 */
function answer(sent: Sent, rnd: () => number): { bytes: Uint8Array; from: TransportAddress } | undefined {
  const req = sent.message;
  if (req.kind !== "request" || req.method === "ACK") return undefined;
  const [status, reason] = ANSWERS[Math.floor(rnd() * ANSWERS.length)] ?? [200, "OK"];
  const headers: SipHeader[] = [];
  for (const h of req.headers) {
    if (h.name === "Via" || h.name === "From" || h.name === "Call-ID" || h.name === "CSeq" || h.name === "Record-Route") headers.push(h);
    else if (h.name === "To") headers.push(status > 100 && !h.value.includes("tag=") ? { name: "To", value: `${h.value};tag=peer${Math.floor(rnd() * 1000)}` } : h);
  }
  headers.push({ name: "Contact", value: `<sip:peer@${sent.to.ip}:${sent.to.port}>;expires=300` });
  const body = status === 200 && req.method === "INVITE" ? textBody(SDP) : textBody("");
  return { bytes: serializeMessage({ kind: "response", status, reason, headers, body }), from: sent.to };
}

export interface FuzzStats {
  readonly datagrams: number;
  /** Exceptions that escaped onDatagram. */
  readonly thrown: number;
  /** Exceptions onDatagram caught itself (edge_gateway_internal_errors_total) and error log lines. */
  readonly internalErrors: number;
  readonly unhandledRejections: number;
  /** Worker events the contract's own validation refuses. */
  readonly invalidEvents: number;
  readonly workerEvents: number;
  readonly sent: number;
  /** RSS in MB at the start, the middle and the end (after a GC when exposed). */
  readonly rssMb: readonly [number, number, number];
  /** V8 heap in use, MB, at the same points (after a GC when exposed): what the run holds on to. */
  readonly heapMb: readonly [number, number, number];
  /** Client transactions still in the transaction layer at the end (after every timer has run out). */
  readonly clientTransactionsLeft: number;
  /** Synchronous time inside onDatagram per datagram, microseconds. */
  readonly meanUs: number;
  readonly p99Us: number;
  readonly maxUs: number;
  readonly seconds: number;
  /** The first few failing inputs, for reproduction. */
  readonly failures: readonly string[];
  /** The slowest input, base64. */
  readonly slowest: string;
}

function memoryMb(): [rss: number, heap: number] {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return [Math.round((m.rss / 1048576) * 10) / 10, Math.round((m.heapUsed / 1048576) * 10) / 10];
}

export interface FuzzOptions {
  readonly count: number;
  readonly seed?: number;
  /** Stops early (with fewer datagrams) once this many seconds have passed. */
  readonly maxSeconds?: number;
  /** Called every 100,000 datagrams. */
  readonly onProgress?: (stats: FuzzStats) => void;
}

/** Feeds up to `count` mutated datagrams through a fresh proxy core. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzStats> {
  const { count, seed = 1, maxSeconds = Infinity, onProgress } = options;
  const rnd = random(seed);
  const all = seeds();
  const h = setup({ twoListeners: rnd() < 0.5 });
  let unhandled = 0;
  const onUnhandled = (): void => {
    unhandled++;
  };
  process.on("unhandledRejection", onUnhandled);
  const decisions: RequestDecisionInput[] = [
    { action: "reply", status: 404, reason: "Not Found" },
    { action: "relay", targets: [{ requestUri: "sip:100@198.51.100.10:5060", nextHop: { ip: ASTERISK.ip, port: ASTERISK.port }, side: "pbx" }], recordRoute: true, wantResponse: "final" },
    { action: "relay", targets: [
      { requestUri: "sip:201@10.0.0.5", nextHop: { ip: PHONE_A.ip, port: PHONE_A.port }, side: "phones" },
      { requestUri: "sip:201@10.0.0.6", nextHop: { ip: PHONE_B.ip, port: PHONE_B.port }, side: "phones" },
    ], recordRoute: true },
    { action: "drop", reason: "fuzz" },
  ];
  let invalidEvents = 0;
  let workerEvents = 0;
  h.worker.onRequest = (ev): WorkerAnswer<RequestDecision> => {
    workerEvents++;
    if (!requestEventSchema.safeParse(JSON.parse(JSON.stringify(ev))).success) invalidEvents++;
    const r = rnd();
    if (r < 0.05) return { ok: false, reason: "unavailable", detail: "fuzz" };
    return decide(decisions[Math.floor(r * decisions.length)] ?? { action: "drop", reason: "" });
  };
  h.worker.onResponse = (ev) => {
    workerEvents++;
    if (!responseEventSchema.safeParse(JSON.parse(JSON.stringify(ev))).success) invalidEvents++;
    return forward();
  };

  const times = new Float32Array(count);
  const slowest: { us: number; input: Uint8Array } = { us: 0, input: new Uint8Array(0) };
  const failures: string[] = [];
  let thrown = 0;
  let errorLogs = 0;
  let sent = 0;
  const [rss0, heap0] = memoryMb();
  const rss: [number, number, number] = [rss0, 0, 0];
  const heap: [number, number, number] = [heap0, 0, 0];
  const mark = (k: 1 | 2): void => {
    [rss[k], heap[k]] = memoryMb();
  };
  let clientsLeft = 0;
  let done = 0;
  const started = performance.now();
  const sources = [PHONE_A, PHONE_B, ASTERISK];
  const snapshot = (done: number): FuzzStats => {
    let sum = 0;
    let max = 0;
    for (let i = 0; i < done; i++) {
      const t = times[i] ?? 0;
      sum += t;
      if (t > max) max = t;
    }
    const sorted = times.slice(0, done).sort();
    return {
      datagrams: done,
      thrown,
      internalErrors: h.metrics.get("edge_gateway_internal_errors_total") + errorLogs,
      unhandledRejections: unhandled,
      invalidEvents,
      workerEvents,
      sent,
      rssMb: [rss[0], rss[1], rss[2]],
      heapMb: [heap[0], heap[1], heap[2]],
      clientTransactionsLeft: clientsLeft,
      meanUs: done === 0 ? 0 : sum / done,
      p99Us: sorted[Math.min(done - 1, Math.floor(done * 0.99))] ?? 0,
      maxUs: max,
      seconds: (performance.now() - started) / 1000,
      failures,
      slowest: Buffer.from(slowest.input).toString("base64"),
    };
  };
  // Answers from the peers to what the gateway sent, fed back in (sometimes mutated) among the datagrams.
  const answers: { bytes: Uint8Array; from: TransportAddress }[] = [];
  try {
    for (let i = 0; i < count; i++) {
      let input: Uint8Array;
      let source: TransportAddress;
      const queued = answers.length > 0 && rnd() < 0.3 ? answers.shift() : undefined;
      if (queued !== undefined) {
        input = rnd() < 0.7 ? queued.bytes : mutate(queued.bytes, rnd, all);
        source = queued.from;
      } else {
        // Half typical traffic, half any seed (the RFC 4475 messages keep their branches: their copies are
        // mostly absorbed as retransmissions, as a real flood of one message would be).
        const which = Math.floor(rnd() * (rnd() < 0.5 ? TYPICAL : all.length));
        let base: Uint8Array = all[which] ?? new Uint8Array(0);
        // A fresh branch and Call-ID for typical traffic, so that not every copy is absorbed as a retransmission.
        if (which < TYPICAL) base = freshIds(base, i);
        input = rnd() < 0.1 ? base : mutate(base, rnd, all);
        source = sources[Math.floor(rnd() * sources.length)] ?? PHONE_A;
      }
      const listener = source.ip === ASTERISK.ip ? h.pbx : h.phones;
      const t0 = performance.now();
      try {
        h.core.onDatagram(input, source, listener);
      } catch (err) {
        thrown++;
        if (failures.length < 5) failures.push(`${String(err)}: ${Buffer.from(input).toString("base64")}`);
      }
      times[i] = (performance.now() - t0) * 1000;
      if ((times[i] ?? 0) > slowest.us) {
        slowest.us = times[i] ?? 0;
        slowest.input = input;
      }
      if ((i & 63) === 63) {
        await flush(); // the worker's answers
        const out = h.take();
        sent += out.length;
        for (const s of out) {
          if (answers.length >= 256 || rnd() < 0.5) continue;
          const a = answer(s, rnd);
          if (a !== undefined) answers.push(a);
        }
        for (const l of h.logs) if (l.level === "error") errorLogs++;
        h.logs.length = 0;
        h.worker.requests.length = 0;
        h.worker.responses.length = 0;
      }
      if ((i & 1023) === 1023) h.clock.advance(20_000); // transactions time out and go away
      if (i === Math.floor(count / 2)) mark(1);
      done = i + 1;
      if (done % 100_000 === 0) {
        onProgress?.(snapshot(done));
        if ((performance.now() - started) / 1000 > maxSeconds) break;
      }
    }
    if (rss[1] === 0) mark(1);
    await flush();
    sent += h.take().length;
    for (let k = 0; k < 20; k++) {
      h.clock.advance(60_000);
      await flush();
    }
    clientsLeft = (h.core as unknown as { layer: { clients: Map<unknown, unknown> } }).layer.clients.size;
    h.core.close();
    mark(2);
    return snapshot(done);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
}
