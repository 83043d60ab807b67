// Store.applySave (worker/src/store/save-statements.ts: fixed SQL run through the libSQL client in one "write"
// batch) against the real libSQL, over each client the Store runs on: the node runtime's embedded client, the
// full @libsql/client on a `file:` store, and @libsql/client/web over HTTP to the local store endpoint (the
// Workers runtime's way). The rules are the registrar's: CSeq guards, tombstones, maxContacts, rows written
// before binding identities existed, and the AoR's rows as the 2xx lists them.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@libsql/client";
import { createClient as createWebClient } from "@libsql/client/web";
import { drizzle } from "drizzle-orm/libsql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../../migrations/apply";
import { createEmbeddedClient, type EmbeddedClient } from "../../../node-runtime/embedded-client";
import { startStoreServer, type StoreServer } from "../../../store-server/src/server";
import { createLibsqlStore } from "../../../worker/src/store/libsql-store";
import type { BindingWrite, SavePlan, Store } from "../../../worker/src/store/store";

const DOMAIN = "save.example";
/** The clients the Store runs over, in production and in the tests. */
const CLIENTS = ["the embedded client (node runtime)", "@libsql/client on file:", "@libsql/client/web over HTTP (Workers)"];
const NOW = 1_900_000_000;

let dir: string;
let server: StoreServer;
let embedded: EmbeddedClient;
const clients: { name: string; client: Client }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "edge-apply-save-"));
  const fileUrl = `file:${join(dir, "file.db")}`;
  const embUrl = `file:${join(dir, "embedded.db")}`;
  await applyMigrations({ url: fileUrl });
  await applyMigrations({ url: embUrl });
  server = await startStoreServer({ file: join(dir, "http.db") });
  await applyMigrations({ url: server.url });
  embedded = createEmbeddedClient(embUrl);
  clients.push(
    { name: CLIENTS[0]!, client: embedded },
    { name: CLIENTS[1]!, client: createClient({ url: fileUrl }) },
    { name: CLIENTS[2]!, client: createWebClient({ url: server.url }) },
  );
  for (const { client } of clients) {
    await createLibsqlStore(drizzle(client)).createTenant({ domain: DOMAIN, destinations: [] });
  }
});

