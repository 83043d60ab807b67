/** Messages between the gateway's event loop and the store thread (thread-store.ts, store-thread-main.ts). */
import type { Store } from "../worker/src/store/store";

export type StoreOp = Exclude<keyof Store, never>;

export interface StoreThreadData {
  readonly url: string;
  readonly authToken: string | undefined;
  /**
   * How long a call may wait in the thread's queue before it is refused unrun (its caller, a decision bounded
   * by WORKER_TIMEOUT_MS, has given up by then). Undefined: no bound.
   */
  readonly opTimeoutMs?: number | undefined;
}

export interface StoreCall {
  readonly id: number;
  readonly op: StoreOp;
  readonly args: readonly unknown[];
  /** Unix ms after which the thread refuses the call instead of running it; undefined: no deadline. */
  readonly deadline?: number | undefined;
}

export type StoreReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | {
      readonly id: number;
      readonly ok: false;
      /** "StoreError", "StoreConflictError", or another error's name. */
      readonly name: string;
      readonly operation: string;
      readonly message: string;
    };

/** The thread posts this once its connection is open (or failed to open). */
export type StoreReady = { readonly ready: true } | { readonly ready: false; readonly message: string };
