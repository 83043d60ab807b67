/**
 * The whole system on one machine, on the embedded default, in either runtime:
 *
 * - `workers` (default): the local store endpoint (libSQL file served over Hrana HTTP, in a thread of its
 *   own so that its synchronous engine never blocks the gateway's event loop), migrations applied
 *   through it, the worker bundled as `wrangler deploy` bundles it and run in Miniflare (the Workers
 *   runtime), and the gateway calling it over HTTP;
 * - `node`: the gateway with the decisions in its own process (node-runtime/), the libSQL file owned by a
 *   store thread, the admin API (and the signed /v1 endpoints) served by the same process.
 *
 * Used by `npm start` and by the end-to-end tests, so both exercise the production code paths.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { startGateway, type Gateway } from "../edge-gateway/src/gateway";
import type { GatewayConfig } from "../edge-gateway/src/config";
import type { FloodConfig } from "../edge-gateway/src/ingress/ingress-guard";
import { DEFAULT_WORKER_CONNECTIONS } from "../edge-gateway/src/worker-client/worker-client";
import { createLogger, type Logger } from "../edge-gateway/src/observability/logger";
import { applyMigrations } from "../migrations/apply";
import type { StoreServer } from "../store-server/src/server";
import { startStoreServerThread } from "./store-server-thread";
import { startNodeRuntime, type EdgeRuntime } from "../node-runtime/runtime";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BUNDLE_DIR = join(ROOT, "dist", "worker");
const BUNDLE = join(BUNDLE_DIR, "index.js");

export interface LocalStackOptions {
  /** Where the decisions run (EDGE_RUNTIME); default "workers". */
  readonly runtime?: EdgeRuntime;
  /** libSQL database file. */
  readonly dbFile: string;
  /**
   * Node runtime only: the store to use instead of `dbFile`, as several gateways share one (a libSQL URL:
   * `http(s)://` to sqld, Turso or the store endpoint, migrated beforehand; or another gateway's `file:`).
   */
  readonly libsql?: { readonly url: string; readonly authToken?: string | undefined } | undefined;
  /** Phones' SIP socket. */
  readonly sipListen: { readonly ip: string; readonly port: number };
  /** Optional second SIP socket for the Asterisk boxes. */
  readonly sipListenPbx?: { readonly ip: string; readonly port: number } | undefined;
  /** Worker HTTP port (0 = any free port). */
  readonly workerPort?: number;
  /** Store endpoint port (0 = any free port). */
  readonly storePort?: number;
  /** Gateway metrics port; undefined disables the endpoint. */
  readonly metricsPort?: number | undefined;
  /** Address of the metrics endpoint (default 127.0.0.1): a test gives its own loopback address. */
  readonly metricsIp?: string;
  readonly gatewaySecret?: string;
  readonly adminToken?: string;
  readonly storeToken?: string;
  readonly logLevel?: "debug" | "info" | "warn" | "error";
  /** Extra worker variables (TENANT_CACHE_TTL_MS, ANY_DOMAIN_LOOKUP ...). */
  readonly workerVars?: Readonly<Record<string, string>>;
  /** SIP timer overrides for the gateway. */
  readonly timers?: Partial<Pick<GatewayConfig, "t1" | "t2" | "t4" | "timerC">>;
  readonly workerTimeoutMs?: number;
  /** Flood limit and scanner screen (config.ts loadFloodConfig); the gateway's defaults when absent. */
  readonly flood?: FloodConfig | undefined;
  /** Dispatcher probing by the gateway; off when undefined. */
  readonly probe?: GatewayConfig["probe"];
  /** Overload control's receive-queue bound (MAX_QUEUE_DELAY_MS); the gateway's default when unset. */
  readonly maxQueueDelayMs?: number;
  /** Server transactions in progress at most (MAX_TRANSACTIONS); the gateway's default when unset. */
  readonly maxTransactions?: number;
  readonly logger?: Logger;
  /** Where the worker's console lines go (its JSON logs); default: this process's stdout. */
  readonly workerLog?: (line: string) => void;
}

