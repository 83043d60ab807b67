/**
 * The Node runtime (EDGE_RUNTIME=node): the worker's decisions, admin API and expiry sweep in the gateway's
 * own process, over embedded libSQL (a `file:` database owned by a store thread) or any libSQL URL (sqld,
 * Turso, the local store endpoint) when several gateways share one store.
 *
 * - decisions: worker/src/decisions, called in process through the gateway's WorkerClient seam
 *   (in-process-client.ts); contexts stay in memory (no MAC, no JSON signing, no HTTP hop);
 * - admin API: the worker's Hono app (worker/src/app.ts) on Hono's Node adapter, on the address the Workers
 *   runtime's worker has locally (127.0.0.1:8787), so edgectl works unchanged. The app's signed `/v1`
 *   endpoints answer too (with sealed contexts, as in the Workers runtime);
 * - the sweep: worker/src/cron on a timer instead of a cron trigger.
 *
 * Configuration: the worker's bindings by the same names (worker/src/config/env.ts), validated once here.
 */
import { createHash } from "node:crypto";
import type { AddressInfo } from "node:net";
import { createAdaptorServer, type ServerType } from "@hono/node-server";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { applyMigrations } from "../migrations/apply";
import { createApp } from "../worker/src/app";
import { ConfigError, getConfig, type Config, type Env } from "../worker/src/config/env";
import { sweepExpired, type SweepResult } from "../worker/src/cron/sweep-expired";
import { inProcessContexts } from "../worker/src/decisions/contexts";
import { buildSharedServices, provideServices } from "../worker/src/services";
import { createLibsqlStore } from "../worker/src/store/libsql-store";
import { createTenantDirectoryCache } from "../worker/src/tenants/tenant-directory";
import type { Store } from "../worker/src/store/store";
import type { Sha256Hex } from "../worker/src/registrar/binding-token";
import { createInProcessClient, type InProcessClient } from "./in-process-client";
import { startThreadStore } from "./thread-store";

export interface NodeRuntimeOptions {
  /** The worker's bindings (LIBSQL_URL, GATEWAY_SECRET, ADMIN_TOKEN, ...), as in wrangler.toml. */
  readonly env: Env;
  /** Where the admin API listens; undefined: not served. */
  readonly adminListen: { readonly ip: string; readonly port: number } | undefined;
  /** Bound on one decision (the gateway's WORKER_TIMEOUT_MS). */
  readonly decisionTimeoutMs: number;
  /** Expiry sweep period; 0 disables the timer (runSweep still works). Default 60 s, as the cron trigger. */
  readonly sweepIntervalMs?: number;
  /** Apply the migrations at start. Default: for a `file:` store (the runtime owns it), not for a shared one. */
  readonly migrate?: boolean;
  /** Where the decisions' JSON events go (default: stdout lines). */
  readonly log?: (obj: Record<string, unknown>) => void;
}

export interface NodeRuntime {
  readonly config: Config;
  /** The gateway's WorkerClient: decisions in this process. */
  readonly client: InProcessClient;
  /** Store operations made so far (one per round trip to the thread or the remote store). */
  storeCalls(): number;
  /** The store's counters for the gateway's /metrics, by metric name (DecisionSource.gauges). */
  readonly storeGauges: Readonly<Record<string, () => number>>;
  /** `http://ip:port` of the admin API, when served. */
  readonly adminUrl: string | undefined;
  runSweep(): Promise<SweepResult>;
  /** The readiness check: undefined when the store answers, else why not (the gateway's /ready). */
  ping(): Promise<string | undefined>;
  close(): Promise<void>;
}

/** A bad decision setting (the worker's variables), named; startNodeRuntime throws it before starting anything. */
export { ConfigError as NodeRuntimeConfigError };

/** The EDGE_RUNTIME variable: "workers" (default) or "node". */
export type EdgeRuntime = "workers" | "node";

function defaultLog(obj: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ t: new Date().toISOString(), ...obj }) + "\n");
}

