// The system under test for end-to-end files: the local stack on a given loopback address, in either
// runtime (workers: store endpoint, worker in Miniflare, gateway; node: the gateway with the decisions in
// process over embedded libSQL), with tenants created through the admin API.
import { join } from "node:path";
import type { EdgeRuntime } from "../../node-runtime/runtime";
import { startLocalStack, type LocalStack, type LocalStackOptions } from "../../scripts/local-stack";
import type { GatewayConfig } from "../../edge-gateway/src/config";
import { startGateway, type DecisionSource, type Gateway } from "../../edge-gateway/src/gateway";
import { createLogger } from "../../edge-gateway/src/observability/logger";

export interface TestStack extends LocalStack {
  /** Calls the admin API; returns status and parsed JSON. */
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }>;
  addTenant(domain: string, ...destinations: string[]): Promise<void>;
  /** Bindings of `user@domain` as the admin API lists them. */
  bindings(aor: string): Promise<StackBinding[]>;
}

export interface StackBinding {
  id: number;
  username: string;
  domain: string;
  contact: string;
  received: string | null;
  expires: number;
  callid: string;
  cseq: number;
  userAgent: string;
}

/** Both runtimes, for `describe.each(RUNTIMES)`: the same end-to-end cases must hold in each. */
export const RUNTIMES: readonly EdgeRuntime[] = ["workers", "node"];

/**
 * Starts a stack whose gateway listens on `sipIp:sipPort`; files pass their own address block. Each runtime
 * gets its own database file in `workDir`, so a file may run its cases in both, one after the other.
 */
export async function startTestStack(
  workDir: string,
  sip: { ip: string; port: number },
  extra: Partial<LocalStackOptions> = {},
): Promise<TestStack> {
  const logLines: string[] = [];
  const stack = await startLocalStack({
    dbFile: join(workDir, `store-${extra.runtime ?? "workers"}.db`),
    sipListen: sip,
    logger: createLogger(process.env.E2E_LOG_LEVEL === "debug" ? "debug" : "info", (l) => logLines.push(l)),
    workerVars: { TENANT_CACHE_TTL_MS: "0" },
    workerLog: (l) => logLines.push(l),
    // Test files run side by side on few cores: a gateway's event loop is then often descheduled for a
    // while, and the queue bound (MAX_QUEUE_DELAY_MS) would refuse requests of a test that puts no load on
    // it. Its behaviour is tested in test/unit (load-shedder, queue-delay, hardening) and measured by the
    // bench, which runs one system at a time.
    maxQueueDelayMs: 0,
    ...extra,
  });
  const admin: TestStack["admin"] = async (method, path, body) => {
    const res = await fetch(`${stack.workerUrl}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: await res.json().catch(() => undefined) };
  };
  return {
    ...stack,
    admin,
    async addTenant(domain, ...destinations) {
      const r = await admin("POST", "/tenants", { domain, destinations });
      if (r.status !== 201) throw new Error(`addTenant ${domain}: ${r.status} ${JSON.stringify(r.json)}`);
    },
    async bindings(aor) {
      const r = await admin("GET", `/bindings?aor=${encodeURIComponent(aor)}`);
      if (r.status !== 200) throw new Error(`bindings ${aor}: ${r.status}`);
      return (r.json as { bindings: StackBinding[] }).bindings;
    },
    async close() {
      await stack.close();
      if (process.env.E2E_LOG_LEVEL) process.stderr.write(logLines.join("\n") + "\n");
    },
  };
}

/**
 * A second, stand-alone gateway on `listen` in front of `workerUrl` (the local stack's secret), quiet, with
 * RFC timer defaults; `overrides` set what the test is about (a short worker timeout, a metrics port ...);
 * `decisions` replaces the HTTP worker client (a node runtime's in-process client).
 */
export function startExtraGateway(
  listen: { ip: string; port: number },
  workerUrl: string,
  overrides: Partial<GatewayConfig> = {},
  decisions?: DecisionSource,
): Promise<Gateway> {
  return startGateway(
    {
      listen: { ...listen, advertisedHost: undefined },
      listenPbx: undefined,
      workerUrl,
      gatewaySecret: "dev-gateway-secret-0123456789",
      workerTimeoutMs: 2000,
      workerConnections: 16,
      retryAfterS: 5,
      metricsListen: undefined,
      logLevel: "error",
      t1: 500,
      t2: 4000,
      t4: 5000,
      timerC: 181_000,
      ...overrides,
    },
    createLogger("error", () => undefined),
    decisions,
  );
}
