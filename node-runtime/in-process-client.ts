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

export function createInProcessClient(services: DecisionServices, options: InProcessClientOptions): InProcessClient {
  const now = options.now ?? Date.now;
  const made = { request: 0, response: 0 };
  let closed = false;

  async function call<T>(decide: () => Promise<T>): Promise<WorkerAnswer<T>> {
    if (closed) return { ok: false, reason: "unavailable", detail: "runtime closed" };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<WorkerAnswer<T>>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, reason: "timeout", detail: `no decision within ${options.timeoutMs} ms` }),
        options.timeoutMs,
      );
    });
    const decided = decide().then(
      (decision): WorkerAnswer<T> => ({ ok: true, decision }),
      (err: unknown): WorkerAnswer<T> => {
        const detail = err instanceof Error ? err.message : String(err);
        if (err instanceof StoreError) {
          services.log({ msg: "store error", error: detail });
          return { ok: false, reason: "unavailable", detail: `store: ${detail}` };
        }
        if (err instanceof ContractError || err instanceof InvalidContextError) return { ok: false, reason: "rejected", detail };
        services.log({ msg: "unexpected error", error: err instanceof Error ? err.stack : detail });
        return { ok: false, reason: "rejected", detail: `decision failed: ${detail}` };
      },
    );
    try {
      return await Promise.race([decided, timeout]);
    } finally {
      clearTimeout(timer);
    }
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
      closed = true;
      return Promise.resolve();
    },
  };
}
