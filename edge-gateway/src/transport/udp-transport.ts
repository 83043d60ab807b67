/** SIP over UDP with node:dgram: one socket per listen address, IPv4 or IPv6. */
import { createSocket, type Socket } from "node:dgram";
import type { DatagramHandler, Listener, TransportAddress } from "./transport";

export interface UdpListenOptions {
  readonly ip: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly advertisedHost?: string | undefined;
  readonly advertisedPort?: number | undefined;
  /**
   * Each datagram leaves when `send` is called, not with the rest of the turn's: for the queue-delay probe,
   * whose send time is taken as it sends (batched, it would also count the rest of the turn's work).
   */
  readonly sendAtOnce?: boolean;
}

export interface UdpListener extends Listener {
  close(): Promise<void>;
}

/**
 * Binds a UDP socket and delivers each datagram to `onDatagram`; send errors are reported, never thrown.
 *
 * Sends go out together, in order, once the event loop has run the callbacks of its current I/O phase
 * (`setImmediate`): libuv reads up to 32 datagrams per socket per turn, and the answers to all of them leave
 * back to back. A datagram to a receiver that sleeps costs the sender its wake-up (on loopback the send runs
 * the receiver's side of the stack): on this 2-core VM 30-40 µs per send one at a time, 11-21 µs in bursts
 * of 4-16 (docs/benchmarks.md). Under load that is the largest single item of the main thread's profile. An
 * idle gateway's turn holds one datagram, so it adds nothing to a lone request's latency.
 */
export async function listenUdp(
  options: UdpListenOptions,
  onDatagram: DatagramHandler,
  onError: (err: Error) => void,
): Promise<UdpListener> {
  const family = options.ip.includes(":") ? "udp6" : "udp4";
  const socket: Socket = createSocket({ type: family, reuseAddr: false, recvBufferSize: 4 * 1024 * 1024 });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(options.port, options.ip, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  const bound = socket.address();
  const local: TransportAddress = { ip: bound.address, port: bound.port, transport: "udp" };
  const reportError = (err: Error | null): void => {
    if (err) onError(err);
  };
  let outbox: { readonly bytes: Uint8Array; readonly to: TransportAddress }[] = [];
  let flushing: NodeJS.Immediate | undefined;
  const flush = (): void => {
    flushing = undefined;
    const batch = outbox;
    outbox = [];
    for (const { bytes, to } of batch) socket.send(bytes, to.port, to.ip, reportError);
  };
  const listener: UdpListener = {
    local,
    advertised: { host: options.advertisedHost ?? local.ip, port: options.advertisedPort ?? local.port },
    send(bytes, to) {
      if (options.sendAtOnce) {
        socket.send(bytes, to.port, to.ip, reportError);
        return;
      }
      outbox.push({ bytes, to });
      flushing ??= setImmediate(flush);
    },
    close: async () => {
      // What was handed to send before close still goes out (a drain's last 503s).
      if (flushing !== undefined) {
        clearImmediate(flushing);
        flush();
      }
      // dgram resolves a send's address on the next tick: the sends reach the socket before it closes.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
  socket.on("error", onError);
  socket.on("message", (msg, rinfo) => {
    onDatagram(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), { ip: rinfo.address, port: rinfo.port, transport: "udp" }, listener);
  });
  return listener;
}
