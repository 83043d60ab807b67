/**
 * The gateway's WorkerClient in the Node runtime: the same decisions (worker/src/decisions) called in this
 * process. No HTTP, no signing, no JSON, no parse: the event (built by the gateway) and the decision (built
 * by the worker's code) are typed by the contract, and completed with its defaults (contract/v1-complete.ts,
 * tested equal to the schemas' parse), so the proxy core sees exactly what it would get from the worker over
 * HTTP, where the schemas validate. Like the HTTP client it never throws: a store failure, a bad context, a
 * slow store are typed failures.
 */
import { ContractError } from "../contract/v1";
import { completeRequestDecision, completeRequestEvent, completeResponseDecision, completeResponseEvent } from "../contract/v1-complete";
import type { WorkerAnswer, WorkerClient } from "../edge-gateway/src/worker-client/worker-client";
import {
  parseDestinationStateAnswer,
  parseDestinationStateReport,
  parseProbeTargetsAnswer,
  parseProbeTargetsRequest,
} from "../contract/destinations";
import { decideRequest, decideResponse, InvalidContextError, type DecisionServices } from "../worker/src/decisions/decide";
import { applyDestinationStateReport, listProbeTargets } from "../worker/src/destinations/probe-service";
import { StoreError } from "../worker/src/store/store";

export interface InProcessClientOptions {
  /** Bound on one decision (WORKER_TIMEOUT_MS): past it the phone gets 503, as with a slow worker. */
  readonly timeoutMs: number;
  readonly now?: () => number;
}

/** Counts decisions made, for tests (what the gateway answers by itself must cost none). */
export interface InProcessClient extends WorkerClient {
  decisions(): { request: number; response: number };
}

/** How often overdue decisions are looked for: a decision times out between its bound and this much later. */
const DEADLINE_TICK_MS = 50;

interface InFlight {
  /** performance.now() past which the decision is answered with a timeout. */
  readonly deadline: number;
  readonly settle: (answer: WorkerAnswer<never>) => void;
}

export function createInProcessClient(services: DecisionServices, options: InProcessClientOptions): InProcessClient {
  const now = options.now ?? Date.now;
  const made = { request: 0, response: 0 };
  let closed = false;
  const timedOut = (): WorkerAnswer<never> => ({ ok: false, reason: "timeout", detail: `no decision within ${options.timeoutMs} ms` });

  // The bound is the same for every decision, so deadlines come in the order calls are made: the calls in
  // flight, in a Set (insertion order), are overdue from the first one on, and one ticker serves them all.
  // A timer and a Promise.race per decision cost more than the decision's own bookkeeping at thousands a second.
  const inFlight = new Set<InFlight>();
  let ticker: ReturnType<typeof setInterval> | undefined;
  const expireOverdue = (): void => {
    const t = performance.now();
    for (const call of inFlight) {
      if (call.deadline > t) break;
      inFlight.delete(call);
      call.settle(timedOut());
    }
    if (inFlight.size === 0 && ticker !== undefined) {
      clearInterval(ticker);
      ticker = undefined;
    }
  };

  const failure = (err: unknown): WorkerAnswer<never> => {
    const detail = err instanceof Error ? err.message : String(err);
    if (err instanceof StoreError) {
      services.log({ msg: "store error", error: detail });
      return { ok: false, reason: "unavailable", detail: `store: ${detail}` };
    }
    if (err instanceof ContractError || err instanceof InvalidContextError) return { ok: false, reason: "rejected", detail };
    services.log({ msg: "unexpected error", error: err instanceof Error ? err.stack : detail });
    return { ok: false, reason: "rejected", detail: `decision failed: ${detail}` };
  };

  function call<T>(decide: () => Promise<T>): Promise<WorkerAnswer<T>> {
    if (closed) return Promise.resolve({ ok: false, reason: "unavailable", detail: "runtime closed" });
    return new Promise<WorkerAnswer<T>>((resolve) => {
      const entry: InFlight = { deadline: performance.now() + options.timeoutMs, settle: resolve };
      inFlight.add(entry);
      if (ticker === undefined) {
        ticker = setInterval(expireOverdue, Math.min(DEADLINE_TICK_MS, options.timeoutMs));
        ticker.unref();
      }
      // A decision that ends after its timeout was answered changes nothing: a promise settles once.
      decide().then(
        (decision) => {
          inFlight.delete(entry);
          resolve({ ok: true, decision });
        },
        (err: unknown) => {
          inFlight.delete(entry);
          resolve(failure(err));
        },
      );
    });
  }

  return {
    request(ev) {
      made.request++;
      return call(async () => completeRequestDecision(await decideRequest(completeRequestEvent(ev), services, now())));
    },
    response(ev) {
      made.response++;
      return call(async () => completeResponseDecision(await decideResponse(completeResponseEvent(ev), services, now())));
    },
    // Dispatcher probing (gateway probe/prober.ts): the destinations to probe and the states seen, on the
    // same store, validated by the same contract schemas as the worker's /v1/probe-targets and
    // /v1/destination-state.
    probeTargets(req) {
      return call(async () => {
        parseProbeTargetsRequest(req);
        return parseProbeTargetsAnswer(await listProbeTargets(services.store));
      });
    },
    reportDestinationStates(report) {
      return call(async () => parseDestinationStateAnswer(await applyDestinationStateReport(services.store, parseDestinationStateReport(report), services.log)));
    },
    decisions: () => ({ ...made }),
    close() {
      // Decisions still in flight keep their bound: the ticker stops by itself once none is left.
      closed = true;
      return Promise.resolve();
    },
  };
}
