// The registrar's hardening, through the worker's endpoints under the Workers runtime against the real
// store: binding identity (RFC 5626), expiry bounds (RFC 3261 10.3), contacts per AoR, and replays.
import { describe, expect, it } from "vitest";
import { importHmacKey } from "../../contract/signing";
import type { RequestEventInput } from "../../contract/v1";
import { sealContext } from "../../worker/src/gateway/context-seal";
import {
  admin,
  bindingsOf,
  createTenant,
  decide,
  decideResponse,
  GATEWAY_SECRET,
  registerEvent,
  responseEvent,
  signedPost,
  upstreamUri,
  type AnyDecision,
  type PhoneRegister,
} from "./support";

const T = "hard.example";
await createTenant(T, "sip:10.4.0.1:5080");

type Contact = { uri: string; params?: Record<string, string> };

/** A REGISTER event with Contact header parameters (instance, reg-id, expires ...). */
function register(r: Omit<PhoneRegister, "contacts"> & { contacts: Contact[] }): RequestEventInput {
  const ev = registerEvent({ ...r, contacts: r.contacts.map((c) => c.uri) });
  ev.parsed.contacts = r.contacts.map((c) => ({ uri: c.uri, params: c.params ?? {} }));
  return ev;
}

const upstreamOf = (d: AnyDecision): string[] => (d.targets?.[0]?.contacts ?? []).map(upstreamUri);

/** The REGISTER decision and the registrar's 2xx granting every upstream contact for `expires`. */
async function registerOk(ev: RequestEventInput, expires = 600) {
  const d = await decide(ev);
  expect(d.action).toBe("relay");
  const up = upstreamOf(d);
  const r = await decideResponse(responseEvent(200, d.context ?? "", up.map((uri) => ({ uri, expires }))));
  return { d, up, r };
}

describe("binding identity", () => {
  it("two phones behind different NATs with the same private Contact keep two bindings and two upstream contacts", async () => {
    const contact = { uri: "sip:401@192.168.1.10:5060" };
    const one = await registerOk(register({ user: "401", domain: T, contacts: [contact], callId: "c401-1", source: { ip: "203.0.113.10", port: 40001 } }));
    const two = await registerOk(register({ user: "401", domain: T, contacts: [contact], callId: "c401-2", source: { ip: "203.0.113.20", port: 40002 } }));
    // The Asterisk must hold two contacts, or it would ring only one phone.
    expect(one.up[0]).not.toBe(two.up[0]);
    const rows = await bindingsOf(`401@${T}`);
    expect(rows.map((b) => [b.contact, b.received]).sort()).toEqual([
      ["sip:401@192.168.1.10:5060", "sip:203.0.113.10:40001"],
      ["sip:401@192.168.1.10:5060", "sip:203.0.113.20:40002"],
    ]);
    // A call from the Asterisk forks to both NAT addresses.
    const invite = await decide({
      ...registerEvent({ user: "401", domain: T, contacts: [], source: { ip: "10.4.0.1", port: 5080 } }),
      method: "INVITE",
      requestUri: "sip:401@127.0.0.1:5060",
    });
    expect((invite.targets ?? []).map((t) => `${t.nextHop?.ip}:${t.nextHop?.port}`).sort()).toEqual(["203.0.113.10:40001", "203.0.113.20:40002"]);
  });

  it("a refresh from the same NAT with a new source port keeps the one binding", async () => {
    const contact = { uri: "sip:402@192.168.1.10:5060" };
    const a = await registerOk(register({ user: "402", domain: T, contacts: [contact], callId: "c402", cseq: 1, source: { ip: "203.0.113.30", port: 40001 } }));
    const b = await registerOk(register({ user: "402", domain: T, contacts: [contact], callId: "c402", cseq: 2, source: { ip: "203.0.113.30", port: 40099 } }));
    expect(b.up[0]).toBe(a.up[0]);
    expect((await bindingsOf(`402@${T}`)).map((x) => x.received)).toEqual(["sip:203.0.113.30:40099"]);
  });

  it("with +sip.instance and reg-id the device is the binding: a new Contact replaces the old one (RFC 5626 section 6)", async () => {
    const inst = { "+sip.instance": '"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>"', "reg-id": "1" };
    const a = await registerOk(register({ user: "403", domain: T, contacts: [{ uri: "sip:403@192.168.1.20:5060", params: inst }], callId: "c403", cseq: 1, source: { ip: "203.0.113.40", port: 5060 } }));
    const b = await registerOk(register({ user: "403", domain: T, contacts: [{ uri: "sip:403@192.168.7.7:5062", params: inst }], callId: "c403", cseq: 2, source: { ip: "198.51.100.40", port: 6000 } }));
    expect(b.up[0]).toBe(a.up[0]);
    expect((await bindingsOf(`403@${T}`)).map((x) => x.contact)).toEqual(["sip:403@192.168.7.7:5062"]);
    // Another reg-id of the same instance is another flow, another binding.
    await registerOk(register({ user: "403", domain: T, contacts: [{ uri: "sip:403@192.168.7.7:5062", params: { ...inst, "reg-id": "2" } }], callId: "c403", cseq: 3, source: { ip: "198.51.100.40", port: 6000 } }));
    expect(await bindingsOf(`403@${T}`)).toHaveLength(2);
  });
});

