/** Messages between the gateway's event loop and the store thread (thread-store.ts, store-thread-main.ts). */
import type { Store } from "../worker/src/store/store";

export type StoreOp = keyof Store;

/**
 * What a thread's connection is for: the writer runs every write (saves, the sweep, admin changes) one after
 * another; the reader serves the lookups. Under WAL a reader never waits for the writer, so a sweep batch or
 * a burst of saves never holds up the lookup of a call being routed. (A third thread, the store endpoint's
 * checkpointer, copies the WAL into the database file: thread-store.ts.)
 */
export type StoreThreadRole = "writer" | "reader";

export interface StoreThreadData {
  /** A `file:` URL (the embedded database). */
  readonly url: string;
  /** How often the checkpointer checkpoints the WAL (ms); default 10 s (thread-store.ts). */
  readonly checkpointIntervalMs?: number | undefined;
  /** Default "writer". A reader's connection is query_only. */
  readonly role?: StoreThreadRole | undefined;
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

/** One call's outcome. */
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

/**
 * The replies of calls a thread ran together (a writer's commit group; lookups that reached the reader
 * together), in one message: one wake-up of the gateway's event loop instead of one per call.
 */
export interface StoreReplies {
  readonly replies: readonly StoreReply[];
  /** The saves that one COMMIT closed together (group-commit.ts); absent when none was shared. */
  readonly committedTogether?: number;
}
