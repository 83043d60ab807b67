import type { SipRequest, SipResponse } from "../../../sip/message";
import { RealClock } from "./clock";
import type { Clock } from "./clock";
import { InviteClientTransaction } from "./invite-client-transaction";
import { InviteServerTransaction } from "./invite-server-transaction";
import { NonInviteClientTransaction } from "./non-invite-client-transaction";
import { NonInviteServerTransaction } from "./non-invite-server-transaction";
import { timerDurations } from "./timers";
import type { TimerConfig, TimerDurations } from "./timers";
import type {
  ClientTransactionUser,
  Destination,
  SendFn,
  ServerTransactionUser,
  TransactionContext,
} from "./transaction-context";
import { clientKeyOf, hasMagicCookie, serverKeyOf } from "./transaction-key";
import type { ResponseKey, TransactionKey } from "./transaction-key";

/** Either client transaction. */
export type ClientTransaction = InviteClientTransaction | NonInviteClientTransaction;
/** Either server transaction. */
export type ServerTransaction = InviteServerTransaction | NonInviteServerTransaction;
/** Any transaction of the layer. */
export type Transaction = ClientTransaction | ServerTransaction;

/** Construction options of a `TransactionLayer`; only `send` is required. */
export interface TransactionLayerOptions {
  /** Hands messages to the transport; a synchronous throw is a transport error of the sending transaction. */
  readonly send: SendFn;
  /** Defaults to a `RealClock`. */
  readonly clock?: Clock;
  /** Timer base values; RFC 3261 defaults for UDP where omitted. */
  readonly timers?: Partial<TimerConfig>;
  /** TU callbacks of every server transaction (Timer H timeout, transport error, termination). */
  readonly serverUser?: ServerTransactionUser<ServerTransaction>;
  /** Send 100 (Trying) as soon as an INVITE server transaction is created (default true, 17.2.1). */
  readonly sendTrying?: boolean;
  /** Hold that 100 until the TU calls `trying()` or this many ms pass with nothing sent (InviteServerTransaction). */
  readonly tryingAfterMs?: number;
  /** Called after any transaction terminated and left the layer (metrics). */
  readonly onTerminated?: (transaction: Transaction) => void;
}

/** What the core gives when it sends a request statefully. */
export interface SendRequestOptions {
  /** The branch of the top Via the core put in the request; must start with "z9hG4bK". */
  readonly branch: string;
  readonly destination: Destination;
  readonly user: ClientTransactionUser<ClientTransaction>;
}

/**
 * Outcome of an incoming request:
 * - `new`: a server transaction was created (for INVITE, 100 Trying is already sent); the TU handles it.
 * - `absorbed`: a retransmission or an ACK for a non-2xx, handled by its transaction; nothing to do.
 * - `ack`: an ACK that matches no server transaction, i.e. the ACK for a 2xx (its own branch) or a stray
 *   one; the core forwards it statelessly.
 * - `rfc2543`: the top Via branch lacks the magic cookie; RFC 2543 matching is not supported, so the core
 *   decides (forward statelessly or reject).
 */
export type IncomingRequestResult =
  | { readonly kind: "new"; readonly transaction: ServerTransaction }
  | { readonly kind: "absorbed"; readonly transaction: ServerTransaction }
  | { readonly kind: "ack" }
  | { readonly kind: "rfc2543" };

/**
 * Outcome of an incoming response:
 * - `delivered`: its client transaction passed it to the TU's `onResponse`.
 * - `absorbed`: a retransmission its transaction handled (re-ACKed or dropped).
 * - `stray`: no client transaction matches (e.g. a 2xx retransmission after the INVITE client transaction
 *   terminated); 18.1.2 passes it to the core, which forwards it statelessly (16.7).
 */
export type IncomingResponseResult =
  | { readonly kind: "delivered"; readonly transaction: ClientTransaction }
  | { readonly kind: "absorbed"; readonly transaction: ClientTransaction }
  | { readonly kind: "stray" };

/**
 * The RFC 3261 section 17 transaction layer: owns the client and server transaction maps, matches
 * incoming messages by pre-computed keys (17.1.3, 17.2.3), and removes transactions once Terminated.
 */
