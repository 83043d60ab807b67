/**
 * The store interface the worker's decisions run over. The decisions never see SQL; libsql-store.ts is the
 * only implementation in production (Turso / sqld / the local store endpoint, all through @libsql/client).
 */

/** A destination (Asterisk box) of a tenant's dispatcher set. */
export interface Destination {
  readonly id: number;
  readonly setid: number;
  readonly uri: string;
  readonly socket: string | null;
  /** 0 active, 1 inactive, 2 probing. */
  readonly state: number;
  readonly weight: number;
  readonly priority: number;
  readonly attrs: string | null;
  readonly description: string | null;
}

/** A tenant: its domain, its dispatcher set and the set's destinations. */
export interface Tenant {
  readonly domain: string;
  readonly setid: number;
  readonly attrs: string | null;
  readonly acceptSubdomain: boolean;
  readonly destinations: readonly Destination[];
}

/** A stored binding: one row of `location`. `expires` and `lastModified` are Unix seconds. */
export interface Binding {
  readonly id: number;
  readonly username: string;
  readonly domain: string;
  readonly contact: string;
  readonly received: string | null;
  readonly path: string | null;
  readonly expires: number;
  readonly q: number;
  readonly callid: string;
  readonly cseq: number;
  readonly lastModified: number;
  readonly flags: number;
  readonly cflags: string | null;
  readonly userAgent: string;
  readonly socket: string | null;
  readonly methods: number | null;
  readonly sipInstance: string | null;
  readonly kvStore: string | null;
  readonly attr: string | null;
  /** The binding identity (token); null in rows written before it existed. */
  readonly ruid: string | null;
}

/** The fields a REGISTER's 2xx writes for one contact. */
export interface BindingWrite {
  /** The binding identity: the upsert key within the AoR. */
  readonly ruid: string;
  readonly contact: string;
  readonly received: string | null;
  readonly path: string | null;
  readonly expires: number;
  readonly q: number;
  readonly userAgent: string;
  readonly socket: string | null;
  readonly methods: number | null;
  readonly sipInstance: string | null;
}

/**
 * What a 2xx to a REGISTER changes, for one AoR, applied atomically in one store round trip. Every write is
 * guarded by (callid, cseq): a row written by a newer CSeq of the same Call-ID is left as it is.
 */
export interface SavePlan {
  readonly username: string;
  readonly domain: string;
  readonly callid: string;
  readonly cseq: number;
  /** Unix seconds, written as last_modified. */
  readonly now: number;
  /**
   * Unix milliseconds when the REGISTER was decided: an upsert is not applied when its binding (or the
   * whole AoR) was removed after this moment, or by a newer CSeq of the same Call-ID (tombstones).
   */
  readonly issuedAt: number;
  /** Unix milliseconds of this save, written in its tombstones. */
  readonly removedAt: number;
  /** A binding that is not stored yet is written only while the AoR has fewer unexpired bindings. */
  readonly maxContacts: number;
  /** Unix seconds until which this plan's removals are remembered as tombstones. */
  readonly tombstoneExpires: number;
  /** `Contact: *` accepted: remove every binding of the AoR. */
  readonly removeAll: boolean;
  readonly upserts: readonly BindingWrite[];
  /** Bindings to remove: by identity, and by contact for rows written before identities existed. */
  readonly removals: readonly { readonly ruid: string; readonly contact: string }[];
}

/** What a save did: the AoR's rows after it, and the identities a tombstone kept from being written. */
export interface SaveResult {
  readonly bindings: Binding[];
  /** Identities of upserts refused because the binding (or the AoR) was removed after the REGISTER. */
  readonly blocked: ReadonlySet<string>;
}

export interface NewTenant {
  readonly domain: string;
  readonly destinations: readonly { uri: string; weight: number; priority: number; attrs?: string | null }[];
  readonly attrs?: string | null;
}

export interface BindingFilter {
  readonly domain?: string | undefined;
  readonly username?: string | undefined;
  readonly limit: number;
}

/**
 * One dispatcher row with the tenant domains of its set, as destination probing and the destination admin
 * routes read it. `state` is the stored OpenSIPS code (see destinations/destination-state.ts).
 */
export interface DestinationRecord {
  readonly id: number;
  readonly setid: number;
  readonly uri: string;
  readonly state: number;
  /** 0: not probed; anything else: probed by the gateways. */
  readonly probeMode: number;
  readonly weight: number;
  readonly priority: number;
  /** Domains whose set this is (usually one). */
  readonly domains: readonly string[];
}

