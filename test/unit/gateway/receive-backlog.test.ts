// The bytes queued in a listener's receive buffer, from the kernel's socket table
// (transport/receive-backlog.ts): the listener's own line by its bound address, IPv4 and IPv6, and the
// kernel's real table (Linux, as the gateway runs), with a socket whose process does not read.
import { spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { endianness } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_READ_MS, receiveBacklog } from "../../../edge-gateway/src/transport/receive-backlog";

const HEADER = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n";
const line = (slot: number, local: string, remote: string, rx: string): string =>
  `${String(slot).padStart(5)}: ${local} ${remote} 07 00000000:${rx} 00:00000000 00000000     0        0 1753736 2 00000000780d2d32 0\n`;

/** A 32-bit word of an address as the table prints it: in the host's byte order. */
const word = (hex: string): string => (endianness() === "LE" ? (hex.match(/../g) ?? []).reverse().join("") : hex);
const v4 = (hex: string, port: string): string => `${word(hex)}:${port}`;
const v6 = (hex: string, port: string): string => `${(hex.match(/.{8}/g) ?? []).map(word).join("")}:${port}`;
const NO_PEER = v4("00000000", "0000");
const NO_PEER6 = v6("0".repeat(32), "0000");

describe("receiveBacklog", () => {
  it("reads rx_queue from the listener's own line, not from a socket connected to it nor one on another address", () => {
    // 127.0.0.1:5060 and 127.0.0.12:5060, and a socket connected to 127.0.0.1:5060.
    const table =
      HEADER +
      line(1, v4("7F00000C", "13C4"), NO_PEER, "00000400") +
      line(2, v4("7F000001", "D431"), v4("7F000001", "13C4"), "00000800") +
      line(3, v4("7F000001", "13C4"), NO_PEER, "00221300");
    const read = receiveBacklog({ ip: "127.0.0.1", port: 5060, transport: "udp" }, () => table);
    expect(read?.()).toBe(0x221300);
    expect(receiveBacklog({ ip: "127.0.0.12", port: 5060, transport: "udp" }, () => table)?.()).toBe(0x400);
    // A wildcard listener's line is 0.0.0.0's.
    const wildcard = HEADER + line(4, v4("00000000", "13C4"), NO_PEER, "00000900");
    expect(receiveBacklog({ ip: "0.0.0.0", port: 5060, transport: "udp" }, () => wildcard)?.()).toBe(0x900);
  });

  it("reads IPv6 listeners from the udp6 table", () => {
    const tables = {
      udp: HEADER,
      udp6:
        HEADER +
        line(7, v6("00000000000000000000000000000001", "13C4"), NO_PEER6, "00000A00") +
        line(8, v6("20010DB8000000000000000000000001", "13C4"), NO_PEER6, "00000B00"),
    };
    expect(receiveBacklog({ ip: "::1", port: 5060, transport: "udp" }, (t) => tables[t])?.()).toBe(0xa00);
    expect(receiveBacklog({ ip: "[2001:db8::1]", port: 5060, transport: "udp" }, (t) => tables[t])?.()).toBe(0xb00);
  });

  it("gives no reading for a socket not in the table, and no reader where the table cannot be read or the host is a name", () => {
    const read = receiveBacklog({ ip: "127.0.0.1", port: 5060, transport: "udp" }, () => HEADER);
    expect(read).toBeDefined();
    expect(read?.()).toBeUndefined();
    const missing = () => {
      throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
    };
    expect(receiveBacklog({ ip: "127.0.0.1", port: 5060, transport: "udp" }, missing)).toBeUndefined();
    expect(receiveBacklog({ ip: "gw.example.net", port: 5060, transport: "udp" }, () => HEADER)).toBeUndefined();
  });

  it("gives no reader when reading the table takes longer than MAX_READ_MS (a host with thousands of sockets)", () => {
    const slow = (): string => {
      const end = performance.now() + MAX_READ_MS + 1;
      while (performance.now() < end) {
        // A table of many sockets, formatted by the kernel on every read.
      }
      return HEADER;
    };
    expect(receiveBacklog({ ip: "127.0.0.1", port: 5060, transport: "udp" }, slow)).toBeUndefined();
  });
});

describe("receiveBacklog on the kernel's table", () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill("SIGKILL");
    child = undefined;
  });

  it("counts the datagrams queued for a socket that is not read, and nothing once they are gone", async () => {
    // A process that binds a socket, says its port, and then blocks its event loop: nothing is read.
    const script =
      "const s=require('dgram').createSocket('udp4');s.bind(0,'127.0.0.1',()=>{process.stdout.write(s.address().port+'\\n');" +
      "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,10000)});";
    child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const port = await new Promise<number>((resolve, reject) => {
      child!.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
      child!.once("exit", () => reject(new Error("the child exited")));
    });
    const read = receiveBacklog({ ip: "127.0.0.1", port, transport: "udp" });
    expect(read).toBeDefined();
    expect(read!()).toBe(0);
    const sender = createSocket("udp4");
    for (let i = 0; i < 20; i++) await new Promise<void>((r) => sender.send(Buffer.alloc(600, 0x41), port, "127.0.0.1", () => r()));
    sender.close();
    // Each datagram takes its payload and the kernel's overhead.
    expect(read!()).toBeGreaterThanOrEqual(20 * 600);
    child.kill("SIGKILL");
    await new Promise((r) => child!.once("exit", r));
    child = undefined;
    // The socket closed with its process: its line is gone.
    expect(read!()).toBeUndefined();
  });
});
