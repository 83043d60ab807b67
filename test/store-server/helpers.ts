/**
 * Test helpers: a store server on port 0 over a fresh temporary database file, and a raw Hrana pipeline call
 * for the protocol details the client does not expose.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStoreServer, type StoreServer, type StoreServerOptions } from "../../store-server/src/server";

/** A running server plus the cleanup that closes it and removes its folder. */
export interface TestStore {
  readonly server: StoreServer;
  readonly url: string;
  readonly file: string;
  readonly dir: string;
  stop(): Promise<void>;
}

/** Starts a store server over `<tmp>/store.db` (or `:memory:`), with optional extra options. */
export async function startTestStore(options: Partial<StoreServerOptions> = {}): Promise<TestStore> {
  const dir = await mkdtemp(join(tmpdir(), "store-server-test-"));
  const file = options.file ?? join(dir, "store.db");
  const server = await startStoreServer({ ...options, file });
  return {
    server,
    url: server.url,
    file,
    dir,
    async stop() {
      await server.close();
      await rm(dir, { recursive: true, force: true, maxRetries: 5 }); // the checkpoint thread may still be closing its files
    },
  };
}

/** The decoded answer of one raw pipeline call. */
export interface RawPipeline {
  readonly status: number;
  readonly body: {
    baton?: string | null;
    base_url?: string | null;
    results?: { type: string; response?: Record<string, unknown> & { type: string }; error?: { message: string; code: string } }[];
    message?: string;
    code?: string;
  };
}

/** POSTs `body` to `/v2/pipeline` and returns status and JSON body. */
export async function pipeline(url: string, body: unknown, token?: string): Promise<RawPipeline> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== undefined) headers["authorization"] = `Bearer ${token}`;
  const response = await fetch(`${url}/v2/pipeline`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as RawPipeline["body"] };
}

/** A raw `execute` request for `sql` with positional Hrana values. */
export function executeRequest(sql: string, args: unknown[] = []): unknown {
  return { type: "execute", stmt: { sql, args, named_args: [], want_rows: true } };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