describe("expiry bounds (RFC 3261 section 10.3 step 7)", () => {
  it("a non-zero expiry below MIN_EXPIRES (60) gets 423 Interval Too Brief with Min-Expires, before any relay", async () => {
    const byHeader = await decide(register({ user: "410", domain: T, contacts: [{ uri: "sip:410@192.0.2.41" }], expires: 30 }));
    expect(byHeader).toMatchObject({ action: "reply", status: 423, reason: "Interval Too Brief", headers: [["Min-Expires", "60"]] });
    const byParam = await decide(register({ user: "410", domain: T, contacts: [{ uri: "sip:410@192.0.2.41", params: { expires: "5" } }], expires: 3600 }));
    expect(byParam).toMatchObject({ action: "reply", status: 423 });
    // Zero is a removal, never too brief; 60 is enough.
    expect((await decide(register({ user: "410", domain: T, contacts: [{ uri: "sip:410@192.0.2.41" }], expires: 0 }))).action).toBe("relay");
    expect((await decide(register({ user: "410", domain: T, contacts: [{ uri: "sip:410@192.0.2.41" }], expires: 60 }))).action).toBe("relay");
  });

  it("a huge expiry (2^32-1) is no error: shortened to MAX_EXPIRES (86400) upstream and in the store", async () => {
    const now = Math.floor(Date.now() / 1000);
    const d = await decide(register({ user: "411", domain: T, contacts: [{ uri: "sip:411@192.0.2.42", params: { expires: "4294967295" } }], expires: 4294967295 }));
    expect(d.action).toBe("relay");
    expect(d.targets?.[0]?.contacts?.[0]?.params["expires"]).toBe("86400");
    expect(d.targets?.[0]?.headers).toMatchObject({ set: [["Expires", ["86400"]]] });
    // The registrar grants more than the maximum: the worker keeps the maximum.
    const r = await decideResponse(responseEvent(200, d.context ?? "", upstreamOf(d).map((uri) => ({ uri, expires: 4294967295 }))));
    expect(r.headers?.add).toEqual([["Contact", "<sip:411@192.0.2.42>;expires=86400"]]);
    const [row] = await bindingsOf(`411@${T}`);
    expect(row!.expires - now).toBeGreaterThanOrEqual(86400);
    expect(row!.expires - now).toBeLessThanOrEqual(86402);
    // Beyond 2^32-1 it is clamped too, not taken for garbage (which would fall back to the default).
    const beyond = await decide(register({ user: "412", domain: T, contacts: [{ uri: "sip:412@192.0.2.43", params: { expires: "99999999999999999999" } }] }));
    expect(beyond.targets?.[0]?.contacts?.[0]?.params["expires"]).toBe("86400");
  });
});

describe("contacts per AoR (MAX_CONTACTS = 10)", () => {
  it("an eleventh device gets 403 Too Many Registered Contacts and is not stored; the ten refresh as before", async () => {
    const phones = Array.from({ length: 11 }, (_, i) => register({ user: "420", domain: T, contacts: [{ uri: `sip:420@192.0.2.${100 + i}:5060` }], callId: `c420-${i}`, source: { ip: `192.0.2.${100 + i}`, port: 5060 } }));
    for (const p of phones.slice(0, 10)) expect((await registerOk(p)).r.action).toBe("forward");
    const eleventh = await registerOk(phones[10]!);
    expect(eleventh.r).toMatchObject({ action: "reply", status: 403, reason: "Too Many Registered Contacts" });
    const rows = await bindingsOf(`420@${T}`);
    expect(rows).toHaveLength(10);
    expect(rows.map((b) => b.contact)).not.toContain("sip:420@192.0.2.110:5060");
    // A device already bound still refreshes when the AoR is full.
    const refresh = await registerOk({ ...phones[3]!, parsed: { ...phones[3]!.parsed, cseq: { seq: 2, method: "REGISTER" } } });
    expect(refresh.r.action).toBe("forward");
  });
});

