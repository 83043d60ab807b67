/**
 * The gateway's client of the worker: keep-alive connection pool (undici), signed JSON POSTs, a bounded
 * timeout, validated answers. It never throws: a slow, down or confused worker is a typed failure that the
 * proxy turns into 503 + Retry-After, without blocking other transactions.
 */
import { createHmac, randomUUID } from "node:crypto";
import { Pool } from "undici";
import {
  DESTINATION_STATE_PATH,
  parseDestinationStateAnswer,
  parseProbeTargetsAnswer,
  PROBE_TARGETS_PATH,
  type DestinationStateAnswer,
  type DestinationStateReport,
  type ProbeTargetsAnswer,
  type ProbeTargetsRequest,
} from "../../../contract/destinations";
import { importHmacKey, NONCE_HEADER, SIGNATURE_HEADER, signedText, TIMESTAMP_HEADER } from "../../../contract/signing";
import {
  parseRequestDecision,
  parseResponseDecision,
  REQUEST_EVENT_PATH,
  RESPONSE_EVENT_PATH,
  type RequestDecision,
  type RequestEventInput,
  type ResponseDecision,
  type ResponseEventInput,
} from "../../../contract/v1";

export type WorkerFailure = { readonly ok: false; readonly reason: "timeout" | "unavailable" | "rejected"; readonly detail: string };
export type WorkerAnswer<T> = { readonly ok: true; readonly decision: T } | WorkerFailure;

export interface WorkerClientOptions {
  /** Base URL of the worker, e.g. http://127.0.0.1:8787 */
  readonly url: string;
  readonly secret: string;
  /** Bound on one call, connect included. */
  readonly timeoutMs: number;
  /** Keep-alive connections in the pool. */
  readonly connections?: number;
  readonly now?: () => number;
}

export interface WorkerClient {
  request(ev: RequestEventInput): Promise<WorkerAnswer<RequestDecision>>;
  response(ev: ResponseEventInput): Promise<WorkerAnswer<ResponseDecision>>;
  /**
   * Destination probing (contract/destinations.ts): the destinations to probe, and the prober's reports.
   * Optional: a client without them runs a gateway that does not probe.
   */
  probeTargets?(req: ProbeTargetsRequest): Promise<WorkerAnswer<ProbeTargetsAnswer>>;
  reportDestinationStates?(report: DestinationStateReport): Promise<WorkerAnswer<DestinationStateAnswer>>;
  close(): Promise<void>;
}

/**
 * Signs a worker call as contract/signing.ts `signRequest` does (the same headers, the same HMAC-SHA256 over
 * the same text), synchronously with node:crypto. Web Crypto's `subtle.sign` runs in libuv's thread pool:
 * one more thread to schedule and one more wake-up of the event loop per call, which on a busy 2-core
 * machine took up to 58 ms (p99 9 ms) before the request was even written (docs/benchmarks.md, "Workers
 * runtime tail at 100/s"). This costs a few microseconds on the loop instead.
 */
export function signRequestSync(secret: string, path: string, body: string, now: number, nonce: string = randomUUID()): Record<string, string> {
  const timestamp = String(Math.floor(now / 1000));
  const sig = createHmac("sha256", secret).update(signedText(timestamp, nonce, path, body), "utf8").digest("hex");
  return { [TIMESTAMP_HEADER]: timestamp, [NONCE_HEADER]: nonce, [SIGNATURE_HEADER]: sig };
}

/**
 * Keep-alive connections to the worker by default: the calls in flight at once (pipelining 1). It must cover
 * rate x call latency, or calls queue here before the worker sees them: with 16, at 400 REGISTER/s (800
 * calls/s) on this 2-core machine, REGISTER p50 was 150-161 ms, with 64 14-24 ms (docs/benchmarks.md).
 * Connections are opened as calls need them, so an idle gateway holds few.
 */
export const DEFAULT_WORKER_CONNECTIONS = 64;

/** Creates the client; the secret is checked once (as the worker imports it). */
export function createWorkerClient(options: WorkerClientOptions): WorkerClient {
  const base = new URL(options.url);
  const prefix = base.pathname.replace(/\/$/, "");
  const pool = new Pool(base.origin, {
    connections: options.connections ?? DEFAULT_WORKER_CONNECTIONS,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    connectTimeout: options.timeoutMs,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  // Rejects a secret the worker would refuse (too short); every call then fails with it.
  const checked = importHmacKey(options.secret).then(() => undefined);
  checked.catch(() => undefined);
  const now = options.now ?? Date.now;

  async function call<T>(path: string, event: unknown, parse: (v: unknown) => T): Promise<WorkerAnswer<T>> {
    const body = JSON.stringify(event);
    const fullPath = prefix + path;
    const signal = AbortSignal.timeout(options.timeoutMs);
    try {
      await checked;
      const headers = signRequestSync(options.secret, fullPath, body, now());
      const res = await pool.request({
        method: "POST",
        path: fullPath,
        body,
        headers: { "content-type": "application/json", ...headers },
        signal,
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) {
        return { ok: false, reason: "rejected", detail: `HTTP ${res.statusCode}: ${text.slice(0, 200)}` };
      }
      return { ok: true, decision: parse(JSON.parse(text)) };
    } catch (err) {
      if (signal.aborted) return { ok: false, reason: "timeout", detail: `no answer within ${options.timeoutMs} ms` };
      const detail = err instanceof Error ? err.message : String(err);
      const reason = err instanceof SyntaxError || (err instanceof Error && err.name === "ContractError") ? "rejected" : "unavailable";
      return { ok: false, reason, detail };
    }
  }

  return {
    request: (ev) => call(REQUEST_EVENT_PATH, ev, parseRequestDecision),
    response: (ev) => call(RESPONSE_EVENT_PATH, ev, parseResponseDecision),
    probeTargets: (req) => call(PROBE_TARGETS_PATH, req, parseProbeTargetsAnswer),
    reportDestinationStates: (report) => call(DESTINATION_STATE_PATH, report, parseDestinationStateAnswer),
    close: () => pool.close(),
  };
}