/** A Store that counts its calls. */
function counted(store: Store): { store: Store; calls: () => number } {
  let n = 0;
  const wrapped = new Proxy(store, {
    get(target, key) {
      const v = target[key as keyof Store];
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        n++;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, calls: () => n };
}

/** Opens the store: a `file:` database in its own thread; any other libSQL URL directly (network I/O is async). */
async function openStore(
  config: Config,
  opTimeoutMs: number,
): Promise<{ store: Store; calls: () => number; gauges: Record<string, () => number>; close: () => Promise<void> }> {
  if (config.libsqlUrl.startsWith("file:")) {
    const ts = await startThreadStore({ url: config.libsqlUrl, opTimeoutMs });
    return {
      store: ts,
      calls: () => ts.calls(),
      gauges: {
        // Saves that shared a commit with others (node-runtime/group-commit.ts), and those commits: their
        // ratio is the mean group size under load.
        edge_store_commit_groups_total: () => ts.commitGroups().groups,
        edge_store_grouped_saves_total: () => ts.commitGroups().saves,
      },
      close: () => ts.close(),
    };
  }
  const client = createClient({ url: config.libsqlUrl, authToken: config.libsqlAuthToken });
  const { store, calls } = counted(createLibsqlStore(drizzle(client)));
  return {
    store,
    calls,
    gauges: {},
    close: () => {
      client.close();
      return Promise.resolve();
    },
  };
}

/** The binding token's hash, synchronous: WebCrypto's digest would go through Node's thread pool. */
export const nodeSha256: Sha256Hex = (text) => createHash("sha256").update(text, "utf8").digest("hex");

/** Starts the runtime; stops what it started when a step fails. */
export async function startNodeRuntime(options: NodeRuntimeOptions): Promise<NodeRuntime> {
  const config = getConfig(options.env);
  const log = options.log ?? defaultLog;
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    if (options.migrate ?? config.libsqlUrl.startsWith("file:")) {
      await applyMigrations({ url: config.libsqlUrl, authToken: config.libsqlAuthToken });
    }
    // A store call queued longer than a decision may take is refused unrun (its decision has timed out).
    const opened = await openStore(config, options.decisionTimeoutMs);
    cleanups.push(opened.close);
    const { store } = opened;

    // The HTTP app (admin API, and /v1 for gateways that call over HTTP): contexts sealed, they travel.
    // One tenant cache for both (admin changes through the app invalidate it at once).
    const tenantCache = createTenantDirectoryCache();
    provideServices(options.env, { ...buildSharedServices(config, tenantCache, log), store, sha256: nodeSha256 });
    // The in-process decisions: contexts never leave this process.
    const client = createInProcessClient(
      { config, store, contexts: inProcessContexts(config.registerContextMaxAgeS * 1000), tenantCache, log, sha256: nodeSha256 },
      { timeoutMs: options.decisionTimeoutMs },
    );
    cleanups.push(() => client.close());

    let adminUrl: string | undefined;
    if (options.adminListen) {
      const app = createApp();
      const server: ServerType = createAdaptorServer({
        fetch: (req) => app.fetch(req, options.env),
        overrideGlobalObjects: false,
      });
      const { ip, port } = options.adminListen;
      await new Promise<void>((resolve, reject) => {
        // Named: two gateways on one host with the default ADMIN_LISTEN take the same port.
        server.once("error", (err) => reject(new Error(`ADMIN_LISTEN ${ip}:${port}: ${err.message}`, { cause: err })));
        server.listen(port, ip, () => resolve());
      });
      cleanups.push(
        () =>
          new Promise<void>((resolve) => {
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
            server.close(() => resolve());
          }),
      );
      const bound = (server.address() as AddressInfo).port;
      adminUrl = `http://${ip.includes(":") ? `[${ip}]` : ip}:${bound}`;
    }

    const runSweep = async (): Promise<SweepResult> => {
      const r = await sweepExpired(store, Math.floor(Date.now() / 1000), config.sweepBatch, config.sweepMaxBatches);
      log({ msg: "expired bindings swept", ...r });
      return r;
    };
    const period = options.sweepIntervalMs ?? 60_000;
    if (period > 0) {
      let running = false;
      const timer = setInterval(() => {
        if (running) return;
        running = true;
        runSweep()
          .catch((err: unknown) => log({ msg: "sweep failed", error: err instanceof Error ? err.message : String(err) }))
          .finally(() => (running = false));
      }, period);
      timer.unref();
      cleanups.push(() => {
        clearInterval(timer);
        return Promise.resolve();
      });
    }

    return {
      config,
      client,
      storeCalls: opened.calls,
      storeGauges: opened.gauges,
      adminUrl,
      runSweep,
      ping: () =>
        store.ping().then(
          () => undefined,
          (err: unknown) => (err instanceof Error ? err.message : String(err)),
        ),
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
