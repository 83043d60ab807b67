/**
 * A small typed client of the worker's admin API (`/admin/v1`, docs/admin-api.md): one function per route.
 * It is the only module of the CLI that calls `fetch`; every failure comes out as one of two errors, so the
 * caller can tell "the API said no" ({@link AdminApiError}) from "nobody answered" ({@link AdminUnreachableError}).
 */

/** The part of `fetch` the client uses; the global `fetch` fits, and tests pass a recording one. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** One dispatcher destination of a tenant, as the API returns it. */
export interface Destination {
  readonly id: number;
  readonly uri: string;
  readonly state: number;
  readonly weight: number;
  readonly priority: number;
  readonly socket: string | null;
  readonly attrs: string;
  readonly description: string;
  /** True when requests count as from this destination only from its own port (attrs `require_port=1`). */
  readonly requirePort?: boolean;
}

/** A tenant (a SIP domain and its dispatcher set), as the API returns it. */
export interface Tenant {
  readonly domain: string;
  readonly setid: number;
  readonly attrs: string;
  readonly acceptSubdomain: boolean;
  readonly destinations: readonly Destination[];
}

/** A destination to create: a bare URI, or a URI with dispatcher weight and priority. */
export type NewDestination =
  | string
  | { readonly uri: string; readonly weight?: number; readonly priority?: number; readonly requirePort?: boolean };

/** The body of `POST /admin/v1/tenants`. */
export interface NewTenant {
  readonly domain: string;
  readonly destinations: readonly NewDestination[];
  /** Accept an IP address or single-label name as the domain. */
  readonly allowUnusualDomain?: boolean;
}

/** The answer of `DELETE /admin/v1/tenants/:domain`. */
export interface TenantDeleted {
  readonly deleted: string;
  readonly bindingsRemoved: number;
}

/** A registration binding; field names are the OpenSIPS `location` columns, camel-cased. */
export interface Binding {
  readonly id: number;
  readonly username: string;
  readonly domain: string;
  readonly contact: string;
  readonly received: string | null;
  readonly path: string | null;
  /** Unix seconds. */
  readonly expires: number;
  readonly q: number;
  readonly callid: string;
  readonly cseq: number;
  /** Unix seconds. */
  readonly lastModified: number;
  readonly userAgent: string | null;
  readonly socket: string | null;
  readonly methods: string | null;
  readonly sipInstance: string | null;
  readonly flags: number;
  readonly cflags: string;
  readonly attr: string | null;
}

/** Filters of `GET /admin/v1/bindings`; all optional. */
export interface BindingQuery {
  readonly domain?: string;
  /** `user@domain`. */
  readonly aor?: string;
  /** 1..1000; the API defaults to 1000. */
  readonly limit?: number;
}

/** The answer of `GET /admin/v1/health`: `healthy` is false when the API answered 503 (store down). */
export interface HealthReport {
  readonly healthy: boolean;
  readonly status: string;
  readonly store: string;
}

/** The answer of the binding and AOR deletions: how many bindings went. */
export interface Deleted {
  readonly deleted: number;
}

/** A destination with its state, as `GET /admin/v1/destinations` returns it. */
export interface DestinationStatus {
  readonly id: number;
  readonly uri: string;
  /** `active`, `inactive` (failed its probes) or `disabled` (by an operator). */
  readonly state: string;
  readonly probing: boolean;
  readonly domains: readonly string[];
  readonly setid: number;
  readonly weight: number;
  readonly priority: number;
}

/** Which destination rows an operator means: an address, optionally only one tenant's. */
export interface DestinationSelector {
  readonly uri: string;
  readonly domain?: string;
}

