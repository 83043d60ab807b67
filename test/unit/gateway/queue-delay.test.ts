// The receive queue's delay, measured in band by a probe datagram (transport/queue-delay.ts), on real UDP
// sockets: small while the loop reads at once, the time the loop was blocked when it was, and nobody but the
// probe socket can make a datagram count as a probe.
import { createSocket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { PACE_MIN_BYTES, QueueDelayProbe } from "../../../edge-gateway/src/transport/queue-delay";
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
      if (probe) seen.push(probe.delay().ms);
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
    expect(probe.delay().ms).toBeLessThan(20);
    // 150 datagrams at once, 2 ms of work each: the socket buffer holds a backlog of ~300 ms, read 32 at a time
    // (libuv), the timers (and so the probes) running between batches.
    const sender = createSocket("udp4");
    await new Promise<void>((r) => sender.bind(0, "127.0.0.1", () => r()));
    cleanup.push(() => new Promise<void>((r) => sender.close(() => r())));
    for (let i = 0; i < 150; i++) sender.send(Buffer.from(`OPTIONS ${i}`), listener.local.port, "127.0.0.1");
    while (passed.length < 150) await sleep(20);
    expect(Math.max(...seen)).toBeGreaterThanOrEqual(100);
    await sleep(150);
    expect(probe.delay().ms).toBeLessThan(20);
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

  /**
   * A probe every 20 ms on a fake clock, fake buffer and fake busy time: each probe comes out 50 ms after it
   * was sent; a SIP datagram "read" is one the test hands to intercept.
   */
  async function paced(bytes: number | undefined): Promise<{
    probe: QueueDelayProbe;
    clock: { t: number };
    buffer: { bytes: number | undefined };
    busy: { ms: number };
    read: (n: number) => void;
  }> {
    const clock = { t: 0 };
    const buffer = { bytes };
    const busy = { ms: 0 };
    let probe: QueueDelayProbe | undefined;
    const listener = await listenUdp(
      { ip: "127.0.0.1", port: 0 },
      (b, source, on) => {
        clock.t += 50;
        probe?.intercept(b, source, on.local);
      },
      () => undefined,
    );
    cleanup.push(() => listener.close());
    probe = await QueueDelayProbe.start(listener.local, 20, { now: () => clock.t, backlog: () => buffer.bytes, activeMs: () => busy.ms });
    cleanup.push(() => probe!.close());
    const stranger = { ip: "127.0.0.1", port: 1, transport: "udp" as const };
    const read = (n: number): void => {
      for (let i = 0; i < n; i++) probe!.intercept(Buffer.from("OPTIONS sip:x SIP/2.0\r\n\r\n"), stranger, listener.local);
    };
    return { probe, clock, buffer, busy, read };
  }

  it("with the buffer's bytes to read, the delay is the datagrams queued now times the loop's busy time per datagram read", async () => {
    const { probe, clock, buffer, busy, read } = await paced(100_000);
    expect(probe.delay().current).toBe(false);
    // The first probe went out behind 100,000 bytes: the 40 datagrams read before it comes out were those
    // bytes, 2,500 each. The loop was busy 12 ms reading them: 0.3 ms each.
    read(40);
    busy.ms = 12;
    while (clock.t === 0) await sleep(5);
    await sleep(60);
    buffer.bytes = 200_000;
    expect(probe.delay().current).toBe(true);
    expect(probe.delay().ms).toBeCloseTo((200_000 / 2_500) * 0.3, 6);
    // A buffer that drained reads no delay at once, not the delay of the last probe.
    buffer.bytes = 0;
    expect(probe.delay()).toMatchObject({ ms: 0, current: true });
    // The loop now reads three times faster (most requests refused): the same queue waits a third as long.
    read(30);
    busy.ms += 3;
    await sleep(60);
    buffer.bytes = 200_000;
    expect(probe.delay().ms).toBeLessThan((200_000 / 2_500) * 0.3 * 0.7);
    // Without a reading of the buffer, the probe's own delay.
    buffer.bytes = undefined;
    expect(probe.delay().current).toBe(false);
  });

  it("a probe sent behind too few bytes teaches nothing: the delay stays the probe's", async () => {
    const { probe, clock, busy, read } = await paced(PACE_MIN_BYTES - 1);
    read(40);
    busy.ms = 12;
    while (clock.t === 0) await sleep(5);
    await sleep(60);
    expect(probe.delay().current).toBe(false);
  });

  it("datagrams read on another listener are not this one's", async () => {
    const { probe, clock, busy } = await paced(100_000);
    const other = { ip: "127.0.0.1", port: 2, transport: "udp" as const };
    for (let i = 0; i < 40; i++) probe.intercept(Buffer.from("OPTIONS sip:x SIP/2.0\r\n\r\n"), { ip: "127.0.0.1", port: 1, transport: "udp" }, other);
    busy.ms = 12;
    while (clock.t === 0) await sleep(5);
    await sleep(60);
    expect(probe.delay().current).toBe(false);
  });
});
