/**
 * Configuration of the store-server CLI, parsed once from flags and environment (flags win).
 */
import { parseArgs } from "node:util";

/** Configuration of the CLI, parsed once from flags and environment. */
export interface StoreCliConfig {
  readonly file: string;
  readonly host: string;
  readonly port: number;
  readonly authToken: string | undefined;
  readonly idleTimeoutMs: number | undefined;
}

const USAGE = "usage: store-server --file <path|:memory:> [--port 8080] [--host 127.0.0.1] [--token <token>] [--idle-timeout-ms 10000]";

/** Parses flags and environment into a config; throws an Error with the reason when something is wrong. */
export function parseStoreCliConfig(argv: readonly string[], env: NodeJS.ProcessEnv): StoreCliConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      file: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      token: { type: "string" },
      "idle-timeout-ms": { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help === true) throw new Error(USAGE);
  const file = values.file ?? env["LIBSQL_FILE"];
  if (file === undefined || file === "") throw new Error(`--file (or LIBSQL_FILE) is required; ${USAGE}`);
  const portText = values.port ?? env["STORE_PORT"] ?? "8080";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new Error(`Invalid port ${JSON.stringify(portText)}`);
  const idleText = values["idle-timeout-ms"];
  const idleTimeoutMs = idleText === undefined ? undefined : Number(idleText);
  if (idleTimeoutMs !== undefined && !(Number.isInteger(idleTimeoutMs) && idleTimeoutMs > 0)) {
    throw new Error(`Invalid --idle-timeout-ms ${JSON.stringify(idleText)}`);
  }
  const token = values.token ?? env["STORE_TOKEN"];
  return {
    file,
    host: values.host ?? env["STORE_HOST"] ?? "127.0.0.1",
    port,
    authToken: token === undefined || token === "" ? undefined : token,
    idleTimeoutMs,
  };
}