/** Settings of {@link createAdminClient}. */
export interface AdminClientOptions {
  /** Origin of the worker (a path prefix is kept), e.g. `http://127.0.0.1:8787`. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token: string;
  /** Defaults to the global `fetch`. */
  readonly fetch?: FetchLike;
  /** Bound on each request, answer body included; defaults to {@link DEFAULT_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
}

/** The typed functions of the admin API, one per route. */
export interface AdminClient {
  health(): Promise<HealthReport>;
  listTenants(): Promise<Tenant[]>;
  getTenant(domain: string): Promise<Tenant>;
  createTenant(tenant: NewTenant): Promise<Tenant>;
  deleteTenant(domain: string): Promise<TenantDeleted>;
  setRequirePort(domain: string, id: number, on: boolean): Promise<Destination>;
  listBindings(query?: BindingQuery): Promise<Binding[]>;
  getBinding(id: number): Promise<Binding>;
  deleteBinding(id: number): Promise<Deleted>;
  deleteAor(aor: string): Promise<Deleted>;
  listDestinations(query?: { readonly domain?: string }): Promise<DestinationStatus[]>;
  setDestinationState(
    action: "enable" | "disable",
    selector: DestinationSelector,
  ): Promise<{ destinations: DestinationStatus[]; changed: number }>;
  setDestinationProbing(selector: DestinationSelector & { readonly probing: boolean }): Promise<DestinationStatus[]>;
  /** The cut-over routes (`/legacy/...`): the answer object as sent, for cli/legacy/legacy-client.ts to check. */
  legacy(method: "GET" | "POST", path: string, body?: unknown): Promise<JsonObject>;
}

/** How long one request may take before the client gives up, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** Path prefix of every admin route. */
export const ADMIN_PREFIX = "/admin/v1";

/**
 * The admin API answered, and not with success: carries the HTTP status and the reason (the `error` field of
 * the body when there is one). Also used for a success answer whose body is not the documented shape.
 */
export class AdminApiError extends Error {
  override readonly name = "AdminApiError";
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path}: ${reason} (HTTP ${status})`);
  }
}

/** No answer came: connection refused, host not found, reset, or no answer within the timeout. */
export class AdminUnreachableError extends Error {
  override readonly name = "AdminUnreachableError";
  constructor(
    readonly url: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach ${url}: ${reason}`, options);
  }
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code, errors } = error as { code?: unknown; errors?: unknown };
  if (typeof code === "string") return code;
  // Node's happy-eyeballs connect fails with an AggregateError, one error per address tried.
  if (Array.isArray(errors)) return errorCode(errors[0]);
  return undefined;
}

const NETWORK_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found (DNS lookup failed)",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  UND_ERR_SOCKET: "connection closed",
};

