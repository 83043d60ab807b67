/**
 * The transport seam: the proxy core sends and receives datagrams through this interface and never touches
 * a socket. Only udp-transport.ts imports node:dgram.
 */

/** A transport address. IPv6 addresses are written without brackets. */
export interface TransportAddress {
  readonly ip: string;
  readonly port: number;
  readonly transport: "udp";
}

/** One listening socket of the gateway. */
export interface Listener {
  /** The bound address. */
  readonly local: TransportAddress;
  /** The address written in Via/Record-Route/Contact (a public address behind 1:1 NAT, say). */
  readonly advertised: { readonly host: string; readonly port: number };
  send(bytes: Uint8Array, to: TransportAddress): void;
}

/** Called for each datagram received on a listener. */
export type DatagramHandler = (bytes: Uint8Array, source: TransportAddress, listener: Listener) => void;
