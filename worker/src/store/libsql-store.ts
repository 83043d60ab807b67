/**
 * The Store over libSQL through drizzle: every statement parameterised, one round trip per operation
 * (several statements travel together in one batch). The save of every REGISTER's 2xx is fixed SQL run
 * through the libSQL client itself (save-statements.ts); the routing lookups are drizzle prepared queries.
 */
import type { Client } from "@libsql/client";
import { and, asc, desc, eq, gt, inArray, lt, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { toBinding } from "./binding-row";
import { createLegacyBindingOps } from "./legacy-bindings";
import { readSaveResult, saveStatements } from "./save-statements";
import { dispatcher, domain, location, locationTombstone, type DispatcherRow } from "./schema";
import {
  StoreConflictError,
  storeOperation,
  StoreError,
  type Binding,
  type BindingFilter,
  type Destination,
  type DestinationRecord,
  type NewTenant,
  type SavePlan,
  type Store,
  type Tenant,
} from "./store";

/** drizzle over a libSQL client; the client itself runs the save's fixed SQL. */
type Db = LibSQLDatabase<Record<string, never>> & { readonly $client: Client };
type Batch = [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];


/** Rows per statement of a bulk delete: a tenant with many bindings never holds the store in one statement. */
export const DELETE_BATCH = 500;

function toDestination(r: DispatcherRow): Destination {
  return {
    id: r.id,
    setid: r.setid,
    uri: r.destination,
    socket: r.socket,
    state: r.state,
    weight: r.weight,
    priority: r.priority,
    attrs: r.attrs,
    description: r.description,
  };
}

function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (/UNIQUE constraint failed/i.test(e.message)) return true;
  }
  return false;
}

