/**
 * The scheduled clean-up: deletes bindings that expired, in bounded batches, so one run never holds the
 * store for long. Lookups already ignore expired rows; this keeps the table small.
 */
import type { Store } from "../store/store";

export interface SweepResult {
  readonly deleted: number;
  readonly batches: number;
  /** True when the last batch was full: more expired rows may remain for the next run. */
  readonly more: boolean;
}

/** Deletes expired bindings (`expires` < now, Unix seconds) in up to `maxBatches` batches of `batch`. */
export async function sweepExpired(store: Store, now: number, batch: number, maxBatches: number): Promise<SweepResult> {
  let deleted = 0;
  for (let i = 1; i <= maxBatches; i++) {
    const n = await store.sweepExpired(now, batch);
    deleted += n;
    if (n < batch) return { deleted, batches: i, more: false };
  }
  return { deleted, batches: maxBatches, more: true };
}
