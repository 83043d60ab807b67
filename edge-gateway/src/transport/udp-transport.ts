/** SIP over UDP with node:dgram: one socket per listen address, IPv4 or IPv6. */
import { createSocket, type Socket } from "node:dgram";
import type { DatagramHandler, Listener, TransportAddress } from "./transport";

export interface UdpListenOptions {
  readonly ip: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly advertisedHost?: string | undefined;
  readonly advertisedPort?: number | undefined;
}

export interface UdpListener extends Listener {
  close(): Promise<void>;
}

/** Binds a UDP socket and delivers each datagram to `onDatagram`; send errors are reported, never thrown. */
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
  const listener: UdpListener = {
    local,
    advertised: { host: options.advertisedHost ?? local.ip, port: options.advertisedPort ?? local.port },
    send(bytes, to) {
      socket.send(bytes, to.port, to.ip, (err) => {
        if (err) onError(err);
      });
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on("error", onError);
  socket.on("message", (msg, rinfo) => {
    onDatagram(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), { ip: rinfo.address, port: rinfo.port, transport: "udp" }, listener);
  });
  return listener;
}