/** Creates the drizzle-backed Store. */
export function createLibsqlStore(db: Db): Store {
  const aorIs = (username: string, dom: string): SQL => and(eq(location.username, username), eq(location.domain, dom))!;

  const run = storeOperation;

  // The lookups of every routed request are prepared once per store, on first use: the SQL is built once
  // and the values travel as placeholders (building drizzle's query costs more than running it on an
  // embedded store). Lazy, because the Workers runtime makes a store per request.
  let lookupQuery: ReturnType<typeof prepareLookup> | undefined;
  let lookupUsernameQuery: ReturnType<typeof prepareLookupUsername> | undefined;
  function prepareLookup() {
    return db
      .select()
      .from(location)
      .where(and(eq(location.username, sql.placeholder("username")), eq(location.domain, sql.placeholder("domain")), gt(location.expires, sql.placeholder("now"))))
      .orderBy(desc(location.q), desc(location.lastModified), asc(location.contactId))
      .prepare();
  }
  function prepareLookupUsername() {
    return db
      .select()
      .from(location)
      .where(and(eq(location.username, sql.placeholder("username")), gt(location.expires, sql.placeholder("now"))))
      .orderBy(asc(location.domain), desc(location.q), asc(location.contactId))
      .prepare();
  }

  /** Deletes the bindings matching `where`, DELETE_BATCH rows per statement; returns how many. */
  async function deleteInBatches(where: SQL): Promise<number> {
    let total = 0;
    for (;;) {
      const victims = db.select({ id: location.contactId }).from(location).where(where).limit(DELETE_BATCH);
      const rows = await db.delete(location).where(inArray(location.contactId, victims)).returning({ id: location.contactId });
      total += rows.length;
      if (rows.length < DELETE_BATCH) return total;
    }
  }

  function groupTenants(domains: (typeof domain.$inferSelect)[], dests: DispatcherRow[]): Tenant[] {
    const bySet = new Map<number, Destination[]>();
    for (const d of dests) {
      const list = bySet.get(d.setid) ?? [];
      list.push(toDestination(d));
      bySet.set(d.setid, list);
    }
    return domains.map((d) => ({
      domain: d.domain,
      setid: d.setid,
      attrs: d.attrs,
      acceptSubdomain: d.acceptSubdomain !== 0,
      destinations: bySet.get(d.setid) ?? [],
    }));
  }

  return {
    ...createLegacyBindingOps(db),

    loadTenants: () =>
      run("loadTenants", async () => {
        const [domains, dests] = await db.batch([
          db.select().from(domain).orderBy(asc(domain.domain)),
          db.select().from(dispatcher).orderBy(asc(dispatcher.setid), desc(dispatcher.priority), asc(dispatcher.id)),
        ]);
        return groupTenants(domains, dests);
      }),

    createTenant: (input) =>
      run("createTenant", async () => {
        const setidOf = sql`(SELECT ${domain.setid} FROM ${domain} WHERE ${domain.domain} = ${input.domain})`;
        const steps: BatchItem<"sqlite">[] = [
          db.insert(domain).values({
            domain: input.domain,
            setid: sql`(SELECT COALESCE(MAX(${domain.setid}), 0) + 1 FROM ${domain})`,
            attrs: input.attrs ?? null,
          }),
        ];
        for (const d of input.destinations) {
          steps.push(
            db.insert(dispatcher).values({
              setid: setidOf,
              destination: d.uri,
              weight: d.weight,
              priority: d.priority,
              attrs: d.attrs ?? null,
            }),
          );
        }
        steps.push(db.select().from(domain).where(eq(domain.domain, input.domain)));
        steps.push(db.select().from(dispatcher).where(sql`${dispatcher.setid} = ${setidOf}`).orderBy(asc(dispatcher.id)));
        try {
          const results = (await db.batch(steps as Batch)) as unknown[];
          const doms = results[results.length - 2] as (typeof domain.$inferSelect)[];
          const dests = results[results.length - 1] as DispatcherRow[];
          const [tenant] = groupTenants(doms, dests);
          if (!tenant) throw new Error("tenant not readable after insert");
          return tenant;
        } catch (err) {
          if (isUniqueViolation(err)) throw new StoreConflictError("createTenant", err);
          throw err;
        }
      }),

    setDestinationAttrs: (name, id, attrs) =>
      run("setDestinationAttrs", async () => {
        const setOf = sql`(SELECT ${domain.setid} FROM ${domain} WHERE ${domain.domain} = ${name})`;
        const rows = await db
          .update(dispatcher)
          .set({ attrs })
          .where(and(eq(dispatcher.id, id), sql`${dispatcher.setid} = ${setOf}`))
          .returning();
        return rows[0] ? toDestination(rows[0]) : undefined;
      }),

    deleteTenant: (name) =>
      run("deleteTenant", async () => {
        const setOf = sql`(SELECT ${domain.setid} FROM ${domain} WHERE ${domain.domain} = ${name})`;
        // The domain and its set first: routing and saves stop at once (a save needs the domain to exist);
        // then the bindings, in bounded batches.
        const [, dom] = await db.batch([
          // A set shared by no other domain goes with the tenant.
          db
            .delete(dispatcher)
            .where(
              sql`${dispatcher.setid} = ${setOf} AND (SELECT COUNT(*) FROM ${domain} WHERE ${domain.setid} = ${setOf}) = 1`,
            ),
          db.delete(domain).where(eq(domain.domain, name)).returning({ id: domain.id }),
        ]);
        if (dom.length === 0) return undefined;
        return { bindingsRemoved: await deleteInBatches(eq(location.domain, name)) };
      }),

    applySave: (plan) =>
      run("applySave", async () => {
        // Fixed SQL straight through the libSQL client (save-statements.ts): no query is built per save.
        const results = await db.$client.batch(saveStatements(plan), "write");
        return readSaveResult(results);
      }),

    lookup: (username, dom, now) =>
      run("lookup", async () => {
        lookupQuery ??= prepareLookup();
        const rows = await lookupQuery.all({ username, domain: dom, now });
        return rows.map(toBinding);
      }),

    lookupUsername: (username, now) =>
      run("lookupUsername", async () => {
        lookupUsernameQuery ??= prepareLookupUsername();
        const rows = await lookupUsernameQuery.all({ username, now });
        return rows.map(toBinding);
      }),

    listBindings: (filter) =>
      run("listBindings", async () => {
        const conds: SQL[] = [];
        if (filter.domain !== undefined) conds.push(eq(location.domain, filter.domain));
        if (filter.username !== undefined) conds.push(eq(location.username, filter.username));
        const rows = await db
          .select()
          .from(location)
          .where(conds.length > 0 ? and(...conds) : undefined)
          .orderBy(asc(location.domain), asc(location.username), desc(location.q), asc(location.contactId))
          .limit(filter.limit);
        return rows.map(toBinding);
      }),

    getBinding: (id) =>
      run("getBinding", async () => {
        const [row] = await db.select().from(location).where(eq(location.contactId, id));
        return row ? toBinding(row) : undefined;
      }),

    deleteBinding: (id, tombstoneExpires) =>
      run("deleteBinding", async () => {
        const [, rows] = await db.batch([
          // Remembered, so that a late or replayed 2xx of an earlier REGISTER cannot bring it back.
          db.run(sql`INSERT INTO ${locationTombstone} (username, domain, ruid, callid, cseq, removed_at, expires)
            SELECT username, domain, COALESCE(ruid, contact), '', 0, ${Date.now()}, ${tombstoneExpires}
            FROM ${location} WHERE contact_id = ${id}
            ON CONFLICT (username, domain, ruid) DO UPDATE SET callid = '', cseq = 0,
              removed_at = excluded.removed_at, expires = excluded.expires`),
          db.delete(location).where(eq(location.contactId, id)).returning({ id: location.contactId }),
        ]);
        return rows.length > 0;
      }),

    deleteAor: (username, dom, tombstoneExpires) =>
      run("deleteAor", async () => {
        await db
          .insert(locationTombstone)
          .values({ username, domain: dom, ruid: "*", callid: "", cseq: 0, removedAt: Date.now(), expires: tombstoneExpires })
          .onConflictDoUpdate({
            target: [locationTombstone.username, locationTombstone.domain, locationTombstone.ruid],
            set: { callid: "", cseq: 0, removedAt: sql`excluded.removed_at`, expires: sql`excluded.expires` },
          });
        return deleteInBatches(aorIs(username, dom));
      }),

    sweepExpired: (now, limit) =>
      run("sweepExpired", async () => {
        const victims = db
          .select({ id: location.contactId })
          .from(location)
          .where(lt(location.expires, now))
          .orderBy(asc(location.expires))
          .limit(limit);
        const [rows] = await db.batch([
          db.delete(location).where(inArray(location.contactId, victims)).returning({ id: location.contactId }),
          db.run(sql`DELETE FROM ${locationTombstone} WHERE rowid IN
            (SELECT rowid FROM ${locationTombstone} WHERE expires < ${now} ORDER BY expires LIMIT ${limit})`),
        ]);
        return rows.length;
      }),

    listDestinationRecords: () =>
      run("listDestinationRecords", async () => {
        const [domains, dests] = await db.batch([
          db.select({ domain: domain.domain, setid: domain.setid }).from(domain).orderBy(asc(domain.domain)),
          db.select().from(dispatcher).orderBy(asc(dispatcher.setid), asc(dispatcher.id)),
        ]);
        const bySet = new Map<number, string[]>();
        for (const d of domains) bySet.set(d.setid, [...(bySet.get(d.setid) ?? []), d.domain]);
        return dests.map(
          (r): DestinationRecord => ({
            id: r.id,
            setid: r.setid,
            uri: r.destination,
            state: r.state,
            probeMode: r.probeMode,
            weight: r.weight,
            priority: r.priority,
            domains: bySet.get(r.setid) ?? [],
          }),
        );
      }),

    updateDestinationStates: (ids, to, from) =>
      run("updateDestinationStates", async () => {
        if (ids.length === 0 || from.length === 0) return [];
        const rows = await db
          .update(dispatcher)
          .set({ state: to })
          .where(and(inArray(dispatcher.id, [...ids]), inArray(dispatcher.state, [...from])))
          .returning({ id: dispatcher.id });
        return rows.map((r) => r.id);
      }),

    updateDestinationProbeMode: (ids, probeMode) =>
      run("updateDestinationProbeMode", async () => {
        if (ids.length === 0) return [];
        const rows = await db
          .update(dispatcher)
          .set({ probeMode })
          .where(inArray(dispatcher.id, [...ids]))
          .returning({ id: dispatcher.id });
        return rows.map((r) => r.id);
      }),

    ping: () =>
      run("ping", async () => {
        await db.run(sql`SELECT 1`);
      }),
  };
}
