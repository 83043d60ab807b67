/** The four transaction machines of RFC 3261 section 17. */
export type TransactionKind = "invite-client" | "non-invite-client" | "invite-server" | "non-invite-server";

/**
 * Thrown when the transaction user asks a transaction for something its state does not allow (an illegal
 * transition), e.g. a second final response. Network input never throws; it is absorbed instead.
 */
export class TransactionStateError extends Error {
  constructor(
    readonly transaction: TransactionKind,
    readonly state: string,
    readonly event: string,
  ) {
    super(`${transaction} transaction: event "${event}" is illegal in state "${state}"`);
    this.name = "TransactionStateError";
  }
}

/** Throws `TransactionStateError` unless `table[from]` lists `to`. */
export function assertTransition<S extends string>(
  kind: TransactionKind,
  table: Readonly<Record<S, readonly S[]>>,
  from: S,
  to: S,
  event: string,
): void {
  if (!table[from].includes(to)) throw new TransactionStateError(kind, from, event);
}
