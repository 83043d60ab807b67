/**
 * The gateway's configuration, parsed once from environment variables and command-line flags (flags win)
 * into a typed value. Nothing else reads the environment.
 */
import { isIP } from "node:net";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { DEFAULT_FLOOD_CONFIG, DEFAULT_UA_DENY, type FloodConfig } from "./ingress/ingress-guard";
import { AddressList } from "./ingress/ip-address";
import type { LogLevel } from "./observability/logger";
import { DEFAULT_PROBE_SETTINGS, parseReplyCodes, type ProbeSettings } from "./probe/probe-settings";
import { DEFAULT_WORKER_CONNECTIONS } from "./worker-client/worker-client";
import { DEFAULT_PARSE_LIMITS, MAX_UDP_PAYLOAD } from "../../sip/parser";
import type { ParseLimits } from "../../sip/parser";
import { isWildcardAddress } from "../../sip/host";

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
  /**
   * GATEWAY_SECRET_PREVIOUS during a rotation window: dialog proofs (Record-Route `dp`, alias `amac`) made
   * with it are still accepted; the gateway signs and proves with GATEWAY_SECRET only.
   */
  readonly gatewaySecretPrevious?: string;
  readonly workerTimeoutMs: number;
  /**
   * Keep-alive connections to the worker (WORKER_CONNECTIONS; default DEFAULT_WORKER_CONNECTIONS): the calls
   * that can be in flight at once. Past it, calls wait in the pool's queue.
   */
  readonly workerConnections: number;
  readonly retryAfterS: number;
  /** Local HTTP endpoint for /metrics and /health; undefined disables it. */
  readonly metricsListen: { readonly ip: string; readonly port: number } | undefined;
  readonly logLevel: LogLevel;
  readonly t1: number;
  readonly t2: number;
  readonly t4: number;
  readonly timerC: number;
  /** Overload control: live server transactions past which new requests get 503 (MAX_TRANSACTIONS; default 10000). */
  readonly maxTransactions?: number;
  /** Overload control: worker calls in flight past which new requests get 503 (MAX_PENDING_DECISIONS; default 1000). */
  readonly maxPendingDecisions?: number;
  /** Overload control: new requests get 503 while the oldest worker call has waited longer (MAX_DECISION_WAIT_MS; default 250). */
  readonly maxDecisionWaitMs?: number;
  /**
   * Overload control: delay (ms) of the receive queue above which a growing share of new requests gets 503
   * (MAX_QUEUE_DELAY_MS; default 100; 0 switches it off).
   */
  readonly maxQueueDelayMs?: number;
  /**
   * Bound of the drain on SIGTERM (SHUTDOWN_GRACE_MS; default 30000): transactions still without a final
   * response then are ended with one. Keep systemd's TimeoutStopSec above it.
   */
  readonly shutdownGraceMs?: number;
  /** Per-source flood limit and scanner screen; DEFAULT_FLOOD_CONFIG when absent. */
  readonly flood?: FloodConfig;
  /** Dispatcher probing (OPTIONS to the tenants' destinations); undefined: the gateway does not probe. */
  readonly probe?: ProbeSettings | undefined;
  /** Size limits every received datagram is parsed under (sip/parser.ts ParseLimits); unset: the defaults. */
  readonly parseLimits?: ParseLimits | undefined;
}

