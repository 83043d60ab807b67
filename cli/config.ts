/**
 * Where the admin API is and how to authenticate: read once from the environment and the command line
 * into a typed value, flags winning over the environment, the environment over the local-run defaults.
 */

/** The resolved connection settings. */
export interface AdminConfig {
  /** Worker origin, e.g. `http://127.0.0.1:8787`. */
  readonly url: string;
  readonly token: string;
}

/** The worker of a local run (`npm start`). */
export const DEFAULT_ADMIN_URL = "http://127.0.0.1:8787";
/** The admin token of a local run; never the token of a deployment. */
export const DEFAULT_ADMIN_TOKEN = "dev-admin-token";

/** A setting that cannot be used; `source` names where it came from (`--url`, `EDGE_ADMIN_URL`). */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly source: string,
    readonly reason: string,
  ) {
    super(`${source}: ${reason}`);
  }
}

function pick(flag: string | undefined, flagName: string, envValue: string | undefined, envName: string) {
  if (flag !== undefined) return { value: flag, source: flagName };
  // An empty variable is treated as unset, as shells make that easy to do by accident.
  if (envValue !== undefined && envValue !== "") return { value: envValue, source: envName };
  return undefined;
}

/** Resolves URL and token from flags and environment; throws {@link ConfigError} for an unusable value. */
export function resolveConfig(
  flags: { readonly url?: string; readonly token?: string },
  env: Readonly<Record<string, string | undefined>>,
): AdminConfig {
  const url = pick(flags.url, "--url", env.EDGE_ADMIN_URL, "EDGE_ADMIN_URL") ?? {
    value: DEFAULT_ADMIN_URL,
    source: "default URL",
  };
  const token = pick(flags.token, "--token", env.EDGE_ADMIN_TOKEN, "EDGE_ADMIN_TOKEN") ?? {
    value: DEFAULT_ADMIN_TOKEN,
    source: "default token",
  };

  let parsed: URL;
  try {
    parsed = new URL(url.value);
  } catch {
    throw new ConfigError(url.source, `'${url.value}' is not a URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ConfigError(url.source, `'${url.value}' is not an http: or https: URL`);
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new ConfigError(url.source, "must not carry credentials; give the token with --token or EDGE_ADMIN_TOKEN");
  }
  if (parsed.search !== "" || parsed.hash !== "") {
    throw new ConfigError(url.source, `'${url.value}' must not have a query or fragment`);
  }
  if (token.value === "") throw new ConfigError(token.source, "token is empty");
  if (/[\s\u0000-\u001f\u007f]/.test(token.value)) {
    throw new ConfigError(token.source, "token must not contain spaces or control characters");
  }
  return { url: `${parsed.origin}${parsed.pathname.replace(/\/+$/, "")}`, token: token.value };
}
