/** A `location` row as the store interface shows it (one mapping for every store module). */
import type { LocationRow } from "./schema";
import type { Binding } from "./store";

/** The row's columns under the interface's names. */
export function toBinding(r: LocationRow): Binding {
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
    ruid: r.ruid,
  };
}