/** Default bound of the drain on SIGTERM (deploy/edge-gateway.service's TimeoutStopSec is above it). */
export const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;

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
    if (isWildcardAddress(bound.ip)) {
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
  "allow-insecure-worker-url": { type: "boolean" },
  "worker-timeout-ms": { type: "string" },
  "metrics-listen": { type: "string" },
  "log-level": { type: "string" },
  "flood-limit": { type: "string" },
  "flood-window-s": { type: "string" },
  "flood-density": { type: "string" },
  "flood-block-s": { type: "string" },
  "flood-exempt": { type: "string" },
  "ua-deny": { type: "string" },
  runtime: { type: "string" },
  "max-message-bytes": { type: "string" },
  "max-header-bytes": { type: "string" },
  "max-headers": { type: "string" },
  "max-list-values": { type: "string" },
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
  // The same flag syntax as every other option (`--runtime node` or `--runtime=node`); the rest is not ours.
  const flag = parseArgs({ args: [...argv], options: { runtime: OPTIONS.runtime }, strict: false }).values.runtime;
  const raw = (typeof flag === "string" ? flag : undefined) ?? env.EDGE_RUNTIME ?? "workers";
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
  --worker-url url          WORKER_URL           worker base URL (default http://127.0.0.1:8787): https, or
                                                 http only to a loopback address
  --allow-insecure-worker-url  WORKER_URL_INSECURE=1  accept a plain-http worker URL that is not loopback
                            GATEWAY_SECRET       shared signing secret (required, 16+ characters)
                            GATEWAY_SECRET_PREVIOUS  rotation window: dialog proofs made with it still accepted
  --worker-timeout-ms n     WORKER_TIMEOUT_MS    bound on one worker call (default 2000)
                            WORKER_CONNECTIONS   keep-alive connections, calls in flight at most (default 64)
                            RETRY_AFTER_S        Retry-After of the 503 when the worker fails (default 5)
  --metrics-listen ip:port  METRICS_LISTEN       /metrics, /health and /ready (default 127.0.0.1:9060, "off" disables)
  --log-level level         LOG_LEVEL            debug | info | warn | error (default info)
                            SIP_T1_MS SIP_T2_MS SIP_T4_MS SIP_TIMER_C_MS   RFC 3261 timers
                            MAX_TRANSACTIONS     live server transactions before new requests get 503 (default 10000)
                            MAX_PENDING_DECISIONS  worker calls in flight before new requests get 503 (default 1000)
                            MAX_DECISION_WAIT_MS   new requests get 503 once the oldest worker call has stayed older
                                                 than this for 4x as long (default 250, below T1: no retransmission storm)
                            MAX_QUEUE_DELAY_MS   while datagrams wait longer than this before they are read, a
                                                 growing share of new requests gets 503 (default 100; 0 = off)
                            SHUTDOWN_GRACE_MS    SIGTERM: new requests get 503 + Retry-After; transactions in
                                                 progress get this long to finish, then 503 (default 30000)

  Floods (docs/security.md): a source sending more than DENSITY datagrams within WINDOW seconds is dropped,
  unanswered, for BLOCK seconds (longer while it keeps flooding). Never limited: a distinct SIP_LISTEN_PBX
  socket, addresses the gateway relayed to on the Asterisk side (for FLOOD_LEARNED_TTL_S), FLOOD_EXEMPT.
  --flood-limit on|off      FLOOD_LIMIT          per-source limit (default on; off for a single load generator)
  --flood-window-s n        FLOOD_WINDOW_S       sampling window in seconds (default 2)
  --flood-density n         FLOOD_DENSITY        datagrams per window and source (default 200)
  --flood-block-s n         FLOOD_BLOCK_S        block time in seconds (default 120)
                            FLOOD_MAX_SOURCES    sources tracked at most (default 100000)
  --flood-exempt list       FLOOD_EXEMPT         addresses / CIDRs never limited, IPv4 or IPv6, comma-separated
                            FLOOD_LEARNED_TTL_S  how long a relayed-to Asterisk address stays exempt (default 3600)
  --ua-deny list|off        UA_DENY              User-Agent substrings dropped silently, case-insensitive
                                                 (default ${DEFAULT_UA_DENY.join(",")})
                            PROBE                on | off: OPTIONS probing of destinations (default on)
                            PROBE_INTERVAL_MS    time between probes of a destination (default 10000)
                            PROBE_TIMEOUT_MS     a probe unanswered this long failed (default 5000)
                            PROBE_FAILURE_THRESHOLD   failed probes in a row -> inactive (default 2)
                            PROBE_SUCCESS_THRESHOLD   answered probes in a row -> active (default 2)
                            PROBE_REFRESH_MS     how often the destination list is fetched (default 30000)
                            PROBE_REPLY_CODES    answers that count as alive: any, or e.g. 2xx,404 (default any)
                            GATEWAY_ID           this gateway's name in the worker's logs (default: host name)

EDGE_RUNTIME=node (WORKER_URL and WORKER_CONNECTIONS unused; WORKER_TIMEOUT_MS bounds one decision):
                            LIBSQL_URL           store (default file:.data/edge-registrar.db, migrated at start;
                                                 http(s)://, libsql:// for a store shared by several gateways)
                            LIBSQL_AUTH_TOKEN    its token
                            ADMIN_TOKEN          admin API bearer token (required, 8+ characters)
                            ADMIN_LISTEN         admin API (default 127.0.0.1:8787, "off" disables)
                            SWEEP_INTERVAL_S     expiry sweep period (default 60)
                            DEFAULT_EXPIRES TENANT_CACHE_TTL_MS ANY_DOMAIN_LOOKUP SWEEP_BATCH SWEEP_MAX_BATCHES
                                                 as for the worker (docs/deploy.md)
  --max-message-bytes n     SIP_MAX_MESSAGE_BYTES  largest datagram parsed, larger: 513 (default 16384, 512..65507)
  --max-header-bytes n      SIP_MAX_HEADER_BYTES   longest header field or start line, longer: 400/414 (default 8192)
  --max-headers n           SIP_MAX_HEADERS        most header fields, more: 400 (default 128, 16..4096)
  --max-list-values n       SIP_MAX_LIST_VALUES    most Via/Route/Record-Route/Contact/Path values, more: 400 (default 64)
`;

function onOff(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === "") return fallback;
  if (raw === "on") return true;
  if (raw === "off") return false;
  throw new GatewayConfigError(`${name} must be on or off`);
}

/** A string flag's value from parseArgs' values (a boolean or absent flag: undefined). */
function stringFlag(values: { readonly [k: string]: string | boolean | undefined }, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

/**
 * The flood settings alone, from the environment (and flags when given): for runners that build the rest of
 * the gateway's configuration themselves (`npm start`, the benchmark's stack).
 */
export function loadFloodConfig(env: NodeJS.ProcessEnv, values: { readonly [k: string]: string | boolean | undefined } = {}): FloodConfig {
  const flag = (k: string): string | undefined => stringFlag(values, k);
  const d = DEFAULT_FLOOD_CONFIG;
  const exemptRaw = flag("flood-exempt") ?? env.FLOOD_EXEMPT ?? "";
  try {
    AddressList.parse(exemptRaw);
  } catch (err) {
    throw new GatewayConfigError(`FLOOD_EXEMPT: ${(err as Error).message}`);
  }
  const uaRaw = (flag("ua-deny") ?? env.UA_DENY)?.trim();
  const uaDeny = uaRaw === undefined || uaRaw === "" ? d.uaDeny : uaRaw === "off" ? [] : uaRaw.split(",").map((s) => s.trim()).filter((s) => s !== "");
  return {
    limit: onOff("FLOOD_LIMIT", flag("flood-limit") ?? env.FLOOD_LIMIT, d.limit),
    windowMs: 1000 * intOpt("FLOOD_WINDOW_S", flag("flood-window-s") ?? env.FLOOD_WINDOW_S, d.windowMs / 1000, 1, 60),
    density: intOpt("FLOOD_DENSITY", flag("flood-density") ?? env.FLOOD_DENSITY, d.density, 1, 1_000_000),
    blockMs: 1000 * intOpt("FLOOD_BLOCK_S", flag("flood-block-s") ?? env.FLOOD_BLOCK_S, d.blockMs / 1000, 1, 86_400),
    maxSources: intOpt("FLOOD_MAX_SOURCES", env.FLOOD_MAX_SOURCES, d.maxSources, 1000, 10_000_000),
    exempt: exemptRaw.split(/[\s,]+/).filter((s) => s !== ""),
    learnedTtlMs: 1000 * intOpt("FLOOD_LEARNED_TTL_S", env.FLOOD_LEARNED_TTL_S, d.learnedTtlMs / 1000, 60, 7 * 86_400),
    uaDeny,
  };
}

/** True for 127.0.0.0/8, ::1 (and IPv4-mapped loopback) and `localhost`. */
function isLoopbackHost(hostname: string): boolean {
  const h = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1).toLowerCase() : hostname.toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith("127.");
}

/**
 * The gateway does what the worker answers (where to send, what to rewrite), so the worker's answers must
 * not be open to a man in the middle: https, or plain http only to a loopback address (a worker on the same
 * host, the local run), unless the operator says otherwise explicitly.
 */
function checkWorkerUrl(raw: string, allowInsecure: boolean): void {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new GatewayConfigError(`WORKER_URL is not a URL: ${raw}`);
  }
  if (url.protocol === "https:") return;
  if (url.protocol !== "http:") throw new GatewayConfigError(`WORKER_URL must be http(s), got ${raw}`);
  if (isLoopbackHost(url.hostname) || allowInsecure) return;
  throw new GatewayConfigError(
    `WORKER_URL ${raw} is plain http to a non-loopback host: the worker's decisions would travel unprotected; ` +
      "use https, or set WORKER_URL_INSECURE=1 (--allow-insecure-worker-url) on a network you trust",
  );
}


/** The probe settings from the environment; undefined when PROBE=off. */
function loadProbeSettings(env: NodeJS.ProcessEnv): ProbeSettings | undefined {
  const on = (env.PROBE ?? "on").trim().toLowerCase();
  if (on === "off") return undefined;
  if (on !== "on") throw new GatewayConfigError("PROBE must be on or off");
  const d = DEFAULT_PROBE_SETTINGS;
  const intervalMs = intOpt("PROBE_INTERVAL_MS", env.PROBE_INTERVAL_MS, d.intervalMs, 100, 3_600_000);
  const timeoutMs = intOpt("PROBE_TIMEOUT_MS", env.PROBE_TIMEOUT_MS, d.timeoutMs, 50, 3_600_000);
  if (timeoutMs > intervalMs) throw new GatewayConfigError("PROBE_TIMEOUT_MS must not exceed PROBE_INTERVAL_MS");
  const codesRaw = env.PROBE_REPLY_CODES;
  const replyCodes = codesRaw === undefined || codesRaw === "" ? d.replyCodes : parseReplyCodes(codesRaw);
  if (replyCodes === undefined) throw new GatewayConfigError("PROBE_REPLY_CODES must be any, or codes and classes like 200,2xx,404");
  return {
    intervalMs,
    timeoutMs,
    failureThreshold: intOpt("PROBE_FAILURE_THRESHOLD", env.PROBE_FAILURE_THRESHOLD, d.failureThreshold, 1, 100),
    successThreshold: intOpt("PROBE_SUCCESS_THRESHOLD", env.PROBE_SUCCESS_THRESHOLD, d.successThreshold, 1, 100),
    refreshMs: intOpt("PROBE_REFRESH_MS", env.PROBE_REFRESH_MS, d.refreshMs, 100, 3_600_000),
    replyCodes,
    gatewayId: (env.GATEWAY_ID ?? "").trim() || hostname(),
  };
}

/** Parses flags and environment; throws GatewayConfigError with the variable's name. */
export function loadGatewayConfig(argv: readonly string[], env: NodeJS.ProcessEnv): GatewayConfig {
  const { values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false });
  const listenRaw = values.listen ?? env.SIP_LISTEN ?? "127.0.0.1:5060";
  const listen = parseHostPortArg("SIP_LISTEN", listenRaw, 5060);
  const pbxRaw = values["listen-pbx"] ?? env.SIP_LISTEN_PBX;
  const listenPbx = pbxRaw ? parseHostPortArg("SIP_LISTEN_PBX", pbxRaw, 5060) : undefined;
  const secret = env.GATEWAY_SECRET ?? "";
  if (secret.length < 16) throw new GatewayConfigError("GATEWAY_SECRET must be set, 16 characters or more");
  const previousSecret = env.GATEWAY_SECRET_PREVIOUS || undefined;
  if (previousSecret !== undefined && previousSecret.length < 16)
    throw new GatewayConfigError("GATEWAY_SECRET_PREVIOUS must be 16 characters or more when set");
  const metricsRaw = values["metrics-listen"] ?? env.METRICS_LISTEN ?? "127.0.0.1:9060";
  const logLevel = (values["log-level"] ?? env.LOG_LEVEL ?? "info") as LogLevel;
  if (!["debug", "info", "warn", "error"].includes(logLevel)) throw new GatewayConfigError("LOG_LEVEL must be debug, info, warn or error");
  const workerUrl = values["worker-url"] ?? env.WORKER_URL ?? "http://127.0.0.1:8787";
  checkWorkerUrl(workerUrl, values["allow-insecure-worker-url"] === true || env.WORKER_URL_INSECURE === "1");
  return {
    listen: { ...listen, advertisedHost: advertisedHost("SIP_ADVERTISE", values.advertise ?? env.SIP_ADVERTISE, listen) },
    listenPbx: listenPbx
      ? { ...listenPbx, advertisedHost: advertisedHost("SIP_ADVERTISE_PBX", values["advertise-pbx"] ?? env.SIP_ADVERTISE_PBX, listenPbx) }
      : undefined,
    workerUrl,
    gatewaySecret: secret,
    ...(previousSecret !== undefined ? { gatewaySecretPrevious: previousSecret } : {}),
    workerTimeoutMs: intOpt("WORKER_TIMEOUT_MS", values["worker-timeout-ms"] ?? env.WORKER_TIMEOUT_MS, 2000, 50, 60_000),
    workerConnections: intOpt("WORKER_CONNECTIONS", env.WORKER_CONNECTIONS, DEFAULT_WORKER_CONNECTIONS, 1, 1024),
    retryAfterS: intOpt("RETRY_AFTER_S", env.RETRY_AFTER_S, 5, 1, 3600),
    metricsListen: metricsRaw === "off" ? undefined : parseHostPortArg("METRICS_LISTEN", metricsRaw, 9060),
    logLevel,
    t1: intOpt("SIP_T1_MS", env.SIP_T1_MS, 500, 10, 10_000),
    t2: intOpt("SIP_T2_MS", env.SIP_T2_MS, 4000, 100, 60_000),
    t4: intOpt("SIP_T4_MS", env.SIP_T4_MS, 5000, 100, 60_000),
    timerC: intOpt("SIP_TIMER_C_MS", env.SIP_TIMER_C_MS, 181_000, 1000, 3_600_000),
    maxTransactions: intOpt("MAX_TRANSACTIONS", env.MAX_TRANSACTIONS, 10_000, 1, 10_000_000),
    maxPendingDecisions: intOpt("MAX_PENDING_DECISIONS", env.MAX_PENDING_DECISIONS, 1_000, 1, 1_000_000),
    maxDecisionWaitMs: intOpt("MAX_DECISION_WAIT_MS", env.MAX_DECISION_WAIT_MS, 250, 10, 600_000),
    maxQueueDelayMs: intOpt("MAX_QUEUE_DELAY_MS", env.MAX_QUEUE_DELAY_MS, 100, 0, 10_000),
    shutdownGraceMs: intOpt("SHUTDOWN_GRACE_MS", env.SHUTDOWN_GRACE_MS, DEFAULT_SHUTDOWN_GRACE_MS, 0, 600_000),
    flood: loadFloodConfig(env, values),
    probe: loadProbeSettings(env),
    parseLimits: parseLimits(values, env),
  };
}

