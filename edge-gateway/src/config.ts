/**
 * The gateway's configuration, parsed once from environment variables and command-line flags (flags win)
 * into a typed value. Nothing else reads the environment.
 */
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import type { LogLevel } from "./observability/logger";

export interface ListenAddress {
  readonly ip: string;
  readonly port: number;
  /** Address written in Via / Record-Route / Contact, when it differs from the bound one (1:1 NAT). */
  readonly advertisedHost: string | undefined;
}

export interface GatewayConfig {
  /** Socket for the phones. */
  readonly listen: ListenAddress;
  /** Socket for the Asterisk boxes; the phones' socket when unset. */
  readonly listenPbx: ListenAddress | undefined;
  readonly workerUrl: string;
  readonly gatewaySecret: string;
  readonly workerTimeoutMs: number;
  readonly workerConnections: number;
  readonly retryAfterS: number;
  /** Local HTTP endpoint for /metrics and /health; undefined disables it. */
  readonly metricsListen: { readonly ip: string; readonly port: number } | undefined;
  readonly logLevel: LogLevel;
  readonly t1: number;
  readonly t2: number;
  readonly t4: number;
  readonly timerC: number;
}

export class GatewayConfigError extends Error {
  override readonly name = "GatewayConfigError";
}

/** Parses `ip:port`, `[v6]:port`; the port defaults to `defaultPort`. */
export function parseHostPortArg(name: string, value: string, defaultPort: number): { ip: string; port: number } {
  const m = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(value) ?? /^([0-9.]+)(?::(\d+))?$/.exec(value);
  if (!m?.[1]) throw new GatewayConfigError(`${name}: expected ip:port or [ipv6]:port, got ${JSON.stringify(value)}`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new GatewayConfigError(`${name}: bad port in ${value}`);
  return { ip: m[1], port };
}

/**
 * The advertised host of a socket: undefined when unset or empty (an empty variable, as compose files leave
 * them, would otherwise put an empty host in every Via); a bare or bracketed IPv6 address, an IPv4 address
 * or a host name, never with a port. Without one, a wildcard bind has no address to write.
 */
function advertisedHost(name: string, raw: string | undefined, bound: { readonly ip: string }): string | undefined {
  const value = raw?.trim();
  if (!value) {
    if (bound.ip === "0.0.0.0" || (bound.ip.includes(":") && /^[0:]+$/.test(bound.ip))) {
      throw new GatewayConfigError(`${name} must be set when listening on the wildcard address ${bound.ip}: it is written in Via and Record-Route`);
    }
    return undefined;
  }
  const bare = value.startsWith("[") && value.endsWith("]") ? value.slice(1, -1) : value;
  if (isIP(bare) === 6 || (isIP(bare) === 4 && bare === value) || /^(?=.*[A-Za-z])[A-Za-z0-9.-]+$/.test(value)) return value;
  throw new GatewayConfigError(`${name}: expected an IP address or a host name without port, got ${JSON.stringify(value)}`);
}

function intOpt(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new GatewayConfigError(`${name} must be an integer in ${min}..${max}`);
  return n;
}

const OPTIONS = {
  listen: { type: "string" },
  "listen-pbx": { type: "string" },
  advertise: { type: "string" },
  "advertise-pbx": { type: "string" },
  "worker-url": { type: "string" },
  "worker-timeout-ms": { type: "string" },
  "metrics-listen": { type: "string" },
  "log-level": { type: "string" },
  runtime: { type: "string" },
} as const;

/** Which runtime makes the decisions: the worker over HTTP (default) or the same code in this process. */
export type EdgeRuntimeName = "workers" | "node";

/** The Node runtime's own settings (EDGE_RUNTIME=node); its decision settings are the worker's variables. */
export interface NodeRuntimeSettings {
  /** Admin API address (ADMIN_LISTEN, default 127.0.0.1:8787: where edgectl looks); undefined: "off". */
  readonly adminListen: { readonly ip: string; readonly port: number } | undefined;
  /** Expiry sweep period (SWEEP_INTERVAL_S, default 60). */
  readonly sweepIntervalMs: number;
}

/** EDGE_RUNTIME, validated: "workers" (also when unset) or "node". */
export function loadEdgeRuntime(argv: readonly string[], env: NodeJS.ProcessEnv): EdgeRuntimeName {
  const i = argv.indexOf("--runtime");
  const raw = (i >= 0 ? argv[i + 1] : undefined) ?? env.EDGE_RUNTIME ?? "workers";
  if (raw === "" || raw === "workers") return "workers";
  if (raw === "node") return "node";
  throw new GatewayConfigError(`EDGE_RUNTIME must be "workers" or "node", got ${JSON.stringify(raw)}`);
}

/** The Node runtime's settings from the environment. */
export function loadNodeRuntimeSettings(env: NodeJS.ProcessEnv): NodeRuntimeSettings {
  const adminRaw = env.ADMIN_LISTEN ?? "127.0.0.1:8787";
  return {
    adminListen: adminRaw === "off" ? undefined : parseHostPortArg("ADMIN_LISTEN", adminRaw, 8787),
    sweepIntervalMs: intOpt("SWEEP_INTERVAL_S", env.SWEEP_INTERVAL_S, 60, 1, 86_400) * 1000,
  };
}

/** Usage text for --help. */
export const USAGE = `edge-gateway: SIP/UDP gateway of edge-registrar

  --runtime workers|node    EDGE_RUNTIME         where decisions run: the worker over HTTP (default), or
                                                 this process on embedded libSQL (see below)
  --listen ip:port          SIP_LISTEN           socket for phones (default 127.0.0.1:5060)
  --listen-pbx ip:port      SIP_LISTEN_PBX       socket for the Asterisk boxes (default: the same socket)
  --advertise host          SIP_ADVERTISE        address written in Via/Record-Route on the phones' side
  --advertise-pbx host      SIP_ADVERTISE_PBX    the same on the Asterisk side
  --worker-url url          WORKER_URL           worker base URL (default http://127.0.0.1:8787)
                            GATEWAY_SECRET       shared signing secret (required, 16+ characters)
  --worker-timeout-ms n     WORKER_TIMEOUT_MS    bound on one worker call (default 2000)
                            WORKER_CONNECTIONS   keep-alive connections (default 16)
                            RETRY_AFTER_S        Retry-After of the 503 when the worker fails (default 5)
  --metrics-listen ip:port  METRICS_LISTEN       /metrics and /health (default 127.0.0.1:9060, "off" disables)
  --log-level level         LOG_LEVEL            debug | info | warn | error (default info)
                            SIP_T1_MS SIP_T2_MS SIP_T4_MS SIP_TIMER_C_MS   RFC 3261 timers

EDGE_RUNTIME=node (WORKER_URL and WORKER_CONNECTIONS unused; WORKER_TIMEOUT_MS bounds one decision):
                            LIBSQL_URL           store (default file:.data/edge-registrar.db, migrated at start;
                                                 http(s)://, libsql:// for a store shared by several gateways)
                            LIBSQL_AUTH_TOKEN    its token
                            ADMIN_TOKEN          admin API bearer token (required, 8+ characters)
                            ADMIN_LISTEN         admin API (default 127.0.0.1:8787, "off" disables)
                            SWEEP_INTERVAL_S     expiry sweep period (default 60)
                            DEFAULT_EXPIRES TENANT_CACHE_TTL_MS ANY_DOMAIN_LOOKUP SWEEP_BATCH SWEEP_MAX_BATCHES
                                                 as for the worker (docs/deploy.md)
`;

/** Parses flags and environment; throws GatewayConfigError with the variable's name. */
export function loadGatewayConfig(argv: readonly string[], env: NodeJS.ProcessEnv): GatewayConfig {
  const { values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false });
  const listenRaw = values.listen ?? env.SIP_LISTEN ?? "127.0.0.1:5060";
  const listen = parseHostPortArg("SIP_LISTEN", listenRaw, 5060);
  const pbxRaw = values["listen-pbx"] ?? env.SIP_LISTEN_PBX;
  const listenPbx = pbxRaw ? parseHostPortArg("SIP_LISTEN_PBX", pbxRaw, 5060) : undefined;
  const secret = env.GATEWAY_SECRET ?? "";
  if (secret.length < 16) throw new GatewayConfigError("GATEWAY_SECRET must be set, 16 characters or more");
  const metricsRaw = values["metrics-listen"] ?? env.METRICS_LISTEN ?? "127.0.0.1:9060";
  const logLevel = (values["log-level"] ?? env.LOG_LEVEL ?? "info") as LogLevel;
  if (!["debug", "info", "warn", "error"].includes(logLevel)) throw new GatewayConfigError("LOG_LEVEL must be debug, info, warn or error");
  const workerUrl = values["worker-url"] ?? env.WORKER_URL ?? "http://127.0.0.1:8787";
  try {
    new URL(workerUrl);
  } catch {
    throw new GatewayConfigError(`WORKER_URL is not a URL: ${workerUrl}`);
  }
  return {
    listen: { ...listen, advertisedHost: advertisedHost("SIP_ADVERTISE", values.advertise ?? env.SIP_ADVERTISE, listen) },
    listenPbx: listenPbx
      ? { ...listenPbx, advertisedHost: advertisedHost("SIP_ADVERTISE_PBX", values["advertise-pbx"] ?? env.SIP_ADVERTISE_PBX, listenPbx) }
      : undefined,
    workerUrl,
    gatewaySecret: secret,
    workerTimeoutMs: intOpt("WORKER_TIMEOUT_MS", values["worker-timeout-ms"] ?? env.WORKER_TIMEOUT_MS, 2000, 50, 60_000),
    workerConnections: intOpt("WORKER_CONNECTIONS", env.WORKER_CONNECTIONS, 16, 1, 1024),
    retryAfterS: intOpt("RETRY_AFTER_S", env.RETRY_AFTER_S, 5, 1, 3600),
    metricsListen: metricsRaw === "off" ? undefined : parseHostPortArg("METRICS_LISTEN", metricsRaw, 9060),
    logLevel,
    t1: intOpt("SIP_T1_MS", env.SIP_T1_MS, 500, 10, 10_000),
    t2: intOpt("SIP_T2_MS", env.SIP_T2_MS, 4000, 100, 60_000),
    t4: intOpt("SIP_T4_MS", env.SIP_T4_MS, 5000, 100, 60_000),
    timerC: intOpt("SIP_TIMER_C_MS", env.SIP_TIMER_C_MS, 181_000, 1000, 3_600_000),
  };
}