export interface LocalStack {
  readonly runtime: EdgeRuntime;
  readonly storeUrl: string;
  readonly workerUrl: string;
  readonly gateway: Gateway;
  readonly adminToken: string;
  /** Round trips the worker (and migrator) made to the store so far (node runtime: store operations). */
  storeRoundTrips(): number;
  /** Runs the worker's cron handler once (the expiry sweep). */
  runScheduled(): Promise<void>;
  close(): Promise<void>;
}

/** Bundles the worker with wrangler (as `wrangler deploy` would) unless the bundle is newer than the sources. */
export async function bundleWorker(force = false): Promise<string> {
  if (!force && existsSync(BUNDLE) && statSync(BUNDLE).mtimeMs > newestSource()) return BUNDLE;
  mkdirSync(BUNDLE_DIR, { recursive: true });
  await promisify(execFile)(
    process.execPath,
    [join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js"), "deploy", "--dry-run", "--outdir", BUNDLE_DIR],
    { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_SEND_ERROR_REPORTS: "false" } },
  );
  return BUNDLE;
}

function newestSource(): number {
  let newest = 0;
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of ["worker/src", "contract", "sip"]) walk(join(ROOT, d));
  newest = Math.max(newest, statSync(join(ROOT, "wrangler.toml")).mtimeMs, statSync(join(ROOT, "package-lock.json")).mtimeMs);
  return newest;
}

/** Feeds workerd's stdout and stderr to `sink`, line by line. */
function pipeLines(sink: (line: string) => void): (stdout: Readable, stderr: Readable) => void {
  return (stdout, stderr) => {
    for (const stream of [stdout, stderr]) createInterface({ input: stream }).on("line", sink);
  };
}

function gatewayConfig(options: LocalStackOptions, workerUrl: string, gatewaySecret: string): GatewayConfig {
  return {
    listen: { ...options.sipListen, advertisedHost: undefined },
    listenPbx: options.sipListenPbx ? { ...options.sipListenPbx, advertisedHost: undefined } : undefined,
    workerUrl,
    gatewaySecret,
    workerTimeoutMs: options.workerTimeoutMs ?? 2000,
    workerConnections: DEFAULT_WORKER_CONNECTIONS,
    retryAfterS: 5,
    metricsListen: options.metricsPort === undefined ? undefined : { ip: options.metricsIp ?? "127.0.0.1", port: options.metricsPort },
    logLevel: options.logLevel ?? "info",
    t1: options.timers?.t1 ?? 500,
    t2: options.timers?.t2 ?? 4000,
    t4: options.timers?.t4 ?? 5000,
    timerC: options.timers?.timerC ?? 181_000,
    ...(options.flood ? { flood: options.flood } : {}),
    probe: options.probe,
    ...(options.maxQueueDelayMs !== undefined ? { maxQueueDelayMs: options.maxQueueDelayMs } : {}),
    ...(options.maxTransactions !== undefined ? { maxTransactions: options.maxTransactions } : {}),
  };
}

/**
 * The node runtime: one process, the libSQL file in a store thread (or the shared store `libsql` names), the
 * admin API on `workerPort`.
 */
async function startNodeStack(options: LocalStackOptions, log: Logger): Promise<LocalStack> {
  const gatewaySecret = options.gatewaySecret ?? "dev-gateway-secret-0123456789";
  const adminToken = options.adminToken ?? "dev-admin-token";
  mkdirSync(dirname(options.dbFile), { recursive: true });
  const storeUrl = options.libsql?.url ?? `file:${options.dbFile}`;
  const workerLog = options.workerLog ?? ((line: string) => process.stdout.write(line + "\n"));
  const node = await startNodeRuntime({
    env: {
      LIBSQL_URL: storeUrl,
      ...(options.libsql?.authToken ? { LIBSQL_AUTH_TOKEN: options.libsql.authToken } : {}),
      GATEWAY_SECRET: gatewaySecret,
      ADMIN_TOKEN: adminToken,
      TENANT_CACHE_TTL_MS: "1000",
      ...options.workerVars,
    },
    adminListen: { ip: "127.0.0.1", port: options.workerPort ?? 0 },
    decisionTimeoutMs: options.workerTimeoutMs ?? 2000,
    sweepIntervalMs: 0,
    // The decisions' routine outcomes (level "debug") only with LOG_LEVEL=debug, as in the gateway's own log.
    log: (obj) => {
      if (obj.level === "debug" && options.logLevel !== "debug") return;
      workerLog(JSON.stringify({ t: new Date().toISOString(), ...obj }));
    },
  });
  const workerUrl = node.adminUrl!;
  try {
    const gateway = await startGateway(gatewayConfig(options, workerUrl, gatewaySecret), log, {
      client: node.client,
      label: `in-process (store ${storeUrl})`,
      gauges: node.storeGauges,
    });
    return {
      runtime: "node",
      storeUrl,
      workerUrl,
      gateway,
      adminToken,
      storeRoundTrips: () => node.storeCalls(),
      async runScheduled() {
        await node.runSweep();
      },
      async close() {
        await gateway.close().catch(() => undefined);
        await node.close();
      },
    };
  } catch (err) {
    await node.close();
    throw err;
  }
}

