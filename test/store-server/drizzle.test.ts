import { createClient, type Client } from "@libsql/client/web";
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/libsql/web";
import { blob, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStore, type TestStore } from "./helpers";

const contacts = sqliteTable("contacts", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  aor: text("aor").notNull().unique(),
  expires: integer("expires", { mode: "number" }).notNull(),
  cseq: integer("cseq").notNull(),
  raw: blob("raw", { mode: "buffer" }),
});

describe("drizzle-orm over @libsql/client/web", () => {
  let store: TestStore;
  let client: Client;
  let db: ReturnType<typeof drizzle>;

  beforeAll(async () => {
    store = await startTestStore();
    client = createClient({ url: store.url });
    db = drizzle(client);
    await client.execute(`CREATE TABLE contacts (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      aor TEXT NOT NULL UNIQUE,
      expires INTEGER NOT NULL,
      cseq INTEGER NOT NULL,
      raw BLOB
    )`);
  });

  afterAll(async () => {
    client.close();
    await store.stop();
  });

  it("inserts with returning, selects, updates and deletes", async () => {
    const [row] = await db
      .insert(contacts)
      .values({ aor: "sip:201@tenant-a.example", expires: 3600, cseq: 4294967297, raw: Buffer.from("REGISTER") })
      .returning();
    expect(row).toMatchObject({ aor: "sip:201@tenant-a.example", expires: 3600, cseq: 4294967297 });
    expect(Buffer.from(row!.raw!).toString()).toBe("REGISTER");

    await db.update(contacts).set({ expires: 60 }).where(eq(contacts.aor, "sip:201@tenant-a.example"));
    const found = await db.select().from(contacts).where(eq(contacts.id, row!.id));
    expect(found[0]!.expires).toBe(60);

    await db.delete(contacts).where(eq(contacts.id, row!.id));
    expect(await db.select().from(contacts)).toEqual([]);
  });

  it("upserts with onConflictDoUpdate", async () => {
    for (const expires of [100, 200]) {
      await db
        .insert(contacts)
        .values({ aor: "sip:202@tenant-a.example", expires, cseq: 1 })
        .onConflictDoUpdate({ target: contacts.aor, set: { expires } });
    }
    const rows = await db.select({ expires: contacts.expires }).from(contacts).where(eq(contacts.aor, "sip:202@tenant-a.example"));
    expect(rows).toEqual([{ expires: 200 }]);
  });

  it("runs db.batch atomically", async () => {
    await expect(
      db.batch([
        db.insert(contacts).values({ aor: "sip:203@tenant-a.example", expires: 1, cseq: 1 }),
        db.insert(contacts).values({ aor: "sip:202@tenant-a.example", expires: 1, cseq: 1 }), // duplicate aor
      ]),
    ).rejects.toThrow();
    const [{ n }] = (await db.select({ n: sql<number>`count(*)` }).from(contacts).where(eq(contacts.aor, "sip:203@tenant-a.example"))) as [{ n: number }];
    expect(n).toBe(0);
  });

  it("runs a drizzle transaction and rolls it back on error", async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.insert(contacts).values({ aor: "sip:204@tenant-a.example", expires: 1, cseq: 1 });
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    await db.transaction(async (tx) => {
      await tx.insert(contacts).values({ aor: "sip:205@tenant-a.example", expires: 1, cseq: 1 });
    });
    const aors = (await db.select({ aor: contacts.aor }).from(contacts)).map((r) => r.aor).sort();
    expect(aors).toEqual(["sip:202@tenant-a.example", "sip:205@tenant-a.example"]);
  });
});
