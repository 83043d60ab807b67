// Public surface of the RFC 3261 section 17 transaction layer (UDP); explicit names, no `export *`.
export { ManualClock, RealClock } from "./clock";
export type { Clock, TimerHandle } from "./clock";
export { DEFAULT_TIMER_CONFIG, T1, T2, T4, TIMER_C, TIMER_D_UDP, nextInterval, timerDurations } from "./timers";
export type { TimerConfig, TimerDurations } from "./timers";
export type { TimerName } from "./timer-set";
export { MAGIC_COOKIE, hasMagicCookie } from "./transaction-key";
export type { ResponseKey, TransactionKey } from "./transaction-key";
export { TransactionStateError } from "./transaction-state-error";
export type { TransactionKind } from "./transaction-state-error";
export type {
  ClientTransactionUser,
  Destination,
  EncodedResponse,
  RequestDisposition,
  ResponseDisposition,
  SendFn,
  ServerTransactionUser,
  TransactionContext,
} from "./transaction-context";
export { buildAck } from "./build-ack";
export { buildTrying } from "./build-trying";
export { InviteClientTransaction } from "./invite-client-transaction";
export type { InviteClientState, InviteClientTransactionOptions } from "./invite-client-transaction";
export { NonInviteClientTransaction } from "./non-invite-client-transaction";
export type { NonInviteClientState, NonInviteClientTransactionOptions } from "./non-invite-client-transaction";
export { InviteServerTransaction } from "./invite-server-transaction";
export type { InviteServerState, InviteServerTransactionOptions } from "./invite-server-transaction";
export { NonInviteServerTransaction } from "./non-invite-server-transaction";
export type { NonInviteServerState, NonInviteServerTransactionOptions } from "./non-invite-server-transaction";
export { TransactionLayer } from "./transaction-layer";
export type {
  ClientTransaction,
  IncomingRequestResult,
  IncomingResponseResult,
  SendRequestOptions,
  ServerTransaction,
  Transaction,
  TransactionLayerOptions,
} from "./transaction-layer";
