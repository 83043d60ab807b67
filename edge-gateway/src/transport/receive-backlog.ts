/**
 * The bytes waiting in a UDP listener's receive buffer now, read from the kernel's socket table
 * (`/proc/self/net/udp` and `udp6`, Linux; the column `rx_queue`: the buffer space the queued datagrams take,
 * each counted with the kernel's own overhead, not only its payload).
 *
 * Why: the queue-delay probe (queue-delay.ts) learns a delay only once its datagram comes out of the queue, so
 * what it reports is as old as the delay itself. This reading is of the queue as it is now, and scaled by what
 * the last probe learnt (the time a byte of the queue waits) it gives a delay without that lag.
 *
 * The table has one line per UDP socket of the network namespace; the listener's line is found by its bound
 * address, which no other socket can hold. Where the table cannot be read (another OS), or takes longer than
 * MAX_READ_MS to read (thousands of sockets), there is no reader and the probe alone measures the queue.
 */
import { readFileSync } from "node:fs";
import { endianness } from "node:os";
import { isIP } from "node:net";
import { ipBytes } from "../ingress/ip-address";
import type { TransportAddress } from "./transport";

/** Bytes in the receive buffer now; undefined when the socket's line is not (or no longer) in the table. */
export type ReceiveBacklog = () => number | undefined;

/** Reads a socket table's text (`udp` or `udp6`); throws when there is none. */
export type SocketTableReader = (table: "udp" | "udp6") => string;

/** The longest a read of the table may take (ms) for it to be read on every sample. */
export const MAX_READ_MS = 1;

const readProcTable: SocketTableReader = (table) => readFileSync(`/proc/self/net/${table}`, "latin1");

/**
 * A reader of `local`'s receive backlog, or undefined when the kernel's table cannot be read here or the
 * address is not a literal IP.
 */
export function receiveBacklog(local: TransportAddress, read: SocketTableReader = readProcTable): ReceiveBacklog | undefined {
  const ip = local.ip.startsWith("[") && local.ip.endsWith("]") ? local.ip.slice(1, -1) : local.ip;
  const family = isIP(ip);
  if (family === 0) return undefined;
  const table = family === 4 ? "udp" : "udp6";
  // The line starts "<slot>: <local address> <remote address> <state> <tx_queue>:<rx_queue> ...".
  const key = `: ${addressHex(ip, family)}:${local.port.toString(16).toUpperCase().padStart(4, "0")} `;
  const once = (): number | undefined => {
    const text = read(table);
    const at = text.indexOf(key);
    if (at < 0) return undefined;
    // Past the local address: the remote address, the state, then tx_queue:rx_queue (hex).
    const end = text.indexOf("\n", at);
    const fields = text.slice(at + key.length, end < 0 ? text.length : end).trimStart().split(/\s+/, 3);
    const queues = fields[2]?.split(":");
    const rx = queues?.length === 2 ? Number.parseInt(queues[1] ?? "", 16) : Number.NaN;
    return Number.isFinite(rx) ? rx : undefined;
  };
  try {
    once();
    // A table of thousands of sockets (a media server on the same host) is too dear to read some 30 times a
    // second on the event loop: then there is no reader, and the probe alone measures the queue.
    const started = performance.now();
    once();
    if (performance.now() - started > MAX_READ_MS) return undefined;
  } catch {
    return undefined;
  }
  return () => {
    try {
      return once();
    } catch {
      return undefined;
    }
  };
}

/** The address as the kernel's table prints it: each 32-bit word in the host's byte order, in hex. */
function addressHex(ip: string, family: number): string {
  const parsed = ipBytes(ip) ?? new Uint8Array(0);
  // ipBytes gives an IPv4-mapped IPv6 address as its IPv4 bytes; the udp6 table prints it mapped.
  const bytes = family === 6 && parsed.length === 4 ? Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...parsed]) : parsed;
  const littleEndian = endianness() === "LE";
  let hex = "";
  for (let w = 0; w < bytes.length; w += 4) {
    const word = Array.from(bytes.subarray(w, w + 4));
    if (littleEndian) word.reverse();
    for (const b of word) hex += b.toString(16).toUpperCase().padStart(2, "0");
  }
  return hex;
}