describe("replayed and late responses", () => {
  it("a replayed 2xx does not bring back a binding the phone removed since", async () => {
    const contact = { uri: "sip:430@192.0.2.43:5060" };
    const first = await decide(register({ user: "430", domain: T, contacts: [contact], callId: "c430", cseq: 1, source: { ip: "192.0.2.43", port: 5060 } }));
    const up = upstreamOf(first);
    const granted = responseEvent(200, first.context ?? "", up.map((uri) => ({ uri, expires: 600 })));
    await decideResponse(granted);
    expect(await bindingsOf(`430@${T}`)).toHaveLength(1);
    // The phone de-registers (CSeq 2): the registrar lists nothing.
    const bye = await decide(register({ user: "430", domain: T, contacts: [contact], expires: 0, callId: "c430", cseq: 2, source: { ip: "192.0.2.43", port: 5060 } }));
    await decideResponse(responseEvent(200, bye.context ?? "", []));
    expect(await bindingsOf(`430@${T}`)).toEqual([]);
    // The first 2xx again (a fresh signature: the nonce check alone is per isolate).
    const replay = await decideResponse(granted);
    expect(await bindingsOf(`430@${T}`)).toEqual([]);
    expect(replay.headers?.add ?? []).toEqual([]);
  });

  it("a late 2xx of a REGISTER sent before an operator removed the binding does not bring it back", async () => {
    const contact = { uri: "sip:431@192.0.2.44:5060" };
    const first = await decide(register({ user: "431", domain: T, contacts: [contact], callId: "c431", cseq: 1, source: { ip: "192.0.2.44", port: 5060 } }));
    const granted = responseEvent(200, first.context ?? "", upstreamOf(first).map((uri) => ({ uri, expires: 600 })));
    await decideResponse(granted);
    const [row] = await bindingsOf(`431@${T}`);
    expect((await admin("DELETE", `/bindings/${row!.id}`)).status).toBe(200);
    await decideResponse(granted);
    expect(await bindingsOf(`431@${T}`)).toEqual([]);
    // A new REGISTER after the removal is saved as usual.
    await registerOk(register({ user: "431", domain: T, contacts: [contact], callId: "c431", cseq: 2, source: { ip: "192.0.2.44", port: 5060 } }));
    expect(await bindingsOf(`431@${T}`)).toHaveLength(1);
  });

  it("a REGISTER context outlives its transaction by a margin only: 41 s old is refused with 400", async () => {
    const d = await decide(register({ user: "432", domain: T, contacts: [{ uri: "sip:432@192.0.2.45" }], callId: "c432" }));
    const payload = JSON.parse(atob((d.context ?? "").split(".")[0]!.replace(/-/g, "+").replace(/_/g, "/"))) as { v: unknown };
    const old = await sealContext(await importHmacKey(GATEWAY_SECRET), payload.v, Date.now() - 41_000);
    const res = await signedPost("/v1/response", responseEvent(200, old, upstreamOf(d).map((uri) => ({ uri, expires: 600 }))));
    expect(res.status).toBe(400);
    expect(await bindingsOf(`432@${T}`)).toEqual([]);
    const fresh = await sealContext(await importHmacKey(GATEWAY_SECRET), payload.v, Date.now() - 30_000);
    expect((await signedPost("/v1/response", responseEvent(200, fresh, upstreamOf(d).map((uri) => ({ uri, expires: 600 }))))).status).toBe(200);
  });

  it("a malformed context is a 400, not a 500", async () => {
    for (const bad of ["A.A", "x", ".", "eyJ.!!", "eyJpYXQiOjB9.A", "a".repeat(100_000)]) {
      const res = await signedPost("/v1/response", responseEvent(200, bad, []));
      expect(res.status, bad.slice(0, 20)).toBe(400);
    }
  });
});
