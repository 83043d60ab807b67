// The UDP transport (transport/udp-transport.ts) on real sockets on 127.0.0.1: the sends of one turn of the
// event loop leave together, in the order given, and whatever was handed to send before close still leaves.
import { createSocket, type Socket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { listenUdp, type UdpListener } from "../../../edge-gateway/src/transport/udp-transport";
import type { TransportAddress } from "../../../edge-gateway/src/transport/transport";

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

/** A plain socket that records what reaches it. */
async function receiver(): Promise<{ socket: Socket; at: TransportAddress; got: { text: string }[] }> {
  const socket = createSocket("udp4");
  const got: { text: string }[] = [];
  socket.on("message", (m) => got.push({ text: m.toString("latin1") }));
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", () => r()));
  open.push({ close: () => new Promise<void>((r) => socket.close(() => r())) });
  return { socket, at: { ip: "127.0.0.1", port: socket.address().port, transport: "udp" }, got };
}

async function listener(onDatagram: (bytes: Uint8Array, l: UdpListener) => void = () => undefined): Promise<UdpListener> {
  let self: UdpListener | undefined;
  const l = await listenUdp({ ip: "127.0.0.1", port: 0 }, (bytes) => onDatagram(bytes, self!), () => undefined);
  self = l;
  return l;
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}

describe("listenUdp: sending", () => {
  it("sends every datagram handed to it in one turn, in the order given", async () => {
    const r = await receiver();
    const l = await listener();
    open.push(l);
    for (let i = 0; i < 40; i++) l.send(bytes(`datagram ${i}`), r.at);
    await until(() => r.got.length === 40);
    expect(r.got.map((g) => g.text)).toEqual(Array.from({ length: 40 }, (_, i) => `datagram ${i}`));
  });

  it("answers to datagrams read in one turn leave together after them, each to its own address", async () => {
    const a = await receiver();
    const b = await receiver();
    const echo = await listener((data, l) => {
      const text = new TextDecoder().decode(data);
      l.send(bytes(`re: ${text}`), text.startsWith("a") ? a.at : b.at);
    });
    open.push(echo);
    const sender = createSocket("udp4");
    open.push({ close: () => new Promise<void>((r) => sender.close(() => r())) });
    for (let i = 0; i < 10; i++) sender.send(`${i % 2 === 0 ? "a" : "b"}${i}`, echo.local.port, "127.0.0.1");
    await until(() => a.got.length + b.got.length === 10);
    expect(a.got.map((g) => g.text)).toEqual(["re: a0", "re: a2", "re: a4", "re: a6", "re: a8"]);
    expect(b.got.map((g) => g.text)).toEqual(["re: b1", "re: b3", "re: b5", "re: b7", "re: b9"]);
  });

  it("a listener made to send at once (the queue probe's) sends ahead of the turn's batch", async () => {
    const r = await receiver();
    const batched = await listener();
    const atOnce = await listenUdp({ ip: "127.0.0.1", port: 0, sendAtOnce: true }, () => undefined, () => undefined);
    open.push(batched, atOnce);
    batched.send(bytes("handed first, sent with the turn"), r.at);
    atOnce.send(bytes("handed second, sent at once"), r.at);
    await until(() => r.got.length === 2);
    expect(r.got.map((g) => g.text)).toEqual(["handed second, sent at once", "handed first, sent with the turn"]);
  });

  it("a send the socket cannot take throws at once, as an unbatched one did, and the rest of the batch still goes out", async () => {
    const r = await receiver();
    const errors: Error[] = [];
    const l = await listenUdp({ ip: "127.0.0.1", port: 0 }, () => undefined, (e) => errors.push(e));
    open.push(l);
    l.send(bytes("before"), r.at);
    // A hostile Via may name port 0, or one past 65535: the transaction hears of it as a transport error.
    expect(() => l.send(bytes("to port 0"), { ...r.at, port: 0 })).toThrow(RangeError);
    expect(() => l.send(bytes("to port 70000"), { ...r.at, port: 70_000 })).toThrow(RangeError);
    l.send(bytes("after"), r.at);
    await until(() => r.got.length === 2);
    expect(r.got.map((g) => g.text)).toEqual(["before", "after"]);
    expect(errors).toEqual([]);
  });

  it("a send after close throws at once, as before, instead of failing later with nobody to tell", async () => {
    const r = await receiver();
    const l = await listener();
    await l.close();
    expect(() => l.send(bytes("too late"), r.at)).toThrow();
  });

  it("close still sends what was handed to send before it", async () => {
    const r = await receiver();
    const l = await listener();
    l.send(bytes("last 503"), r.at);
    l.send(bytes("and another"), r.at);
    await l.close();
    await until(() => r.got.length === 2);
    expect(r.got.map((g) => g.text)).toEqual(["last 503", "and another"]);
  });
});
