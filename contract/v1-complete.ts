/**
 * The v1 schemas' defaults applied without validation, for values already typed by this contract: the Node
 * runtime's in-process decisions, whose events the gateway builds and whose decisions the worker's code
 * returns, both checked by the compiler against the contract's types. There, a zod parse per event and per
 * decision copied every object (about a quarter of what the gateway's main thread allocated per REGISTER)
 * to find nothing to refuse. Over HTTP the schemas still validate everything (worker routes, worker client).
 *
 * Each default below is the one its schema in v1.ts declares; test/unit/contract/v1-complete.test.ts checks
 * that completing gives what the schema's parse gives, field by field. An object that needs no default is
 * returned as it is, not copied.
 */
import type {
  Address,
  GatewayContact,
  HeaderEdits,
  NameAddr,
  RelayTarget,
  RequestDecision,
  RequestDecisionInput,
  RequestEvent,
  RequestEventInput,
  ResponseDecision,
  ResponseDecisionInput,
  ResponseEvent,
  ResponseEventInput,
} from "./v1";

/** An address as the input types have it: the transport may be left out. */
type AddressIn = Omit<Address, "transport"> & { transport?: Address["transport"] | undefined };

function address<A extends AddressIn>(a: A): Address & Omit<A, "transport"> {
  return (a.transport !== undefined ? a : { ...a, transport: "udp" }) as Address & Omit<A, "transport">;
}

function nameAddr(n: { uri: string; displayName?: string | undefined; params?: NameAddr["params"] | undefined }): NameAddr {
  return (n.params !== undefined ? n : { ...n, params: {} }) as NameAddr;
}

function list<I, O>(items: readonly I[], complete: (item: I) => O): O[] {
  let out: O[] | undefined;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const done = complete(item);
    if (out === undefined && (done as unknown) !== item) out = items.slice(0, i) as unknown as O[];
    out?.push(done);
  }
  return out ?? (items as unknown as O[]);
}

type HeaderEditsIn = NonNullable<Extract<RequestDecisionInput, { action: "relay" }>["targets"][number]["headers"]>;

function headerEdits(h: HeaderEditsIn | undefined): HeaderEdits {
  if (h === undefined) return { remove: [], set: [], add: [] };
  if (h.remove !== undefined && h.set !== undefined && h.add !== undefined) return h as HeaderEdits;
  return { remove: h.remove ?? [], set: h.set ?? [], add: h.add ?? [] };
}

type TargetIn = Extract<RequestDecisionInput, { action: "relay" }>["targets"][number];

function gatewayContact(c: NonNullable<TargetIn["contacts"]>[number]): GatewayContact {
  if (c.uriParams !== undefined && c.params !== undefined) return c as GatewayContact;
  return { ...c, uriParams: c.uriParams ?? {}, params: c.params ?? {} };
}

function relayTarget(t: TargetIn): RelayTarget {
  const out: Record<string, unknown> = { ...t, route: t.route ?? [], headers: headerEdits(t.headers) };
  if (t.nextHop !== undefined) out["nextHop"] = address(t.nextHop);
  if (t.viaPeer !== undefined) out["viaPeer"] = address(t.viaPeer);
  if (t.contacts !== undefined) out["contacts"] = list(t.contacts, gatewayContact);
  if (t.alternatives !== undefined) out["alternatives"] = list(t.alternatives, address);
  return out as RelayTarget;
}

/** The defaults both kinds of event share: body, its encoding, and the two addresses. */
function eventDefaults(ev: RequestEventInput | ResponseEventInput): Pick<RequestEvent, "body" | "bodyEncoding" | "source" | "local"> {
  return { body: ev.body ?? "", bodyEncoding: ev.bodyEncoding ?? "utf8", source: address(ev.source), local: address(ev.local) };
}

/** A RequestEvent with its defaults, as `parseRequestEvent` would give it for a valid one. */
export function completeRequestEvent(ev: RequestEventInput): RequestEvent {
  const { gatewaySockets, ...rest } = ev;
  const p = ev.parsed;
  const contacts = p.contacts === undefined ? [] : p.contacts === "*" ? "*" : list(p.contacts, nameAddr);
  return {
    ...rest,
    ...eventDefaults(ev),
    localRole: ev.localRole ?? "shared",
    ...(gatewaySockets !== undefined ? { gatewaySockets: list(gatewaySockets, address) } : {}),
    parsed: {
      ...p,
      from: nameAddr(p.from),
      to: nameAddr(p.to),
      contacts,
      path: p.path ?? [],
      inDialog: p.inDialog ?? false,
    },
  };
}

/** A ResponseEvent with its defaults, as `parseResponseEvent` would give it for a valid one. */
export function completeResponseEvent(ev: ResponseEventInput): ResponseEvent {
  return {
    ...ev,
    ...eventDefaults(ev),
    contacts: ev.contacts === undefined ? [] : list(ev.contacts, nameAddr),
  };
}

/** A request decision with its defaults, as `parseRequestDecision` would give it for a valid one. */
export function completeRequestDecision(d: RequestDecisionInput): RequestDecision {
  switch (d.action) {
    case "reply":
      return { ...d, headers: d.headers ?? [] };
    case "drop":
      return { ...d, reason: d.reason ?? "" };
    case "relay":
      return {
        ...d,
        targets: d.targets.map(relayTarget),
        recordRoute: d.recordRoute ?? false,
        wantResponse: d.wantResponse ?? "none",
        context: d.context ?? "",
      };
  }
}

/** A response decision with its defaults, as `parseResponseDecision` would give it for a valid one. */
export function completeResponseDecision(d: ResponseDecisionInput): ResponseDecision {
  switch (d.action) {
    case "forward":
      return { ...d, headers: headerEdits(d.headers) };
    case "reply":
      return { ...d, headers: d.headers ?? [] };
    case "drop":
      return { ...d, reason: d.reason ?? "" };
  }
}
