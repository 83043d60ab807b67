/** Messages between the gateway's event loop and the store thread (thread-store.ts, store-thread-main.ts). */
import type { Store } from "../worker/src/store/store";

export type StoreOp = Exclude<keyof Store, never>;

export interface StoreThreadData {
  readonly url: string;
  readonly authToken: string | undefined;
}

export interface StoreCall {
  readonly id: number;
  readonly op: StoreOp;
  readonly args: readonly unknown[];
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