function describeNetworkFailure(error: unknown, timeoutMs: number): string {
  const name = typeof error === "object" && error !== null ? (error as { name?: unknown }).name : undefined;
  if (name === "TimeoutError") return `no answer within ${timeoutMs / 1000} s`;
  if (name === "AbortError") return "request aborted";
  const cause = error instanceof Error ? error.cause : undefined;
  const code = errorCode(cause) ?? errorCode(error);
  if (code !== undefined) return NETWORK_REASONS[code] ?? code;
  // undici refuses ports on the Fetch standard's "bad port" list (5060 among them) before connecting.
  if (cause instanceof Error && cause.message === "bad port") return "fetch refuses this port (a Fetch 'bad port')";
  if (cause instanceof Error && cause.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** Creates a client bound to one worker and token. Nothing is sent until a function is called. */
export function createAdminClient(options: AdminClientOptions): AdminClient {
  const doFetch: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const base = new URL(options.baseUrl);
  const root = `${base.origin}${base.pathname.replace(/\/+$/, "")}`;

  async function call(method: string, path: string, body?: unknown, accept: readonly number[] = [200]) {
    const route = `${ADMIN_PREFIX}${path}`;
    const url = `${root}${route}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${options.token}`,
      accept: "application/json",
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    const init: RequestInit = {
      method,
      headers,
      // A redirect would carry the token elsewhere; report it instead of following it.
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    };
    if (body !== undefined) init.body = JSON.stringify(body);

    let response: Response;
    let text: string;
    try {
      response = await doFetch(url, init);
      text = await response.text();
    } catch (error) {
      throw new AdminUnreachableError(root, describeNetworkFailure(error, timeoutMs), { cause: error });
    }

    let json: unknown;
    let isJson = true;
    if (text.trim().length > 0) {
      try {
        json = JSON.parse(text);
      } catch {
        isJson = false;
      }
    }
    const routeForErrors = route.split("?")[0] ?? route;
    if (!accept.includes(response.status)) {
      let reason: string;
      if (isObject(json) && typeof json.error === "string" && json.error.length > 0) reason = json.error;
      else if (response.status >= 300 && response.status < 400) {
        reason = `unexpected redirect to ${response.headers.get("location") ?? "(no location)"}`;
      } else reason = response.statusText || "error";
      throw new AdminApiError(response.status, reason, method, routeForErrors);
    }
    if (!isJson || !isObject(json)) {
      throw new AdminApiError(response.status, "answer is not a JSON object", method, routeForErrors);
    }
    const answer = json;
    const status = response.status;

    return {
      status,
      answer,
      /** Reads a field of the answer, refusing an answer that is not the documented shape. */
      field<K extends "object" | "array" | "number" | "string">(key: string, kind: K): FieldType<K> {
        const value = answer[key];
        const fits =
          kind === "array"
            ? Array.isArray(value) && value.every(isObject)
            : kind === "object"
              ? isObject(value)
              : typeof value === kind;
        if (!fits) {
          const what = kind === "array" ? "an array of objects" : `a${kind === "object" ? "n" : ""} ${kind}`;
          throw new AdminApiError(status, `unexpected answer: '${key}' is not ${what}`, method, routeForErrors);
        }
        return value as FieldType<K>;
      },
    };
  }

  const seg = encodeURIComponent;

  return {
    async health() {
      const res = await call("GET", "/health", undefined, [200, 503]);
      return {
        healthy: res.status === 200,
        status: res.field("status", "string"),
        store: res.field("store", "string"),
      };
    },
    async listTenants() {
      return (await call("GET", "/tenants")).field("tenants", "array") as unknown as Tenant[];
    },
    async getTenant(domain) {
      return (await call("GET", `/tenants/${seg(domain)}`)).field("tenant", "object") as unknown as Tenant;
    },
    async createTenant(tenant) {
      const res = await call("POST", "/tenants", tenant, [201]);
      return res.field("tenant", "object") as unknown as Tenant;
    },
    async setRequirePort(domain, id, on) {
      const res = await call("PATCH", `/tenants/${seg(domain)}/destinations/${seg(String(id))}`, { requirePort: on });
      return res.field("destination", "object") as unknown as Destination;
    },
    async deleteTenant(domain) {
      const res = await call("DELETE", `/tenants/${seg(domain)}`);
      return { deleted: res.field("deleted", "string"), bindingsRemoved: res.field("bindingsRemoved", "number") };
    },
    async listBindings(query = {}) {
      const params = new URLSearchParams();
      if (query.domain !== undefined) params.set("domain", query.domain);
      if (query.aor !== undefined) params.set("aor", query.aor);
      if (query.limit !== undefined) params.set("limit", String(query.limit));
      const search = params.toString();
      return (await call("GET", search ? `/bindings?${search}` : "/bindings")).field("bindings", "array") as unknown as Binding[];
    },
    async getBinding(id) {
      return (await call("GET", `/bindings/${seg(String(id))}`)).field("binding", "object") as unknown as Binding;
    },
    async deleteBinding(id) {
      return { deleted: (await call("DELETE", `/bindings/${seg(String(id))}`)).field("deleted", "number") };
    },
    async deleteAor(aor) {
      return { deleted: (await call("DELETE", `/aors/${seg(aor)}`)).field("deleted", "number") };
    },
    async listDestinations(query = {}) {
      const path = query.domain !== undefined ? `/destinations?domain=${seg(query.domain)}` : "/destinations";
      return (await call("GET", path)).field("destinations", "array") as unknown as DestinationStatus[];
    },
    async setDestinationState(action, selector) {
      const res = await call("POST", `/destinations/${action}`, selector);
      return {
        destinations: res.field("destinations", "array") as unknown as DestinationStatus[],
        changed: res.field("changed", "number"),
      };
    },
    async setDestinationProbing(selector) {
      return (await call("POST", "/destinations/probe", selector)).field("destinations", "array") as unknown as DestinationStatus[];
    },
    async legacy(method, path, body) {
      return (await call(method, `/legacy${path}`, body)).answer;
    },
  };
}

type FieldType<K> = K extends "object"
  ? JsonObject
  : K extends "array"
    ? JsonObject[]
    : K extends "number"
      ? number
      : string;