export class TransactionLayer {
  /** The resolved timer durations, including Timer C for the proxy core. */
  readonly timers: TimerDurations;
  readonly clock: Clock;
  private readonly context: TransactionContext;
  private readonly serverUser: ServerTransactionUser<ServerTransaction>;
  private readonly sendTrying: boolean;
  private readonly tryingAfterMs: number | undefined;
  private readonly onAnyTerminated: ((transaction: Transaction) => void) | undefined;
  private readonly clients = new Map<string, ClientTransaction>();
  private readonly servers = new Map<string, ServerTransaction>();
  /**
   * Server transactions that were in progress when last looked at: states only move forward (17.2), so one
   * that has left Trying/Proceeding is dropped the next time the count is asked for, and each transaction
   * enters and leaves this set once.
   */
  private readonly progressing = new Set<ServerTransaction>();
  /** The layer's bookkeeping when a server transaction ends: one function for all of them. */
  private readonly serverEnded = (transaction: ServerTransaction): void => {
    const id = serverKeyOf(transaction);
    if (this.servers.get(id) === transaction) this.servers.delete(id);
    this.progressing.delete(transaction);
    this.onAnyTerminated?.(transaction);
  };
  /** The same for a client transaction. */
  private readonly clientEnded = (transaction: ClientTransaction): void => {
    const id = clientKeyOf(transaction.branch, transaction.method);
    if (this.clients.get(id) === transaction) this.clients.delete(id);
    this.onAnyTerminated?.(transaction);
  };

  constructor(options: TransactionLayerOptions) {
    this.timers = timerDurations(options.timers);
    this.clock = options.clock ?? new RealClock();
    this.context = { clock: this.clock, timers: this.timers, send: options.send };
    this.serverUser = options.serverUser ?? {};
    this.sendTrying = options.sendTrying ?? true;
    this.tryingAfterMs = options.tryingAfterMs;
    this.onAnyTerminated = options.onTerminated;
  }

  /**
   * Matches an incoming request to a server transaction (17.2.3) or creates one. `key.method` must be the
   * request's method; `replyTo` is where this request's responses go (18.2.2, received/rport applied).
   */
  receiveRequest(request: SipRequest, key: TransactionKey, replyTo: Destination): IncomingRequestResult {
    if (key.method !== request.method) {
      throw new RangeError(`TransactionKey method ${key.method} does not match request method ${request.method}`);
    }
    // 17.2.3: matching by branch applies only if the branch "is present and begins with the magic cookie
    // "z9hG4bK""; RFC 2543 matching is not supported here: the core answers such requests 400.
    if (!hasMagicCookie(key.branch)) return { kind: "rfc2543" };
    const id = serverKeyOf(key);
    const existing = this.servers.get(id);
    if (existing !== undefined) {
      const disposition = existing.receiveRequest(request);
      if (disposition === "absorbed") return { kind: "absorbed", transaction: existing };
      // RFC 6026 8.6: an ACK matching an INVITE transaction in Accepted goes to the TU, like any ACK for a 2xx.
      if (disposition === "pass") return { kind: "ack" };
      this.servers.delete(id);
      this.progressing.delete(existing);
    }
    // 17.2.3 matches an ACK to the INVITE's transaction; the ACK for a 2xx has a branch of its own and is
    // not part of any transaction (17.1.1.3), so it goes to the core.
    if (request.method === "ACK") return { kind: "ack" };
    const transaction = this.createServer(request, key, replyTo);
    this.servers.set(id, transaction);
    this.progressing.add(transaction);
    if (transaction.kind === "invite-server") transaction.start();
    return { kind: "new", transaction };
  }

  /** Matches an incoming response to its client transaction by top Via branch and CSeq method (17.1.3). */
  receiveResponse(response: SipResponse, key: ResponseKey): IncomingResponseResult {
    const id = clientKeyOf(key.branch, key.method);
    const transaction = this.clients.get(id);
    if (transaction === undefined) return { kind: "stray" };
    const disposition = transaction.receiveResponse(response);
    if (disposition === "terminated") {
      this.clients.delete(id);
      return { kind: "stray" };
    }
    return { kind: disposition, transaction };
  }

