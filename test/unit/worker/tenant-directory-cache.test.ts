// The tenant directory cache refreshes ahead (worker/src/tenants/tenant-directory.ts): under steady traffic
// no request waits for a reload, and the directory is still never older than the TTL. On a real embedded
// libSQL store; its loadTenants is held behind a gate so that a reload in flight can be observed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../../migrations/apply";
import { createLibsqlStore } from "../../../worker/src/store/libsql-store";
import type { Store } from "../../../worker/src/store/store";
import { createTenantDirectoryCache, invalidateTenantDirectory, type TenantDirectory } from "../../../worker/src/tenants/tenant-directory";

let dir: string;
let client: Client;
let real: Store;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tenant-cache-"));
  const url = `file:${join(dir, "store.db")}`;
  await applyMigrations({ url });
  client = createClient({ url });
  real = createLibsqlStore(drizzle(client));
  await real.createTenant({ domain: "one.example", destinations: [{ uri: "sip:10.9.0.1:5080", weight: 1, priority: 0 }] });
});

afterAll(() => {
  client.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The real store, with its tenant loads counted and, while `hold` is set, kept waiting until released. */
function gatedStore(): { store: Store; loads: () => number; hold: () => void; release: () => Promise<void> } {
  let loads = 0;
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  const store: Store = {
    ...real,
    loadTenants: async () => {
      loads++;
      if (gate) await gate;
      return real.loadTenants();
    },
  };
  return {
    store,
    loads: () => loads,
    hold: () => {
      gate = new Promise<void>((r) => (open = r));
    },
    release: async () => {
      gate = undefined;
      open?.();
      // Let the background reload land (a store read and the cache update).
      for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    },
  };
}

/** Whether `p` settles before the store could answer (a few turns of the event loop, the gate shut). */
async function answeredAtOnce(p: Promise<TenantDirectory>): Promise<boolean> {
  const late = Symbol("late");
  const first = await Promise.race([p, new Promise<typeof late>((r) => setTimeout(() => r(late), 50))]);
  return first !== late;
}

describe("tenant directory cache: refresh ahead", () => {
  const TTL = 1000;

  it("past half the TTL a request starts a reload in the background and is answered from the cache", async () => {
    const s = gatedStore();
    const cache = createTenantDirectoryCache();
    await cache.get(s.store, 10_000, TTL);
    expect(s.loads()).toBe(1);
    expect(await cache.get(s.store, 10_400, TTL)).toBeDefined(); // under half the TTL: no store call
    expect(s.loads()).toBe(1);

    s.hold();
    const deferred: Promise<unknown>[] = [];
    const atHalf = cache.get(s.store, 10_500, TTL, (w) => deferred.push(w));
    expect(await answeredAtOnce(atHalf)).toBe(true); // did not wait for the held reload
    expect(s.loads()).toBe(2);
    expect(deferred).toHaveLength(1); // handed to the runtime's waitUntil
    // One reload at a time: later requests neither wait nor start another.
    for (let t = 10_510; t < 10_750; t += 10) expect(await answeredAtOnce(cache.get(s.store, t, TTL))).toBe(true);
    expect(s.loads()).toBe(2);

    await s.release();
    await deferred[0];
    // The reload (taken at 10 500) replaced the cache: at 11 400 the directory is 900 ms old, not 1 400,
    // so the request does not wait (it starts the next background reload).
    s.hold();
    expect(await answeredAtOnce(cache.get(s.store, 11_400, TTL))).toBe(true);
    expect(s.loads()).toBe(3);
    await s.release();
  });

  it("at 100 requests/s no request waits for the store, and the directory is never older than the TTL", async () => {
    const s = gatedStore();
    const cache = createTenantDirectoryCache();
    await cache.get(s.store, 0, TTL);
    let waited = 0;
    for (let t = 10; t <= 5_000; t += 10) {
      s.hold();
      if (!(await answeredAtOnce(cache.get(s.store, t, TTL)))) waited++;
      await s.release();
    }
    expect(waited).toBe(0);
    expect(s.loads()).toBeGreaterThanOrEqual(1 + 5_000 / TTL); // reloaded at least once per TTL
  });

  it("a directory at its TTL, or after an invalidation, is reloaded before the answer", async () => {
    const s = gatedStore();
    const cache = createTenantDirectoryCache();
    await cache.get(s.store, 0, TTL);
    s.hold();
    expect(await answeredAtOnce(cache.get(s.store, TTL, TTL))).toBe(false); // no traffic for a TTL: waits
    await s.release();
    s.hold();
    invalidateTenantDirectory();
    expect(await answeredAtOnce(cache.get(s.store, TTL + 10, TTL))).toBe(false);
    await s.release();
  });

  it("a lost background reload (its request cancelled) does not stop later refreshes", async () => {
    const s = gatedStore();
    const cache = createTenantDirectoryCache();
    await cache.get(s.store, 0, TTL);
    s.hold(); // this reload never lands while the gate is shut
    await cache.get(s.store, 500, TTL);
    expect(s.loads()).toBe(2);
    await cache.get(s.store, 700, TTL); // still in flight, under a quarter of the TTL: no second reload
    expect(s.loads()).toBe(2);
    await cache.get(s.store, 760, TTL);
    expect(s.loads()).toBe(3); // in flight for a quarter of the TTL: counted as lost, another one starts
    await s.release();
  });

  it("TTL 0 reloads on every request, as before", async () => {
    const s = gatedStore();
    const cache = createTenantDirectoryCache();
    await cache.get(s.store, 0, 0);
    await cache.get(s.store, 0, 0);
    expect(s.loads()).toBe(2);
  });
});
