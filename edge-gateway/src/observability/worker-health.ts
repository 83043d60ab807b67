/**
 * Watches the gateway's calls to the worker: their duration goes to the metrics (a Prometheus summary's
 * `_sum` and `_count`), their outcome to a health view the /health endpoint reports, so that a load balancer
 * or an operator sees a gateway whose worker is unreachable as degraded.
 */
import type { WorkerAnswer, WorkerClient } from "../worker-client/worker-client";
import type { Metrics } from "./metrics";

export interface WorkerHealth {
  /** "ok" until a call fails; "degraded" while the most recent call failed. */
  readonly status: "ok" | "degraded";
  /** Milliseconds since the last successful call; undefined before the first one. */
  readonly lastOkAgoMs: number | undefined;
  /** Why the most recent failed call failed, while degraded. */
  readonly lastFailure: string | undefined;
}

/** Wraps a worker client; returns the wrapped client and a health reader. */
export function observeWorker(
  client: WorkerClient,
  metrics: Metrics,
  now: () => number = () => performance.now(),
): { client: WorkerClient; health: () => WorkerHealth } {
  let lastOk: number | undefined;
  let failure: string | undefined;
  const timed = <T>(kind: "request" | "response", call: () => Promise<WorkerAnswer<T>>): Promise<WorkerAnswer<T>> => {
    const started = now();
    return call().then((answer) => {
      metrics.inc("edge_gateway_worker_call_seconds_sum", { kind }, (now() - started) / 1000);
      metrics.inc("edge_gateway_worker_call_seconds_count", { kind });
      if (answer.ok) {
        lastOk = now();
        failure = undefined;
      } else {
        failure = `${answer.reason}: ${answer.detail}`;
      }
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
      status: failure === undefined ? "ok" : "degraded",
      lastOkAgoMs: lastOk === undefined ? undefined : Math.round(now() - lastOk),
      lastFailure: failure,
    }),
  };
}
