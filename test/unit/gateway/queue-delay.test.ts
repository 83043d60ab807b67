// The receive queue's delay, measured in band by a probe datagram (transport/queue-delay.ts), on real UDP
// sockets: small while the loop reads at once, the time the loop was blocked when it was, and nobody but the
// probe socket can make a datagram count as a probe.
import { createSocket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { QueueDelayProbe } from "../../../edge-gateway/src/transport/queue-delay";
import { listenUdp, type UdpListener } from "../../../edge-gateway/src/transport/udp-transport";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const block = (ms: number): void => {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // The event loop is blocked: datagrams wait in the socket's buffer.
  }
};

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A listener whose SIP datagrams each cost `costMs` of the event loop, with a probe every 20 ms beside it. */
async function setup(costMs = 0): Promise<{ listener: UdpListener; probe: QueueDelayProbe; passed: Uint8Array[]; seen: number[] }> {
  const passed: Uint8Array[] = [];
  /** The probe's delay as seen after each SIP datagram. */
  const seen: number[] = [];
  let probe: QueueDelayProbe | undefined;
  const listener = await listenUdp(
    { ip: "127.0.0.1", port: 0 },
    (bytes, source) => {
      if (probe?.intercept(bytes, source)) return;
      passed.push(bytes);
      block(costMs);
      if (probe) seen.push(probe.delayMs());
    },
    () => undefined,
  );
  probe = await QueueDelayProbe.start(listener.local, 20);
  cleanup.push(() => listener.close(), () => probe!.close());
  return { listener, probe, passed, seen };
}

describe("QueueDelayProbe", () => {
  it("reads a short delay while datagrams are read at once, and the backlog's delay while the loop is behind", async () => {
    const { listener, probe, passed, seen } = await setup(2);
    await sleep(100);
    expect(probe.delayMs()).toBeLessThan(20);
    // 150 datagrams at once, 2 ms of work each: the socket buffer holds a backlog of ~300 ms, read 32 at a time
    // (libuv), the timers (and so the probes) running between batches.
    const sender = createSocket("udp4");
    await new Promise<void>((r) => sender.bind(0, "127.0.0.1", () => r()));
    cleanup.push(() => new Promise<void>((r) => sender.close(() => r())));
    for (let i = 0; i < 150; i++) sender.send(Buffer.from(`OPTIONS ${i}`), listener.local.port, "127.0.0.1");
    while (passed.length < 150) await sleep(20);
    expect(Math.max(...seen)).toBeGreaterThanOrEqual(100);
    await sleep(150);
    expect(probe.delayMs()).toBeLessThan(20);
    // Its own datagrams never reach the SIP stack.
    expect(passed.every((b) => Buffer.from(b).toString().startsWith("OPTIONS "))).toBe(true);
    expect(probe.lost).toBe(0);
  });

  it("a datagram with the probe's text from any other source, or from the probe's address without its token, is SIP input", async () => {
    const { listener, probe, passed } = await setup();
    const stranger = createSocket("udp4");
    await new Promise<void>((r) => stranger.bind(0, "127.0.0.1", () => r()));
    cleanup.push(() => new Promise<void>((r) => stranger.close(() => r())));
    stranger.send(Buffer.from("edge-queue-probe 0123456789abcdef 1"), listener.local.port, "127.0.0.1");
    await sleep(50);
    expect(passed.map((b) => Buffer.from(b).toString())).toEqual(["edge-queue-probe 0123456789abcdef 1"]);
    expect(probe.intercept(Buffer.from("edge-queue-probe wrong 1"), probe.from)).toBe(false);
    expect(probe.intercept(Buffer.from("OPTIONS sip:x SIP/2.0\r\n\r\n"), probe.from)).toBe(false);
  });
});
