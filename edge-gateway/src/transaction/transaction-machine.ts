import type { SipMessage } from "../../../sip/message";
import { TimerSet } from "./timer-set";
import type { TimerName } from "./timer-set";
import type { Destination, EncodedResponse, TransactionContext } from "./transaction-context";
import { assertTransition } from "./transaction-state-error";
import type { TransactionKind } from "./transaction-state-error";

/** What every machine tells its TU about the end of its life. */
interface EndUser<T> {
  onTransportError?(transaction: T, cause: unknown): void;
  onTerminated?(transaction: T): void;
}

/**
 * What the four RFC 3261 section 17 machines share: the state with its transition table, the named timers,
 * sending through the transport (a synchronous failure is a transport error, 17.1.4 / 17.2.4), and the ways
 * to end (transport error, disposal). Each subclass holds its own protocol branches.
 */
export abstract class TransactionMachine<S extends string, T> {
  abstract readonly kind: TransactionKind;
  protected readonly timers: TimerSet;
  protected current: S;

  /**
   * `ended` is the transaction layer's own bookkeeping (out of its table, counted), told first when the
   * transaction ends; one function for the whole layer, so that a lingering transaction holds no closure of
   * its own. `user` is the TU, told after it.
   */
  protected constructor(
    protected readonly context: TransactionContext,
    protected user: EndUser<T>,
    initial: S,
    private readonly table: Readonly<Record<S, readonly S[]>>,
    private readonly ended: ((transaction: T) => void) | undefined,
  ) {
    this.timers = new TimerSet(context.clock);
    this.current = initial;
  }

  /** Current state. */
  get state(): S {
    return this.current;
  }

  /** Names of the running timers (diagnostics and tests). */
  activeTimers(): TimerName[] {
    return this.timers.names();
  }

  /**
   * Reports a fatal transport error for this transaction: Terminated, TU informed. 17.1.4 / 17.2.4: the
   * transaction "SHOULD inform the TU that a failure has occurred, and SHOULD transition to the terminated
   * state".
   */
  transportError(cause: unknown): void {
    if (this.current === "Terminated") return;
    this.transition("Terminated" as S, "transport error");
    this.user.onTransportError?.(this.self(), cause);
    this.notifyTerminated();
  }

  /**
   * Ends the transaction at the TU's wish: a request that will never be answered, a CANCELled branch given
   * up after 64*T1 (RFC 3261 9.1: the client "SHOULD destroy the client transaction"). Terminated, timers
   * stopped, and the TU told through `onTerminated` (which takes it out of the transaction layer).
   */
  abandon(reason: string): void {
    if (this.current === "Terminated") return;
    this.terminate(`abandoned: ${reason}`);
  }

  /** Stops all timers and marks the transaction Terminated without notifying the TU (shutdown). */
  dispose(): void {
    this.timers.stopAll();
    this.current = "Terminated" as S;
  }

  /** Moves to `to`, or throws TransactionStateError when the table forbids it; Terminated stops every timer. */
  protected transition(to: S, event: string): void {
    assertTransition(this.kind, this.table, this.current, to, event);
    this.current = to;
    if (to === "Terminated") this.timers.stopAll();
  }

  /** Sends `message`; a synchronous send failure becomes a transport error. False when it failed. */
  protected send(message: SipMessage | EncodedResponse, destination: Destination): boolean {
    try {
      this.context.send(message, destination);
      return true;
    } catch (cause) {
      this.transportError(cause);
      return false;
    }
  }

  /** Ends the transaction normally (a timer ran out): Terminated, then the TU is told. */
  protected terminate(event: string): void {
    this.transition("Terminated" as S, event);
    this.notifyTerminated();
  }

  /** After the move to Terminated: the transaction layer lets the transaction go, then the TU is told. */
  protected notifyTerminated(): void {
    this.ended?.(this.self());
    this.user.onTerminated?.(this.self());
  }

  private self(): T {
    return this as unknown as T;
  }
}
