/**
 * Watches the gateway's calls to the worker: their duration goes to the metrics (a Prometheus
 * histogram), their outcome to a health view the /health endpoint reports, so that a load balancer
 * or an operator sees a gateway whose worker is unreachable as degraded.
 *
 * The view does not flap: one failed call (a timeout during a deploy, a dropped connection) is no outage.
 * It turns "degraded" after `failuresToDegrade` consecutive failures, or when the failures within the last
 * `windowMs` reach `failureRatio` of at least `minCalls` calls (a worker failing every other call never
 * produces a run of failures, yet half the phones get 503); it turns "ok" again after `successesToRecover`
 * consecutive successes.
 */
import type { WorkerAnswer, WorkerClient } from "../worker-client/worker-client";
import type { Metrics } from "./metrics";

export interface WorkerHealth {
  /** "ok" until the worker is seen failing (see above); "degraded" until it is seen answering again. */
  readonly status: "ok" | "degraded";
  /** Milliseconds since the last successful call; undefined before the first one. */
  readonly lastOkAgoMs: number | undefined;
  /** Why the most recent failed call failed, while degraded. */
  readonly lastFailure: string | undefined;
  /** Failed calls in a row, now. */
  readonly consecutiveFailures: number;
  /** Calls and failures within the window. */
  readonly recent: { readonly calls: number; readonly failures: number };
}

export interface HealthPolicy {
  /** Consecutive failures that make the worker degraded (default 3). */
  readonly failuresToDegrade: number;
  /** Failure ratio within the window that makes it degraded (default 0.5) ... */
  readonly failureRatio: number;
  /** ... over at least this many calls (default 10). */
  readonly minCalls: number;
  /** The window of that ratio (default 30 s). */
  readonly windowMs: number;
  /** Consecutive successes that make it ok again (default 3). */
  readonly successesToRecover: number;
}

export const DEFAULT_HEALTH_POLICY: HealthPolicy = {
  failuresToDegrade: 3,
  failureRatio: 0.5,
  minCalls: 10,
  windowMs: 30_000,
  successesToRecover: 3,
};

/** Buckets the window is counted in: O(1) per call, the window moving in steps of windowMs / BUCKETS. */
const BUCKETS = 10;

/** Calls and failures over a sliding window, in fixed buckets. */
class OutcomeWindow {
  private readonly calls = new Array<number>(BUCKETS).fill(0);
  private readonly failures = new Array<number>(BUCKETS).fill(0);
  /** Index of the bucket `current` refers to, in bucket units since time 0. */
  private current = 0;

  constructor(private readonly bucketMs: number) {}

  add(now: number, failed: boolean): void {
    const i = this.advance(now);
    this.calls[i]!++;
    if (failed) this.failures[i]!++;
  }

  totals(now: number): { calls: number; failures: number } {
    this.advance(now);
    let calls = 0;
    let failures = 0;
    for (let i = 0; i < BUCKETS; i++) {
      calls += this.calls[i]!;
      failures += this.failures[i]!;
    }
    return { calls, failures };
  }

  reset(): void {
    this.calls.fill(0);
    this.failures.fill(0);
  }

  /** Clears the buckets that fell out of the window; returns the current bucket's slot. */
  private advance(now: number): number {
    const bucket = Math.floor(now / this.bucketMs);
    if (bucket - this.current >= BUCKETS) this.reset();
    else for (let b = this.current + 1; b <= bucket; b++) {
      this.calls[b % BUCKETS] = 0;
      this.failures[b % BUCKETS] = 0;
    }
    if (bucket > this.current) this.current = bucket;
    return this.current % BUCKETS;
  }
}

/** Wraps a worker client; returns the wrapped client and a health reader. */
export function observeWorker(
  client: WorkerClient,
  metrics: Metrics,
  now: () => number = () => performance.now(),
  policy: HealthPolicy = DEFAULT_HEALTH_POLICY,
): { client: WorkerClient; health: () => WorkerHealth } {
  let lastOk: number | undefined;
  let failure: string | undefined;
  let status: WorkerHealth["status"] = "ok";
  let failuresInRow = 0;
  let successesInRow = 0;
  const window = new OutcomeWindow(policy.windowMs / BUCKETS);

  const record = (ok: boolean, why: string | undefined): void => {
    const t = now();
    window.add(t, !ok);
    if (ok) {
      lastOk = t;
      failuresInRow = 0;
      successesInRow++;
      if (status === "degraded" && successesInRow >= policy.successesToRecover) {
        status = "ok";
        failure = undefined;
        // The failures that made it degraded are history: the ratio starts again from the recovery.
        window.reset();
      }
      return;
    }
    failure = why;
    successesInRow = 0;
    failuresInRow++;
    if (status === "degraded") return;
    const { calls, failures } = window.totals(t);
    if (failuresInRow >= policy.failuresToDegrade || (calls >= policy.minCalls && failures / calls >= policy.failureRatio)) {
      status = "degraded";
    }
  };

  const timed = <T>(kind: "request" | "response", call: () => Promise<WorkerAnswer<T>>): Promise<WorkerAnswer<T>> => {
    const started = now();
    return call().then((answer) => {
      metrics.observe("edge_gateway_worker_call_seconds", { kind }, (now() - started) / 1000);
      record(answer.ok, answer.ok ? undefined : `${answer.reason}: ${answer.detail}`);
      return answer;
    });
  };
  return {
    client: {
      request: (ev) => timed("request", () => client.request(ev)),
      response: (ev) => timed("response", () => client.response(ev)),
      close: () => client.close(),
    },
    health: () => ({
      status,
      lastOkAgoMs: lastOk === undefined ? undefined : Math.round(now() - lastOk),
      lastFailure: status === "degraded" ? failure : undefined,
      consecutiveFailures: failuresInRow,
      recent: window.totals(now()),
    }),
  };
}