afterAll(async () => {
  for (const { client } of clients) client.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

let users = 0;
/** A fresh AoR for each case on each client, so that the cases do not see each other's rows. */
const freshUser = (): string => `u${++users}`;

function write(ruid: string, over: Partial<BindingWrite> = {}): BindingWrite {
  return {
    ruid,
    contact: `sip:${ruid}@10.0.0.1:5070`,
    received: null,
    path: null,
    expires: NOW + 300,
    q: 1,
    userAgent: "ua",
    socket: "udp:127.0.0.1:5060",
    methods: null,
    sipInstance: null,
    ...over,
  };
}

function plan(username: string, over: Partial<SavePlan> = {}): SavePlan {
  return {
    username,
    domain: DOMAIN,
    callid: `call-${username}`,
    cseq: 1,
    now: NOW,
    issuedAt: NOW * 1000,
    removedAt: NOW * 1000 + 10,
    maxContacts: 10,
    tombstoneExpires: NOW + 60,
    removeAll: false,
    upserts: [],
    removals: [],
    ...over,
  };
}

/** A row as a store from before binding identities (or the legacy import) writes it: ruid NULL. */
async function insertUnidentified(client: Client, username: string, contact: string, callid = "old-call", cseq = 1): Promise<void> {
  await client.execute({
    sql: `INSERT INTO location (username, domain, contact, expires, callid, cseq, last_modified)
      VALUES (?, ?, ?, ?, ?, ?, ?)`,
    args: [username, DOMAIN, contact, NOW + 300, callid, cseq, NOW],
  });
}

describe.each(CLIENTS)("applySave over %s", (name) => {
  const ctx = (): { store: Store; client: Client } => {
    const c = clients.find((x) => x.name === name)!;
    return { store: createLibsqlStore(drizzle(c.client)), client: c.client };
  };

  it("returns the AoR's rows, best q first then oldest, mapped as the drizzle lookup maps them", async () => {
    const { store } = ctx();
    const u = freshUser();
    const saved = await store.applySave(
      plan(u, {
        upserts: [
          write("a", { q: 0.5, received: "sip:192.0.2.1:5070", path: "<sip:p1;lr>", methods: 31, sipInstance: '"<urn:uuid:1>"' }),
          write("b", { q: 1 }),
          write("c", { q: 0.5 }),
        ],
      }),
    );
    expect(saved.blocked.size).toBe(0);
    expect(saved.bindings.map((b) => b.ruid)).toEqual(["b", "a", "c"]);
    const a = saved.bindings[1]!;
    expect(a).toMatchObject({
      username: u,
      domain: DOMAIN,
      contact: "sip:a@10.0.0.1:5070",
      received: "sip:192.0.2.1:5070",
      path: "<sip:p1;lr>",
      expires: NOW + 300,
      q: 0.5,
      callid: `call-${u}`,
      cseq: 1,
      lastModified: NOW,
      flags: 0,
      cflags: null,
      userAgent: "ua",
      socket: "udp:127.0.0.1:5060",
      methods: 31,
      sipInstance: '"<urn:uuid:1>"',
      kvStore: null,
      attr: null,
      ruid: "a",
    });
    expect(typeof a.id).toBe("number");
    // The same rows through drizzle's own mapping (lookup orders by q, then last_modified, then id).
    expect(await store.lookup(u, DOMAIN, NOW)).toEqual(saved.bindings);
  });

  it("replaces a row written before identities existed by the identified row of the same contact", async () => {
    const { store, client } = ctx();
    const u = freshUser();
    await insertUnidentified(client, u, "sip:a@10.0.0.1:5070");
    await insertUnidentified(client, u, "sip:other@10.0.0.1:5070");
    const saved = await store.applySave(plan(u, { upserts: [write("a")] }));
    expect(saved.bindings.map((b) => [b.ruid, b.contact])).toEqual([
      [null, "sip:other@10.0.0.1:5070"],
      ["a", "sip:a@10.0.0.1:5070"],
    ]);
  });

  it("removes a row written before identities existed by its contact, unless a newer CSeq of the Call-ID wrote it", async () => {
    const { store, client } = ctx();
    const u = freshUser();
    await insertUnidentified(client, u, "sip:gone@10.0.0.1:5070");
    await insertUnidentified(client, u, "sip:newer@10.0.0.1:5070", `call-${u}`, 9);
    const saved = await store.applySave(
      plan(u, {
        cseq: 2,
        removals: [
          { ruid: "gone", contact: "sip:gone@10.0.0.1:5070" },
          { ruid: "newer", contact: "sip:newer@10.0.0.1:5070" },
        ],
      }),
    );
    expect(saved.bindings.map((b) => b.contact)).toEqual(["sip:newer@10.0.0.1:5070"]);
  });

  it("leaves a row written by a newer CSeq of the same Call-ID alone, and refreshes it from a newer one", async () => {
    const { store } = ctx();
    const u = freshUser();
    await store.applySave(plan(u, { cseq: 5, upserts: [write("a", { expires: NOW + 500 })] }));
    const older = await store.applySave(plan(u, { cseq: 3, upserts: [write("a", { expires: NOW + 100 })] }));
    expect(older.bindings.map((b) => [b.cseq, b.expires])).toEqual([[5, NOW + 500]]);
    expect(older.blocked.size).toBe(0);
    const removedByOlder = await store.applySave(plan(u, { cseq: 4, removals: [{ ruid: "a", contact: "sip:a@10.0.0.1:5070" }] }));
    expect(removedByOlder.bindings).toHaveLength(1);
    // Decided after that removal (so its tombstone does not block it).
    const newer = await store.applySave(plan(u, { cseq: 6, issuedAt: NOW * 1000 + 100, upserts: [write("a", { expires: NOW + 700 })] }));
    expect(newer.bindings.map((b) => [b.cseq, b.expires])).toEqual([[6, NOW + 700]]);
  });

  it("reports the upserts a tombstone refused, and writes the others", async () => {
    const { store } = ctx();
    const u = freshUser();
    await store.applySave(plan(u, { upserts: [write("a"), write("b")] }));
    // Removed after the next REGISTER was decided (removedAt > its issuedAt): a late 2xx cannot bring it back.
    await store.applySave(plan(u, { callid: "remover", removedAt: NOW * 1000 + 50, removals: [{ ruid: "a", contact: "sip:a@10.0.0.1:5070" }] }));
    const late = await store.applySave(plan(u, { callid: "late", issuedAt: NOW * 1000 + 20, upserts: [write("a"), write("b"), write("c")] }));
    expect([...late.blocked]).toEqual(["a"]);
    expect(late.bindings.map((b) => b.ruid).sort()).toEqual(["b", "c"]);
    // Decided after the removal: written.
    const fresh = await store.applySave(plan(u, { callid: "fresh", issuedAt: NOW * 1000 + 60, upserts: [write("a")] }));
    expect(fresh.blocked.size).toBe(0);
    expect(fresh.bindings.map((b) => b.ruid).sort()).toEqual(["a", "b", "c"]);
  });

  it("Contact: * removes the AoR's rows (not a newer CSeq's) and blocks a late 2xx for any identity", async () => {
    const { store } = ctx();
    const u = freshUser();
    await store.applySave(plan(u, { callid: "other", upserts: [write("a"), write("b")] }));
    await store.applySave(plan(u, { cseq: 9, upserts: [write("c")] }));
    const star = await store.applySave(plan(u, { cseq: 8, removeAll: true, removedAt: NOW * 1000 + 50 }));
    expect(star.bindings.map((b) => b.ruid)).toEqual(["c"]);
    const late = await store.applySave(plan(u, { callid: "late", issuedAt: NOW * 1000 + 20, upserts: [write("d")] }));
    expect([...late.blocked]).toEqual(["d"]);
    expect(late.bindings.map((b) => b.ruid)).toEqual(["c"]);
  });

  it("blocks every upsert of a tenant that no longer exists", async () => {
    const { store } = ctx();
    const u = freshUser();
    const saved = await store.applySave({ ...plan(u, { upserts: [write("a")] }), domain: "gone.example" });
    expect([...saved.blocked]).toEqual(["a"]);
    expect(saved.bindings).toEqual([]);
  });

  it("writes a new binding only below maxContacts, counting the ones this save wrote; a held one is refreshed", async () => {
    const { store } = ctx();
    const u = freshUser();
    await store.applySave(plan(u, { maxContacts: 3, upserts: [write("a"), write("x", { expires: NOW - 1 })] }));
    // One expired row does not count: room for two of the three new ones, in the order of the plan.
    const saved = await store.applySave(plan(u, { cseq: 2, maxContacts: 3, upserts: [write("b"), write("c"), write("d")] }));
    expect(saved.bindings.map((b) => b.ruid).sort()).toEqual(["a", "b", "c", "x"]);
    expect(saved.blocked.size).toBe(0);
    const full = await store.applySave(plan(u, { cseq: 3, maxContacts: 3, upserts: [write("a", { expires: NOW + 900 }), write("e")] }));
    expect(full.bindings.find((b) => b.ruid === "a")?.expires).toBe(NOW + 900);
    expect(full.bindings.some((b) => b.ruid === "e")).toBe(false);
  });
});

describe("the save's SQL", () => {
  it("is the same text whatever the number of contacts: the embedded client prepares each statement once", async () => {
    const store = createLibsqlStore(drizzle(embedded));
    const u = freshUser();
    const contacts = (n: number, from = 0): BindingWrite[] => Array.from({ length: n }, (_, k) => write(`r${from + k}`));
    const removals = (n: number): SavePlan["removals"] => Array.from({ length: n }, (_, k) => ({ ruid: `r${k}`, contact: `sip:r${k}@10.0.0.1:5070` }));
    // Every kind of statement once: tombstones, the delete, an upsert, the blocked query, the AoR's rows.
    await store.applySave(plan(u, { removals: removals(1), upserts: contacts(1, 10) }));
    const before = embedded.prepares();
    await store.applySave(plan(u, { cseq: 2, upserts: contacts(2, 20) }));
    await store.applySave(plan(u, { cseq: 3, upserts: contacts(3, 30), removals: removals(4) }));
    await store.applySave(plan(u, { cseq: 4, removeAll: true }));
    expect(embedded.prepares() - before).toBe(0);
  });
});
