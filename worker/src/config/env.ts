/**
 * The worker's bindings (wrangler.toml [vars] and secrets) and their validation into a typed Config,
 * done once per env object instead of inside each handler.
 */
import { timingSafeEqual } from "hono/utils/buffer";

/**
 * Bindings as wrangler provides them. Secrets: GATEWAY_SECRET, ADMIN_TOKEN, LIBSQL_AUTH_TOKEN, and during a
 * rotation window GATEWAY_SECRET_PREVIOUS / ADMIN_TOKEN_PREVIOUS (docs/operations.md, "Rotating secrets").
 */
export interface Env {
  LIBSQL_URL: string;
  LIBSQL_AUTH_TOKEN?: string;
  GATEWAY_SECRET: string;
  ADMIN_TOKEN: string;
  /** Rotation window: the gateway secret being replaced, still accepted (signatures, sealed contexts). */
  GATEWAY_SECRET_PREVIOUS?: string;
  /** Rotation window: the admin token being replaced, still accepted (API bearer, UI login and sessions). */
  ADMIN_TOKEN_PREVIOUS?: string;
  DEFAULT_EXPIRES?: string;
  MIN_EXPIRES?: string;
  MAX_EXPIRES?: string;
  MAX_CONTACTS?: string;
  REGISTER_CONTEXT_MAX_AGE_S?: string;
  TENANT_CACHE_TTL_MS?: string;
  SIGNATURE_WINDOW_S?: string;
  SWEEP_BATCH?: string;
  SWEEP_MAX_BATCHES?: string;
  /** "on" allows the opt-in username-in-any-domain lookup (issue: tenant-scoped routing). Default off. */
  ANY_DOMAIN_LOOKUP?: string;
}

/** Validated configuration. */
export interface Config {
  readonly libsqlUrl: string;
  readonly libsqlAuthToken: string | undefined;
  readonly gatewaySecret: string;
  readonly adminToken: string;
  /** The previous gateway secret during a rotation window: verified, never used to sign or seal. */
  readonly gatewaySecretPrevious: string | undefined;
  /** The previous admin token during a rotation window: accepted, never used to sign new sessions. */
  readonly adminTokenPrevious: string | undefined;
  /** Expiry used when neither the reply nor the request gives one (seconds). */
  readonly defaultExpires: number;
  /** Shortest non-zero expiry a REGISTER may ask for; shorter gets 423 + Min-Expires (RFC 3261 10.3). */
  readonly minExpires: number;
  /** Longest expiry kept; a longer request or grant is shortened to it. */
  readonly maxExpires: number;
  /** Most unexpired bindings per AoR; a new device beyond it gets 403 Too Many Registered Contacts. */
  readonly maxContacts: number;
  /**
   * Lifetime of a sealed REGISTER context (seconds): the REGISTER's client transaction lasts 64*T1 = 32 s
   * (RFC 3261 17.1.2.2), plus a margin for the worker calls. A later or replayed 2xx is refused.
   */
  readonly registerContextMaxAgeS: number;
  /** How long a removed binding is remembered against late 2xx: the context lifetime plus clock margin. */
  readonly tombstoneTtlS: number;
  readonly tenantCacheTtlMs: number;
  readonly signatureWindowS: number;
  readonly sweepBatch: number;
  readonly sweepMaxBatches: number;
  readonly anyDomainLookup: boolean;
}

/** A configuration problem, reported once with the variable's name. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

function int(env: Env, name: keyof Env, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer in ${min}..${max}`);
  return n;
}

const cache = new WeakMap<Env, Config>();

/** Parses and checks the bindings; cached per env object. Throws ConfigError naming the bad variable. */
export function getConfig(env: Env): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  if (!env.LIBSQL_URL) throw new ConfigError("LIBSQL_URL is not set");
  if (!env.GATEWAY_SECRET || env.GATEWAY_SECRET.length < 16)
    throw new ConfigError("GATEWAY_SECRET must be set, 16 characters or more");
  if (!env.ADMIN_TOKEN || env.ADMIN_TOKEN.length < 8) throw new ConfigError("ADMIN_TOKEN must be set, 8 characters or more");
  // Expiry bounds: delta-seconds go up to 2^32-1 (RFC 3261 25.1); MAX_EXPIRES stays within it.
  const minExpires = int(env, "MIN_EXPIRES", 60, 0, 86400);
  const maxExpires = int(env, "MAX_EXPIRES", 86400, 1, 0xffffffff);
  if (maxExpires < minExpires) throw new ConfigError("MAX_EXPIRES must not be below MIN_EXPIRES");
  const contextMaxAge = int(env, "REGISTER_CONTEXT_MAX_AGE_S", 40, 5, 600);
  // An empty previous value (a secret set to "" to end the window) counts as unset.
  const gatewaySecretPrevious = env.GATEWAY_SECRET_PREVIOUS || undefined;
  if (gatewaySecretPrevious !== undefined && gatewaySecretPrevious.length < 16)
    throw new ConfigError("GATEWAY_SECRET_PREVIOUS must be 16 characters or more when set");
  const adminTokenPrevious = env.ADMIN_TOKEN_PREVIOUS || undefined;
  if (adminTokenPrevious !== undefined && adminTokenPrevious.length < 8)
    throw new ConfigError("ADMIN_TOKEN_PREVIOUS must be 8 characters or more when set");
  const config: Config = {
    libsqlUrl: env.LIBSQL_URL,
    libsqlAuthToken: env.LIBSQL_AUTH_TOKEN || undefined,
    gatewaySecret: env.GATEWAY_SECRET,
    adminToken: env.ADMIN_TOKEN,
    gatewaySecretPrevious,
    adminTokenPrevious,
    defaultExpires: int(env, "DEFAULT_EXPIRES", 3600, 1, 86400 * 7),
    minExpires,
    maxExpires,
    maxContacts: int(env, "MAX_CONTACTS", 10, 1, 1000),
    registerContextMaxAgeS: contextMaxAge,
    tombstoneTtlS: contextMaxAge + 60,
    tenantCacheTtlMs: int(env, "TENANT_CACHE_TTL_MS", 5000, 0, 3_600_000),
    signatureWindowS: int(env, "SIGNATURE_WINDOW_S", 30, 1, 600),
    sweepBatch: int(env, "SWEEP_BATCH", 500, 1, 10_000),
    sweepMaxBatches: int(env, "SWEEP_MAX_BATCHES", 20, 1, 1000),
    anyDomainLookup: env.ANY_DOMAIN_LOOKUP === "on",
  };
  cache.set(env, config);
  return config;
}

/** The admin tokens accepted now: ADMIN_TOKEN, and ADMIN_TOKEN_PREVIOUS during a rotation window. */
export function acceptedAdminTokens(config: Config): readonly string[] {
  return config.adminTokenPrevious === undefined ? [config.adminToken] : [config.adminToken, config.adminTokenPrevious];
}

/**
 * True when `presented` is an accepted admin token. Each comparison is constant-time, and every accepted
 * token is compared, so the time does not say which one matched.
 */
export async function isAdminToken(config: Config, presented: string): Promise<boolean> {
  let ok = false;
  for (const token of acceptedAdminTokens(config)) if (await timingSafeEqual(presented, token)) ok = true;
  return ok;
}