/** Everything the worker reads and writes. */
export interface Store extends LegacyBindingOps {
  /** All tenants with their destinations, in one round trip (cached by the caller). */
  loadTenants(): Promise<Tenant[]>;
  /** Creates a tenant and its dispatcher set; throws StoreConflictError when the domain exists. */
  createTenant(input: NewTenant): Promise<Tenant>;
  /** Sets the attrs of one destination of a tenant; undefined when the tenant has no such destination. */
  setDestinationAttrs(domain: string, id: number, attrs: string | null): Promise<Destination | undefined>;
  /** Removes a tenant, its destinations and (in bounded batches) its bindings; undefined when it did not exist. */
  deleteTenant(domain: string): Promise<{ bindingsRemoved: number } | undefined>;
  /**
   * Applies a save plan in one round trip; returns the AoR's bindings after it (all of them, expired
   * included) and the upserts that tombstones refused.
   */
  applySave(plan: SavePlan): Promise<SaveResult>;
  /** Unexpired bindings of `username@domain`, best q first. */
  lookup(username: string, domain: string, now: number): Promise<Binding[]>;
  /** Unexpired bindings of `username` in every domain (only for the opt-in any-domain lookup). */
  lookupUsername(username: string, now: number): Promise<Binding[]>;
  listBindings(filter: BindingFilter): Promise<Binding[]>;
  getBinding(id: number): Promise<Binding | undefined>;
  /** Removes one binding and remembers the removal (tombstone until `tombstoneExpires`). */
  deleteBinding(id: number, tombstoneExpires: number): Promise<boolean>;
  /** Removes every binding of the AoR, in bounded batches; remembers the removal (tombstone until `tombstoneExpires`). */
  deleteAor(username: string, domain: string, tombstoneExpires: number): Promise<number>;
  /**
   * Deletes up to `limit` bindings that expired before `now`; returns how many. Expired tombstones go in the
   * same round trip (also at most `limit`).
   */
  sweepExpired(now: number, limit: number): Promise<number>;
  /** Every dispatcher row with its set's domains, by set then id (destination probing and admin). */
  listDestinationRecords(): Promise<DestinationRecord[]>;
  /**
   * Sets `state` to `to` on the rows of `ids` whose state is one of `from` (a guarded transition: a probe's
   * report never overwrites an operator's state); returns the ids it changed.
   */
  updateDestinationStates(ids: readonly number[], to: number, from: readonly number[]): Promise<number[]>;
  /** Sets `probe_mode` on the rows of `ids`; returns the ids it changed. */
  updateDestinationProbeMode(ids: readonly number[], probeMode: number): Promise<number[]>;
  /** A trivial query, for health checks. */
  ping(): Promise<void>;
}

/**
 * A row of the legacy `endpoint_locations` table as a binding to import (edgectl legacy import, see
 * docs/migration.md). `received` is the phone's source `sip:ip:port` when it differs from the contact.
 */
export interface LegacyImportRow {
  readonly username: string;
  readonly domain: string;
  readonly contact: string;
  readonly received: string | null;
  /** Unix seconds. */
  readonly expires: number;
}

/**
 * What importing one legacy row did (or would do): `kept` means the AoR has a live binding made by a real
 * REGISTER here, which is newer than anything the legacy table holds, so nothing was written.
 */
export type LegacyImportOutcome = "inserted" | "updated" | "unchanged" | "kept";

/** The cut-over operations (worker/src/store/legacy-bindings.ts), used only by the admin API's /legacy routes. */
export interface LegacyBindingOps {
  /** Unexpired bindings (expires > now) with an id above `afterId`, in id order, at most `limit`. */
  pageLiveBindings(afterId: number, now: number, limit: number): Promise<Binding[]>;
  /**
   * Imports legacy rows (distinct AoRs) in one atomic batch; with `dryRun` only reads. The outcomes are in
   * the order of `rows`.
   */
  importLegacyRows(rows: readonly LegacyImportRow[], now: number, dryRun: boolean): Promise<LegacyImportOutcome[]>;
}

/** A store failure, carrying the operation and the cause. */
export class StoreError extends Error {
  override readonly name: string = "StoreError";
  constructor(
    readonly operation: string,
    override readonly cause: unknown,
  ) {
    super(`${operation}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** The write would violate a uniqueness rule (a tenant domain that exists). */
export class StoreConflictError extends StoreError {
  override readonly name = "StoreConflictError";
}

/** Runs one store operation; any failure that is not already a StoreError becomes one naming `operation`. */
export async function storeOperation<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(operation, err);
  }
}
