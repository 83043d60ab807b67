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
  let closed = false;
  const flush = (): void => {
    flushing = undefined;
    const batch = outbox;
    outbox = [];
    for (const { bytes, to } of batch) {
      // send() refused at once what dgram throws for; whatever else it throws here has no caller left to
      // tell, and must not end the process.
      try {
        socket.send(bytes, to.port, to.ip, reportError);
      } catch (err) {
        onError(err instanceof Error ? err : new Error(String(err)));
      }
    }
  };
  const listener: UdpListener = {
    local,
    advertised: { host: options.advertisedHost ?? local.ip, port: options.advertisedPort ?? local.port },
    send(bytes, to) {
      // What dgram's send throws for (a closed socket, a port out of range: a hostile Via can name port 0)
      // is thrown here, to the caller, as an unbatched send throws it: a transaction makes it a transport error.
      if (options.sendAtOnce || closed) {
        socket.send(bytes, to.port, to.ip, reportError);
        return;
      }
      if (!Number.isInteger(to.port) || to.port < 1 || to.port > 65535) throw new RangeError(`UDP send: bad port ${to.port}`);
      outbox.push({ bytes, to });
      flushing ??= setImmediate(flush);
    },
    close: async () => {
      closed = true;
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
