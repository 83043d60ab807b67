import type { SipMessage, SipResponse } from "../../../sip/message";
import type { Clock } from "./clock";
import type { TimerDurations } from "./timers";

/** Where a message goes: the transport layer resolves nothing, it sends to this address. UDP only. */
export interface Destination {
  readonly ip: string;
  readonly port: number;
  readonly transport: "udp";
}

/**
 * A response already serialised: what an answered non-INVITE server transaction keeps for Timer J (32 s)
 * in place of the parsed message, so that it can answer a retransmitted request with the same bytes.
 */
export interface EncodedResponse {
  readonly kind: "response";
  readonly status: number;
  readonly bytes: Uint8Array;
}

/**
 * Hands a message to the transport layer. A synchronous throw counts as a fatal transport error for the
 * transaction that sent it (17.1.4, 17.2.4); asynchronous failures are reported with `transportError()`.
 */
export type SendFn = (message: SipMessage | EncodedResponse, destination: Destination) => void;

/** What every transaction needs from its environment. */
export interface TransactionContext {
  readonly clock: Clock;
  readonly timers: TimerDurations;
  readonly send: SendFn;
}

/** Callbacks from a client transaction to its transaction user (the proxy core); `T` is the transaction. */
export interface ClientTransactionUser<T> {
  /** A response the transaction passes up (provisional, first final, and for INVITE every 2xx it sees). */
  onResponse(response: SipResponse, transaction: T): void;
  /** Timer B or Timer F fired without a final response (17.1.1.2, 17.1.2.2). */
  onTimeout?(transaction: T): void;
  /** The transport failed to send a message of this transaction (17.1.4). */
  onTransportError?(transaction: T, cause: unknown): void;
  /** The transaction reached Terminated; it is gone from the transaction layer. */
  onTerminated?(transaction: T): void;
}

/** Callbacks from a server transaction to its transaction user; requests reach the TU as return values. */
export interface ServerTransactionUser<T> {
  /** Timer H fired: the ACK for a non-2xx final response never came (17.2.1). */
  onTimeout?(transaction: T): void;
  /** The transport failed to send a response of this transaction (17.2.4). */
  onTransportError?(transaction: T, cause: unknown): void;
  /** The transaction reached Terminated; it is gone from the transaction layer. */
  onTerminated?(transaction: T): void;
}

/** Incoming response handling: passed up to the TU, absorbed, or not for this (already terminated) transaction. */
export type ResponseDisposition = "delivered" | "absorbed" | "terminated";

/**
 * Incoming request handling: absorbed as a retransmission or ACK; `pass` for an ACK that the TU must see
 * (one matching an INVITE server transaction in Accepted, RFC 6026 section 8.6); or not for this
 * (terminated) transaction.
 */
export type RequestDisposition = "absorbed" | "pass" | "terminated";
