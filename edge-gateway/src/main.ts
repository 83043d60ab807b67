// The gateway CLI: `npm run gateway -- --listen 127.0.0.1:5060` (see --help). SIGTERM / SIGINT drain it
// (lifecycle.ts: new requests 503, running transactions finish within SHUTDOWN_GRACE_MS), then it exits 0.
// EDGE_RUNTIME=node (or --runtime node) runs the decisions in this process (node-runtime/) instead of
// calling the worker over HTTP.
import { NodeRuntimeConfigError, startNodeRuntime } from "../../node-runtime/runtime";
import { envFromProcess } from "../../node-runtime/env";
import { GatewayConfigError, loadEdgeRuntime, loadGatewayConfig, loadNodeRuntimeSettings, USAGE } from "./config";
import { startGateway, type DecisionSource } from "./gateway";
import { exitOnSignals } from "./lifecycle";
import { createLogger } from "./observability/logger";

async function main(): Promise<void> {
  if (process.argv.includes("--help")) {
    process.stdout.write(USAGE);
    return;
  }
  let config;
  let runtime;
  let nodeSettings;
  try {
    config = loadGatewayConfig(process.argv.slice(2), process.env);
    runtime = loadEdgeRuntime(process.argv.slice(2), process.env);
    nodeSettings = runtime === "node" ? loadNodeRuntimeSettings(process.env) : undefined;
  } catch (err) {
    if (err instanceof GatewayConfigError || (err instanceof Error && "code" in err)) {
      process.stderr.write(`edge-gateway: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  let decisions: DecisionSource | undefined;
  let closeRuntime = (): Promise<void> => Promise.resolve();
  if (nodeSettings) {
    let node;
    try {
      node = await startNodeRuntime({
        env: envFromProcess(process.env),
        adminListen: nodeSettings.adminListen,
        decisionTimeoutMs: config.workerTimeoutMs,
        sweepIntervalMs: nodeSettings.sweepIntervalMs,
        // The decisions' routine outcomes are marked level "debug" (worker/src/services.ts jsonLog).
        log: ({ msg, level, ...fields }) => (level === "debug" ? log.debug(String(msg), fields) : log.info(String(msg), fields)),
      });
    } catch (err) {
      if (err instanceof NodeRuntimeConfigError) {
        process.stderr.write(`edge-gateway: ${err.message}\n`);
        process.exitCode = 2;
        return;
      }
      throw err;
    }
    const runtime = node;
    decisions = {
      client: node.client,
      label: `in-process (store ${redact(node.config.libsqlUrl)}, admin ${node.adminUrl ?? "off"})`,
      ping: () => runtime.ping(),
      gauges: runtime.storeGauges,
    };
    closeRuntime = () => node.close();
  }
  const gateway = await startGateway(config, log, decisions);
  exitOnSignals({
    drain: () => gateway.drain(),
    close: () => gateway.close().then(closeRuntime),
  });
}

/** A store URL for logs: without credentials in it. */
function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@").replace(/([?&]authToken=)[^&]*/i, "$1***");
}

void main();
