/**
 * The Store over libSQL through drizzle: every statement parameterised, one round trip per operation
 * (several statements travel together in one batch).
 */
import { and, asc, desc, eq, gt, inArray, lt, not, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { dispatcher, domain, location, type DispatcherRow, type LocationRow } from "./schema";
import {
  StoreConflictError,
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

type Db = LibSQLDatabase<Record<string, never>>;
type Batch = [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];

function toBinding(r: LocationRow): Binding {
  return {
    id: r.contactId,
    username: r.username,
    domain: r.domain,
    contact: r.contact,
    received: r.received,
    path: r.path,
    expires: r.expires,
    q: r.q,
    callid: r.callid,
    cseq: r.cseq,
    lastModified: r.lastModified,
    flags: r.flags,
    cflags: r.cflags,
    userAgent: r.userAgent,
    socket: r.socket,
    methods: r.methods,
    sipInstance: r.sipInstance,
    kvStore: r.kvStore,
    attr: r.attr,
  };
}

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
  // A row written by a newer CSeq of the same Call-ID is newer state: never overwritten or removed by an older one.
  const notNewer = (callid: string, cseq: number): SQL => not(and(eq(location.callid, callid), gt(location.cseq, cseq))!);

  async function run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError(operation, err);
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
            db.insert(dispatcher).values({ setid: setidOf, destination: d.uri, weight: d.weight, priority: d.priority }),
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

    deleteTenant: (name) =>
      run("deleteTenant", async () => {
        const setOf = sql`(SELECT ${domain.setid} FROM ${domain} WHERE ${domain.domain} = ${name})`;
        const [bindings, , dom] = await db.batch([
          db.delete(location).where(eq(location.domain, name)).returning({ id: location.contactId }),
          // A set shared by no other domain goes with the tenant.
          db
            .delete(dispatcher)
            .where(
              sql`${dispatcher.setid} = ${setOf} AND (SELECT COUNT(*) FROM ${domain} WHERE ${domain.setid} = ${setOf}) = 1`,
            ),
          db.delete(domain).where(eq(domain.domain, name)).returning({ id: domain.id }),
        ]);
        return dom.length === 0 ? undefined : { bindingsRemoved: bindings.length };
      }),

    applySave: (plan) =>
      run("applySave", async () => {
        const steps: BatchItem<"sqlite">[] = [];
        const guard = notNewer(plan.callid, plan.cseq);
        if (plan.removeAll) {
          steps.push(db.delete(location).where(and(aorIs(plan.username, plan.domain), guard)));
        }
        if (plan.removals.length > 0) {
          steps.push(
            db
              .delete(location)
              .where(and(aorIs(plan.username, plan.domain), inArray(location.contact, [...plan.removals]), guard)),
          );
        }
        for (const w of plan.upserts) {
          const row = {
            username: plan.username,
            domain: plan.domain,
            contact: w.contact,
            received: w.received,
            path: w.path,
            expires: w.expires,
            q: w.q,
            callid: plan.callid,
            cseq: plan.cseq,
            lastModified: plan.now,
            userAgent: w.userAgent,
            socket: w.socket,
            methods: w.methods,
            sipInstance: w.sipInstance,
          };
          steps.push(
            db
              .insert(location)
              .values(row)
              .onConflictDoUpdate({
                target: [location.username, location.domain, location.contact],
                set: {
                  received: sql`excluded.received`,
                  path: sql`excluded.path`,
                  expires: sql`excluded.expires`,
                  q: sql`excluded.q`,
                  callid: sql`excluded.callid`,
                  cseq: sql`excluded.cseq`,
                  lastModified: sql`excluded.last_modified`,
                  userAgent: sql`excluded.user_agent`,
                  socket: sql`excluded.socket`,
                  methods: sql`excluded.methods`,
                  sipInstance: sql`excluded.sip_instance`,
                },
                setWhere: sql`NOT (${location.callid} = excluded.callid AND ${location.cseq} > excluded.cseq)`,
              }),
          );
        }
        steps.push(
          db
            .select()
            .from(location)
            .where(aorIs(plan.username, plan.domain))
            .orderBy(desc(location.q), asc(location.contactId)),
        );
        const results = (await db.batch(steps as Batch)) as unknown[];
        return (results[results.length - 1] as LocationRow[]).map(toBinding);
      }),

    lookup: (username, dom, now) =>
      run("lookup", async () => {
        const rows = await db
          .select()
          .from(location)
          .where(and(aorIs(username, dom), gt(location.expires, now)))
          .orderBy(desc(location.q), desc(location.lastModified), asc(location.contactId));
        return rows.map(toBinding);
      }),

    lookupUsername: (username, now) =>
      run("lookupUsername", async () => {
        const rows = await db
          .select()
          .from(location)
          .where(and(eq(location.username, username), gt(location.expires, now)))
          .orderBy(asc(location.domain), desc(location.q), asc(location.contactId));
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

    deleteBinding: (id) =>
      run("deleteBinding", async () => {
        const rows = await db.delete(location).where(eq(location.contactId, id)).returning({ id: location.contactId });
        return rows.length > 0;
      }),

    deleteAor: (username, dom) =>
      run("deleteAor", async () => {
        const rows = await db.delete(location).where(aorIs(username, dom)).returning({ id: location.contactId });
        return rows.length;
      }),

    sweepExpired: (now, limit) =>
      run("sweepExpired", async () => {
        const victims = db
          .select({ id: location.contactId })
          .from(location)
          .where(lt(location.expires, now))
          .orderBy(asc(location.expires))
          .limit(limit);
        const rows = await db
          .delete(location)
          .where(inArray(location.contactId, victims))
          .returning({ id: location.contactId });
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
