// The gateway CLI: `npm run gateway -- --listen 127.0.0.1:5060` (see --help). SIGTERM / SIGINT drain it
// (lifecycle.ts: new requests 503, running transactions finish within SHUTDOWN_GRACE_MS), then it exits 0.
import { GatewayConfigError, loadGatewayConfig, USAGE } from "./config";
import { startGateway } from "./gateway";
import { exitOnSignals } from "./lifecycle";

async function main(): Promise<void> {
  if (process.argv.includes("--help")) {
    process.stdout.write(USAGE);
    return;
  }
  let config;
  try {
    config = loadGatewayConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof GatewayConfigError || (err instanceof Error && "code" in err)) {
      process.stderr.write(`edge-gateway: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  const gateway = await startGateway(config);
  exitOnSignals(gateway);
}

void main();