/** The grammar's limits from flags and environment, each bounded so that none can switch a check off. */
function parseLimits(values: { readonly [k: string]: string | boolean | undefined }, env: NodeJS.ProcessEnv): ParseLimits {
  const flag = (name: string): string | undefined => stringFlag(values, name);
  const d = DEFAULT_PARSE_LIMITS;
  const maxMessageBytes = intOpt("SIP_MAX_MESSAGE_BYTES", flag("max-message-bytes") ?? env.SIP_MAX_MESSAGE_BYTES, d.maxMessageBytes, 512, MAX_UDP_PAYLOAD);
  return {
    maxMessageBytes,
    maxHeaderLineBytes: intOpt("SIP_MAX_HEADER_BYTES", flag("max-header-bytes") ?? env.SIP_MAX_HEADER_BYTES, Math.min(d.maxHeaderLineBytes, maxMessageBytes), 128, maxMessageBytes),
    maxHeaders: intOpt("SIP_MAX_HEADERS", flag("max-headers") ?? env.SIP_MAX_HEADERS, d.maxHeaders, 16, 4096),
    maxListValues: intOpt("SIP_MAX_LIST_VALUES", flag("max-list-values") ?? env.SIP_MAX_LIST_VALUES, d.maxListValues, 4, 1024),
  };
}