/** Starts store, worker and gateway (or the node runtime); stops what it started if a later step fails. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  if (options.runtime === "node") return startNodeStack(options, options.logger ?? createLogger(options.logLevel ?? "info"));
  const gatewaySecret = options.gatewaySecret ?? "dev-gateway-secret-0123456789";
  const adminToken = options.adminToken ?? "dev-admin-token";
  const storeToken = options.storeToken ?? "dev-store-token";
  const log = options.logger ?? createLogger(options.logLevel ?? "info");
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    mkdirSync(dirname(options.dbFile), { recursive: true });
    // Its own thread: the engine is synchronous, and the gateway's event loop must not wait on it.
    const store: StoreServer = await startStoreServerThread({
      file: options.dbFile,
      host: "127.0.0.1",
      port: options.storePort ?? 0,
      authToken: storeToken,
    });
    cleanups.push(() => store.close());
    // Migrations go through the HTTP endpoint, as they would to Turso or sqld.
    await applyMigrations({ url: store.url, authToken: storeToken });

    const scriptPath = await bundleWorker();
    // Loaded here, for the workers runtime only: the node runtime's process has no use for Miniflare (its
    // source alone is 7.7 MB of the heap).
    const { Miniflare } = await import("miniflare");
    const mf = new Miniflare({
      modules: true,
      scriptPath,
      compatibilityDate: "2026-04-01",
      host: "127.0.0.1",
      port: options.workerPort ?? 0,
      cf: false,
      // Miniflare's entry worker would otherwise copy every response to time it for a request log line
      // (which, with no Miniflare logger, it then drops): work on every gateway call for nothing.
      logRequests: false,
      // The gateway's calls go to a socket of the worker itself. Through Miniflare's entry worker each call
      // crossed a second isolate and a service binding: 0.3 ms of the worker's median per call at 100
      // REGISTER/s, and more garbage for workerd's collector, whose pauses set this runtime's tail
      // (docs/benchmarks.md). On Cloudflare there is no entry worker either. The admin API and edgectl keep
      // the entry URL (`workerUrl`).
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
      // Miniflare would pass each outbound fetch (every store call) through a helper worker of its own that
      // copies the headers to drop CF-Connecting-IP and add CF-Worker: one more isolate per store call.
      // The store endpoint reads neither header.
      stripCfConnectingIp: false,
      ...(options.workerLog ? { handleRuntimeStdio: pipeLines(options.workerLog) } : {}),
      bindings: {
        LIBSQL_URL: store.url,
        LIBSQL_AUTH_TOKEN: storeToken,
        GATEWAY_SECRET: gatewaySecret,
        ADMIN_TOKEN: adminToken,
        TENANT_CACHE_TTL_MS: "1000",
        ...options.workerVars,
      },
    });
    cleanups.push(() => mf.dispose());
    const workerUrl = (await mf.ready).toString().replace(/\/$/, "");

    const directUrl = (await mf.unsafeGetDirectURL()).toString().replace(/\/$/, "");
    const gateway = await startGateway(gatewayConfig(options, directUrl, gatewaySecret), log);
    cleanups.push(() => gateway.close());

    return {
      runtime: "workers",
      storeUrl: store.url,
      workerUrl,
      gateway,
      adminToken,
      storeRoundTrips: () => store.pipelineRequests(),
      async runScheduled() {
        const worker = await mf.getWorker();
        await worker.scheduled({ cron: "* * * * *", scheduledTime: new Date() });
      },
      async close() {
        for (const c of cleanups.reverse()) await c().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    throw err;
  }
}