  /**
   * Sends `request` statefully: creates the INVITE or non-INVITE client transaction, registers it under
   * `branch` and the method, and transmits. ACK is refused (it is never a client transaction of its own).
   */
  sendRequest(request: SipRequest, options: SendRequestOptions): ClientTransaction {
    if (request.method === "ACK") {
      throw new TypeError("ACK is not sent through a client transaction; send the ACK for a 2xx statelessly");
    }
    // 8.1.1.7: "The branch parameter value MUST begin with the magic cookie "z9hG4bK"."
    if (!hasMagicCookie(options.branch)) {
      throw new RangeError(`branch ${options.branch} lacks the RFC 3261 magic cookie z9hG4bK`);
    }
    const id = clientKeyOf(options.branch, request.method);
    if (this.clients.has(id)) {
      throw new Error(`a ${request.method} client transaction with branch ${options.branch} already exists`);
    }
    const transaction = this.createClient(request, options);
    this.clients.set(id, transaction);
    transaction.start();
    return transaction;
  }

  /** The client transaction a response with this key would match, if any. */
  findClientTransaction(key: ResponseKey): ClientTransaction | undefined {
    return this.clients.get(clientKeyOf(key.branch, key.method));
  }

  /** The server transaction a request with this key would match (ACK finds the INVITE's), if any. */
  findServerTransaction(key: TransactionKey): ServerTransaction | undefined {
    return this.servers.get(serverKeyOf(key));
  }

  /**
   * The INVITE server transaction a CANCEL refers to: 9.2 and 17.2.3 match it by the CANCEL's top Via
   * branch and sent-by with method INVITE (the CANCEL has its own server transaction besides).
   */
  findCancelTarget(key: TransactionKey): InviteServerTransaction | undefined {
    const found = this.servers.get(serverKeyOf({ ...key, method: "INVITE" }));
    return found?.kind === "invite-server" ? found : undefined;
  }

  /** Number of live transactions, client and server. */
  size(): number {
    return this.clients.size + this.servers.size;
  }

  /**
   * Server transactions still working on a request (Trying or Proceeding: no final response sent yet). The
   * others only absorb retransmissions until their timers end them (Timer J keeps an answered non-INVITE
   * for 32 s): they are cheap and bounded by time, and must not count as load. Costs the transactions in progress,
   * not all of them (the answered ones waiting for Timer J are many more under load).
   */
  serversInProgress(): number {
    for (const t of this.progressing) if (t.state !== "Trying" && t.state !== "Proceeding") this.progressing.delete(t);
    return this.progressing.size;
  }

  /** Live transactions per side (metrics). */
  counts(): { readonly client: number; readonly server: number } {
    return { client: this.clients.size, server: this.servers.size };
  }

  /** Disposes every transaction (timers stopped, no TU callbacks) and empties the layer; for shutdown. */
  close(): void {
    for (const transaction of this.clients.values()) transaction.dispose();
    for (const transaction of this.servers.values()) transaction.dispose();
    this.clients.clear();
    this.servers.clear();
    this.progressing.clear();
  }

  // No closure per transaction: the TU is handed over as it is, the layer's bookkeeping is one function per
  // side. An answered non-INVITE lingers for Timer J (32 s); what it holds, it holds that long.
  private createServer(request: SipRequest, key: TransactionKey, replyTo: Destination): ServerTransaction {
    const user = this.serverUser;
    const context = this.context;
    const ended = this.serverEnded;
    if (request.method === "INVITE") {
      return new InviteServerTransaction({ request, key, replyTo, context, user, ended, sendTrying: this.sendTrying, ...(this.tryingAfterMs !== undefined ? { tryingAfterMs: this.tryingAfterMs } : {}) });
    }
    return new NonInviteServerTransaction({ request, key, replyTo, context, user, ended });
  }

  private createClient(request: SipRequest, options: SendRequestOptions): ClientTransaction {
    const { branch, destination, user } = options;
    const context = this.context;
    const ended = this.clientEnded;
    if (request.method === "INVITE") {
      return new InviteClientTransaction({ request, branch, destination, context, user, ended });
    }
    return new NonInviteClientTransaction({ request, branch, destination, context, user, ended });
  }
}
