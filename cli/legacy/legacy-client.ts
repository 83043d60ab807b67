/**
 * The admin API routes of the cut-over (`/admin/v1/legacy`, docs/admin-api.md): live bindings page by page
 * and the import of legacy rows in bounded batches. Failures come out as the admin client's two errors, so
 * edgectl reports them (and picks exit codes) as for every other command.
 */
import { ADMIN_PREFIX, AdminApiError, AdminUnreachableError, createAdminClient, DEFAULT_TIMEOUT_MS } from "../admin-client";
import type { FetchLike } from "../admin-client";
import type { ImportRow, LiveBinding } from "./rows";

/** Rows per import request (the API takes at most 500). */
export const IMPORT_BATCH = 200;
/** Bindings per page (the API's maximum). */
export const BINDINGS_PAGE = 1000;

export type ImportResult =
  | { readonly outcome: "inserted" | "updated" | "unchanged" | "kept" }
  | { readonly outcome: "refused"; readonly reason: string };

export interface LegacyClient {
  /** Tenant domains, lower case. */
  tenantDomains(): Promise<Set<string>>;
  /** Every live binding (expires > the worker's now), read page by page. */
  liveBindings(): Promise<LiveBinding[]>;
  /** One batch of rows (distinct AoRs, at most {@link IMPORT_BATCH}); results in the rows' order. */
  importBatch(rows: readonly ImportRow[], dryRun: boolean): Promise<ImportResult[]>;
}

const OUTCOMES = new Set(["inserted", "updated", "unchanged", "kept", "refused"]);

export function createLegacyClient(options: { baseUrl: string; token: string; fetch: FetchLike }): LegacyClient {
  const admin = createAdminClient(options);
  const base = new URL(options.baseUrl);
  const root = `${base.origin}${base.pathname.replace(/\/+$/, "")}`;

  async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const route = `${ADMIN_PREFIX}/legacy${path}`;
    let response: Response;
    let text: string;
    try {
      response = await options.fetch(`${root}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${options.token}`,
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        redirect: "manual",
        signal: AbortSignal.timeout(DEFAULT_TIMEOUT_MS),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      text = await response.text();
    } catch (error) {
      const cause = error instanceof Error ? (error.cause as { code?: string } | undefined) : undefined;
      const reason =
        (error as { name?: string }).name === "TimeoutError"
          ? `no answer within ${DEFAULT_TIMEOUT_MS / 1000} s`
          : cause?.code === "ECONNREFUSED"
            ? "connection refused"
            : (cause?.code ?? (error instanceof Error ? error.message : String(error)));
      throw new AdminUnreachableError(root, reason, { cause: error });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const obj = typeof json === "object" && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
    const routeForErrors = route.split("?")[0] ?? route;
    if (response.status !== 200) {
      const reason = typeof obj?.error === "string" && obj.error !== "" ? obj.error : response.statusText || "error";
      throw new AdminApiError(response.status, reason, method, routeForErrors);
    }
    if (!obj) throw new AdminApiError(response.status, "answer is not a JSON object", method, routeForErrors);
    return obj;
  }

  return {
    async tenantDomains() {
      return new Set((await admin.listTenants()).map((t) => t.domain.toLowerCase()));
    },
    async liveBindings() {
      const out: LiveBinding[] = [];
      let after = 0;
      for (;;) {
        const page = await call("GET", `/bindings?after=${after}&limit=${BINDINGS_PAGE}`);
        if (!Array.isArray(page.bindings)) throw new AdminApiError(200, "unexpected answer: 'bindings' is not an array", "GET", "/legacy/bindings");
        out.push(...(page.bindings as LiveBinding[]));
        if (typeof page.next !== "number") return out;
        after = page.next;
      }
    },
    async importBatch(rows, dryRun) {
      const answer = await call("POST", "/import", { rows, dryRun });
      const results = answer.results;
      if (!Array.isArray(results) || results.length !== rows.length || !results.every((r) => OUTCOMES.has((r as { outcome?: string })?.outcome ?? ""))) {
        throw new AdminApiError(200, "unexpected answer: 'results' does not match the rows sent", "POST", "/legacy/import");
      }
      return results as ImportResult[];
    },
  };
}
