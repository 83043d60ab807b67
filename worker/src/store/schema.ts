/**
 * The libSQL schema, OpenSIPS-compatible: `location` (usrloc), `domain`, `dispatcher`. drizzle-kit generates
 * the SQL in migrations/ from this file; queries in libsql-store.ts are built from these tables only.
 */
import { sql } from "drizzle-orm";
import { index, integer, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** One binding of an AoR (`username@domain`) to a phone's contact, as the tenant's registrar granted it. */
export const location = sqliteTable(
  "location",
  {
    contactId: integer("contact_id").primaryKey({ autoIncrement: true }),
    username: text("username").notNull().default(""),
    domain: text("domain").notNull().default(""),
    /** The phone's own Contact URI, as it sent it. */
    contact: text("contact").notNull(),
    /** The phone's source address (`sip:ip:port`) when it differs from its Contact (NAT). */
    received: text("received"),
    /** Path header values (RFC 3327), comma-joined, as OpenSIPS stores them. */
    path: text("path"),
    /** Absolute expiry, Unix seconds. */
    expires: integer("expires").notNull(),
    q: real("q").notNull().default(1.0),
    callid: text("callid").notNull().default("Default-Call-ID"),
    cseq: integer("cseq").notNull().default(13),
    /** Unix seconds of the last write. */
    lastModified: integer("last_modified").notNull().default(0),
    flags: integer("flags").notNull().default(0),
    cflags: text("cflags"),
    userAgent: text("user_agent").notNull().default(""),
    /** The gateway socket the REGISTER arrived on, `udp:ip:port`. */
    socket: text("socket"),
    /** Allowed methods as the OpenSIPS bitmask (INVITE=1, CANCEL=2, ACK=4 ...). */
    methods: integer("methods"),
    sipInstance: text("sip_instance"),
    kvStore: text("kv_store"),
    attr: text("attr"),
    /**
     * The binding's identity within its AoR (Kamailio's `ruid` column): the binding token, derived from
     * `+sip.instance` and reg-id when the phone sends them (RFC 5626 section 6), else from the contact URI and
     * the `received` source (registrar/binding-identity.ts). Null only in rows written before it existed.
     */
    ruid: text("ruid"),
  },
  (t) => [
    // A binding is identified by its AoR and its identity: the upsert key. Two phones behind different NATs
    // that send the same private Contact are two bindings. Its (username, domain) prefix is also the lookup's
    // and every per-AoR statement's (removals by contact of rows written before `ruid` included: an AoR holds
    // a handful of rows). A second index on (username, domain, contact) served nothing this one does not, and
    // cost index writes on every save (every refresh sets `contact`): dropped in migration 0002.
    uniqueIndex("location_aor_ruid_idx").on(t.username, t.domain, t.ruid),
    // Per-domain scans: tenant removal and the admin listing by domain.
    index("location_domain_idx").on(t.domain),
    // The expiry sweep deletes in expires order.
    index("location_expires_idx").on(t.expires),
  ],
);

/**
 * Removed bindings, remembered for as long as a sealed REGISTER context can still arrive (its lifetime plus
 * a margin): a replayed or late 2xx issued before the removal cannot bring the binding back. `ruid` is the
 * binding identity, or `*` for a `Contact: *` removal of the whole AoR.
 */
export const locationTombstone = sqliteTable(
  "location_tombstone",
  {
    username: text("username").notNull(),
    domain: text("domain").notNull(),
    ruid: text("ruid").notNull(),
    /** Call-ID and CSeq of the REGISTER that removed it; empty for an operator's removal. */
    callid: text("callid").notNull().default(""),
    cseq: integer("cseq").notNull().default(0),
    /** Unix milliseconds of the removal. */
    removedAt: integer("removed_at").notNull(),
    /** Unix seconds after which the tombstone is swept. */
    expires: integer("expires").notNull(),
  },
  (t) => [
    uniqueIndex("location_tombstone_key_idx").on(t.username, t.domain, t.ruid),
    index("location_tombstone_expires_idx").on(t.expires),
  ],
);

/** A tenant: its SIP domain and the dispatcher set of its Asterisk boxes. */
export const domain = sqliteTable(
  "domain",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    domain: text("domain").notNull(),
    setid: integer("setid").notNull(),
    attrs: text("attrs"),
    acceptSubdomain: integer("accept_subdomain").notNull().default(0),
    lastModified: integer("last_modified").notNull().default(sql`(unixepoch())`),
  },
  (t) => [uniqueIndex("domain_domain_idx").on(t.domain), index("domain_setid_idx").on(t.setid)],
);

/** A destination (an Asterisk box) of a dispatcher set. */
export const dispatcher = sqliteTable(
  "dispatcher",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    setid: integer("setid").notNull(),
    destination: text("destination").notNull(),
    socket: text("socket"),
    /** 0 active, 1 inactive, 2 probing (OpenSIPS states). */
    state: integer("state").notNull().default(0),
    probeMode: integer("probe_mode").notNull().default(0),
    weight: integer("weight").notNull().default(1),
    priority: integer("priority").notNull().default(0),
    attrs: text("attrs"),
    description: text("description"),
  },
  (t) => [index("dispatcher_setid_idx").on(t.setid)],
);

export type LocationRow = typeof location.$inferSelect;
export type TombstoneRow = typeof locationTombstone.$inferSelect;
export type NewLocationRow = typeof location.$inferInsert;
export type DomainRow = typeof domain.$inferSelect;
export type DispatcherRow = typeof dispatcher.$inferSelect;
