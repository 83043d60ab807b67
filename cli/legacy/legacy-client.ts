/**
 * The admin API routes of the cut-over (`/admin/v1/legacy`, docs/admin-api.md): live bindings page by page
 * and the import of legacy rows in bounded batches. Failures come out as the admin client's two errors, so
 * edgectl reports them (and picks exit codes) as for every other command.
 */
import { AdminApiError, createAdminClient } from "../admin-client";
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
  return {
    async tenantDomains() {
      return new Set((await admin.listTenants()).map((t) => t.domain.toLowerCase()));
    },
    async liveBindings() {
      const out: LiveBinding[] = [];
      let after = 0;
      for (;;) {
        const page = await admin.legacy("GET", `/bindings?after=${after}&limit=${BINDINGS_PAGE}`);
        if (!Array.isArray(page.bindings)) throw new AdminApiError(200, "unexpected answer: 'bindings' is not an array", "GET", "/legacy/bindings");
        out.push(...(page.bindings as LiveBinding[]));
        if (typeof page.next !== "number") return out;
        after = page.next;
      }
    },
    async importBatch(rows, dryRun) {
      const answer = await admin.legacy("POST", "/import", { rows, dryRun });
      const results = answer.results;
      if (!Array.isArray(results) || results.length !== rows.length || !results.every((r) => OUTCOMES.has((r as { outcome?: string })?.outcome ?? ""))) {
        throw new AdminApiError(200, "unexpected answer: 'results' does not match the rows sent", "POST", "/legacy/import");
      }
      return results as ImportResult[];
    },
  };
}
