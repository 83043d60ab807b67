/**
 * CLI: `tsx store-server/src/main.ts --file .data/dev.db --port 8080 [--host 127.0.0.1] [--token T]`.
 * Flags win over the environment (LIBSQL_FILE, STORE_PORT, STORE_HOST, STORE_TOKEN). Prints one JSON line
 * with the URL on stdout once listening; other log lines go to stderr as JSON. Stops cleanly on SIGINT/SIGTERM.
 */
import { parseStoreCliConfig, type StoreCliConfig } from "./cli-config";
import { startStoreServer, type StoreServerOptions } from "./server";

async function main(): Promise<void> {
  let config: StoreCliConfig;
  try {
    config = parseStoreCliConfig(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`${JSON.stringify({ event: "config_error", message: (error as Error).message })}\n`);
    process.exitCode = 2;
    return;
  }
  const options: StoreServerOptions = {
    file: config.file,
    host: config.host,
    port: config.port,
    authToken: config.authToken,
    idleTimeoutMs: config.idleTimeoutMs,
    log: (entry) => {
      if (entry["event"] !== "listening") process.stderr.write(`${JSON.stringify(entry)}\n`);
    },
  };
  const server = await startStoreServer(options);
  process.stdout.write(`${JSON.stringify({ event: "listening", url: server.url, file: config.file, auth: config.authToken !== undefined })}\n`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    server.close().then(
      () => {
        process.stderr.write(`${JSON.stringify({ event: "stopped", signal })}\n`);
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`${JSON.stringify({ event: "stop_error", message: String(error) })}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  process.stderr.write(`${JSON.stringify({ event: "fatal", message: error instanceof Error ? error.message : String(error) })}\n`);
  process.exit(1);
});
