// Overload control end to end over real UDP: with the gateway's bound on server transactions in progress
// set low (MAX_TRANSACTIONS=2) and the tenant's Asterisk hung (a socket that reads and never answers), two
// phones' REGISTERs stay in progress. A third phone's REGISTER gets one 503 with a jittered Retry-After,
// sent statelessly (never retransmitted), and nothing is relayed for it; a retransmission of a REGISTER in
// progress is absorbed by its transaction, not refused; a keep-alive to the gateway itself, which holds no
// state, is still answered. /metrics counts the refusal and the absorbed retransmission.
// Addresses: this file owns 127.0.34.x (see test/e2e/README.md):
//   .1:5060          the gateway (metrics on 127.0.0.1, a free port)
//   .11:5080         the tenant's Asterisk, hung
//   .21/.22/.23:5070 three phones
// Both runtimes (workers, then node), one after the other on the same addresses.
import dgram from "node:dgram";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTempDir, removeTempDir, stopAllStartedProcesses } from "../support/processes";
import { RUNTIMES, startTestStack, type TestStack } from "../support/stack";

const GW = { ip: "127.0.34.1", port: 5060 };
const BOX = { ip: "127.0.34.11", port: 5080 };
const DOMAIN = "overload.example";
const PHONES = ["127.0.34.21", "127.0.34.22", "127.0.34.23"] as const;
const RETRY_AFTER_S = 5; // the local stack's RETRY_AFTER_S

/** A UDP endpoint that records what it receives; it answers nothing. */
interface Endpoint {
  readonly received: string[];
  send(text: string): void;
  close(): Promise<void>;
}

function endpoint(ip: string, port: number): Promise<Endpoint> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    const received: string[] = [];
    s.on("message", (m) => received.push(m.toString("utf8")));
    s.once("error", reject);
    s.bind(port, ip, () =>
      resolve({
        received,
        send: (text) => s.send(text.replace(/\r?\n/g, "\r\n"), GW.port, GW.ip),
        close: () => new Promise<void>((done) => s.close(() => done())),
      }),
    );
  });
}

function register(ip: string, user: string, branch: string): string {
  return `REGISTER sip:${DOMAIN} SIP/2.0
Via: SIP/2.0/UDP ${ip}:5070;branch=${branch};rport
Max-Forwards: 70
From: <sip:${user}@${DOMAIN}>;tag=ov${user}
To: <sip:${user}@${DOMAIN}>
Call-ID: ${branch}@overload
CSeq: 1 REGISTER
Contact: <sip:${user}@${ip}:5070>
Expires: 300
Content-Length: 0

`;
}

function keepalive(ip: string, branch: string): string {
  return `OPTIONS sip:${GW.ip}:${GW.port} SIP/2.0
Via: SIP/2.0/UDP ${ip}:5070;branch=${branch};rport
Max-Forwards: 70
From: <sip:ka@${DOMAIN}>;tag=ka1
To: <sip:${GW.ip}:${GW.port}>
Call-ID: ${branch}@overload
CSeq: 1 OPTIONS
Content-Length: 0

`;
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(RUNTIMES)("%s runtime", (runtime) => {
  let work: string;
  let stack: TestStack;
  let box: Endpoint;
  let phones: Endpoint[];

  beforeAll(async () => {
    work = await createTempDir(`overload-${runtime}`);
    box = await endpoint(BOX.ip, BOX.port);
    phones = await Promise.all(PHONES.map((ip) => endpoint(ip, 5070)));
    stack = await startTestStack(work, GW, { runtime, metricsPort: 0, maxTransactions: 2 });
    await stack.addTenant(DOMAIN, `sip:${BOX.ip}:${BOX.port}`);
  });

  afterAll(async () => {
    await stack?.close();
    await Promise.all([box, ...(phones ?? [])].filter(Boolean).map((e) => e.close()));
    await stopAllStartedProcesses();
    await removeTempDir(work);
  });

  it("past MAX_TRANSACTIONS refuses a new request once, statelessly, relays nothing for it, and keeps the requests in progress", async () => {
    const [p1, p2, p3] = phones as [Endpoint, Endpoint, Endpoint];
    const tag = runtime === "workers" ? "w" : "n";
    const first = register(PHONES[0], "201", `z9hG4bKov${tag}1`);
    p1.send(first);
    p2.send(register(PHONES[1], "202", `z9hG4bKov${tag}2`));
    // Both relayed to the hung Asterisk: two server transactions in progress, the bound.
    const relayed = (callId: string) => box.received.some((m) => m.startsWith("REGISTER ") && m.includes(`Call-ID: ${callId}`));
    await until("both REGISTERs at the Asterisk", () => relayed(`z9hG4bKov${tag}1@overload`) && relayed(`z9hG4bKov${tag}2@overload`));

    p3.send(register(PHONES[2], "203", `z9hG4bKov${tag}3`));
    await until("an answer to the third phone", () => p3.received.length > 0, 3000);
    const refusal = p3.received[0]!;
    expect(refusal).toMatch(/^SIP\/2\.0 503 /);
    const retryAfter = Number(/\r\nRetry-After: (\d+)\r\n/.exec(refusal)?.[1]);
    expect(retryAfter).toBeGreaterThanOrEqual(RETRY_AFTER_S);
    expect(retryAfter).toBeLessThanOrEqual(2 * RETRY_AFTER_S);
    expect(refusal).toMatch(new RegExp(`\\r\\nVia: SIP/2\\.0/UDP ${PHONES[2].replace(/\./g, "\\.")}:5070;branch=z9hG4bKov${tag}3`));

    // A retransmission of a REGISTER in progress reaches its transaction: no 503, no new relay of its own.
    p1.send(first);
    // Past T1 (500 ms) and then some: a stateful 503 would have been sent again by now.
    await sleep(1200);
    expect(p3.received).toHaveLength(1);
    expect(box.received.some((m) => m.includes(`Call-ID: z9hG4bKov${tag}3@overload`))).toBe(false);
    expect(p1.received.filter((m) => m.startsWith("SIP/2.0 503"))).toEqual([]);

    // What holds no state is still answered: a keep-alive to the gateway itself.
    p3.send(keepalive(PHONES[2], `z9hG4bKka${tag}1`));
    await until("the keep-alive's answer", () => p3.received.length > 1, 3000);
    expect(p3.received[1]).toMatch(/^SIP\/2\.0 200 /);

    const metrics = await (await fetch(`${stack.gateway.metricsUrl!}/metrics`)).text();
    expect(metrics).toMatch(/^edge_gateway_rejections_total\{reason="overload_transactions"\} 1$/m);
    const absorbed = /^edge_gateway_retransmissions_absorbed_total(?:\{[^}]*\})? (\d+)$/m.exec(metrics);
    expect(Number(absorbed?.[1])).toBeGreaterThanOrEqual(1);
  });
});
