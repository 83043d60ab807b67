import { describe, expect, it } from "vitest";
import type { RequestEventInput } from "../../contract/v1";
import { admin, createTenant, decide, decideResponse, registerEvent, responseEvent, upstreamUri, type AnyDecision, requestEvent } from "./support";

// Three tenants that all have extension 201; PBX addresses set up for the prefix trap and a shared host.
await createTenant("rt-a.example", "sip:10.3.0.1:5080");
await createTenant("rt-b.example", "sip:10.3.0.10:5080");
// Two tenants on one host: the admin API accepts that only when both are matched by IP and port.
for (const [domain, uri] of [["rt-c.example", "sip:10.3.0.20:5080"], ["rt-d.example", "sip:10.3.0.20:5090"]] as const) {
  const res = await admin("POST", "/tenants", { domain, destinations: [{ uri, requirePort: true }] });
  if (res.status !== 201) throw new Error(`${domain}: ${res.status} ${await res.text()}`);
}

async function register(user: string, domain: string, contact: string, source: { ip: string; port: number }, q?: string): Promise<string> {
  const ev = registerEvent({ user, domain, contacts: [contact], source, callId: `${user}-${contact}` });
  if (q && ev.parsed.contacts !== "*") ev.parsed.contacts = ev.parsed.contacts!.map((c) => ({ ...c, params: { q } }));
  const d = await decide(ev);
  const up = (d.targets?.[0]?.contacts ?? []).map(upstreamUri);
  await decideResponse(responseEvent(200, d.context ?? "", up.map((uri) => ({ uri, expires: 600 }))));
  return up[0]!;
}

const fromPbx = (method: string, ruri: string, source: { ip: string; port: number }) => requestEvent(method, ruri, source);

const hops = (d: AnyDecision) => (d.targets ?? []).map((t) => `${t.requestUri} via ${t.nextHop?.ip}:${t.nextHop?.port}`);

const upA = await register("201", "rt-a.example", "sip:201@192.168.1.10:5070", { ip: "203.0.113.1", port: 40001 });
await register("201", "rt-b.example", "sip:201@192.168.1.11:5070", { ip: "203.0.113.2", port: 40002 });
await register("201", "rt-c.example", "sip:201@192.168.1.12:5070", { ip: "203.0.113.3", port: 40003 });

describe("requests from a tenant's Asterisk", () => {
  it("reach only that tenant's phone, at its NAT address, Record-Routed for INVITE", async () => {
    const a = await decide(fromPbx("INVITE", "sip:201@127.0.0.1:5060", { ip: "10.3.0.1", port: 5080 }));
    expect(a).toMatchObject({ action: "relay", recordRoute: true, wantResponse: "none" });
    expect(hops(a)).toEqual(["sip:201@192.168.1.10:5070 via 203.0.113.1:40001"]);
    const b = await decide(fromPbx("INVITE", "sip:201@127.0.0.1:5060", { ip: "10.3.0.10", port: 5080 }));
    expect(hops(b)).toEqual(["sip:201@192.168.1.11:5070 via 203.0.113.2:40002"]);
  });

  it("prefix trap: 10.3.0.1 is not 10.3.0.10, and an unknown 10.3.0.100 is refused", async () => {
    expect(hops(await decide(fromPbx("OPTIONS", "sip:201@gw", { ip: "10.3.0.10", port: 1234 })))).toEqual(["sip:201@192.168.1.11:5070 via 203.0.113.2:40002"]);
    expect(await decide(fromPbx("OPTIONS", "sip:201@gw", { ip: "10.3.0.100", port: 5080 }))).toMatchObject({ action: "reply", status: 403 });
  });

  it("two tenants' Asterisks on one IP are told apart by the source port; another port is refused", async () => {
    expect(hops(await decide(fromPbx("NOTIFY", "sip:201@gw", { ip: "10.3.0.20", port: 5080 })))).toEqual(["sip:201@192.168.1.12:5070 via 203.0.113.3:40003"]);
    expect(await decide(fromPbx("NOTIFY", "sip:201@gw", { ip: "10.3.0.20", port: 5090 }))).toMatchObject({ action: "reply", status: 404 });
    expect(await decide(fromPbx("NOTIFY", "sip:201@gw", { ip: "10.3.0.20", port: 6000 }))).toMatchObject({ action: "reply", status: 403, reason: "Forbidden" });
  });

  it("404 for an extension the tenant has not registered, even though other tenants have it", async () => {
    await register("555", "rt-b.example", "sip:555@192.168.1.55:5070", { ip: "203.0.113.5", port: 40005 });
    expect(await decide(fromPbx("INVITE", "sip:555@gw", { ip: "10.3.0.1", port: 5080 }))).toMatchObject({ action: "reply", status: 404 });
  });

  it("the binding token selects that binding, and only within the tenant and user", async () => {
    await register("202", "rt-a.example", "sip:202@192.168.1.20:5070", { ip: "203.0.113.20", port: 40020 });
    await register("202", "rt-a.example", "sip:202@192.168.1.21:5070", { ip: "203.0.113.21", port: 40021 });
    const token = /;erb=([0-9a-f]+)/.exec(upA)![1]!;
    expect(hops(await decide(fromPbx("INVITE", `sip:201@127.0.0.1:5060;erb=${token}`, { ip: "10.3.0.1", port: 5080 })))).toEqual(["sip:201@192.168.1.10:5070 via 203.0.113.1:40001"]);
    // The same token presented by another tenant's Asterisk, or for another user, finds nothing.
    expect(await decide(fromPbx("INVITE", `sip:201@127.0.0.1:5060;erb=${token}`, { ip: "10.3.0.10", port: 5080 }))).toMatchObject({ status: 404 });
    expect(await decide(fromPbx("INVITE", `sip:202@127.0.0.1:5060;erb=${token}`, { ip: "10.3.0.1", port: 5080 }))).toMatchObject({ status: 404 });
    // Without a token both devices of 202 are forked to.
    expect(hops(await decide(fromPbx("INVITE", "sip:202@127.0.0.1", { ip: "10.3.0.1", port: 5080 })))).toHaveLength(2);
  });

  it("forks in q order", async () => {
    await register("203", "rt-a.example", "sip:203@192.168.1.30:5070", { ip: "203.0.113.30", port: 1 }, "0.2");
    await register("203", "rt-a.example", "sip:203@192.168.1.31:5070", { ip: "203.0.113.31", port: 1 }, "0.9");
    const d = await decide(fromPbx("INVITE", "sip:203@gw", { ip: "10.3.0.1", port: 5080 }));
    expect(d.targets?.map((t) => t.requestUri)).toEqual(["sip:203@192.168.1.31:5070", "sip:203@192.168.1.30:5070"]);
  });

  it("an OPTIONS to the gateway itself (no user) is answered 200", async () => {
    expect(await decide(fromPbx("OPTIONS", "sip:127.0.0.1:5060", { ip: "10.3.0.1", port: 5080 }))).toMatchObject({ action: "reply", status: 200 });
  });
});

describe("requests from phones and from unknown sources", () => {
  it("go to the tenant of the Request-URI domain, Record-Routed", async () => {
    const d = await decide(fromPbx("INVITE", "sip:202@rt-b.example", { ip: "203.0.113.99", port: 5070 }));
    expect(d).toMatchObject({ action: "relay", recordRoute: true });
    expect(hops(d)).toEqual(["sip:202@rt-b.example via 10.3.0.10:5080"]);
  });

  it("fall back to the From domain when the Request-URI is not a tenant", async () => {
    const ev = fromPbx("INVITE", "sip:202@127.0.0.1", { ip: "203.0.113.99", port: 5070 });
    ev.parsed.from = { uri: "sip:201@rt-a.example", params: { tag: "p" } };
    expect(hops(await decide(ev))).toEqual(["sip:202@127.0.0.1 via 10.3.0.1:5080"]);
  });

  it("a phone's keep-alive OPTIONS to the gateway itself is answered 200, not relayed", async () => {
    const ev = fromPbx("OPTIONS", "sip:127.0.0.1:5060", { ip: "203.0.113.99", port: 5070 });
    ev.parsed.from = { uri: "sip:201@rt-a.example", params: { tag: "k" } };
    expect(await decide(ev)).toMatchObject({ action: "reply", status: 200 });
    // With a user it is a request for someone, and goes to the tenant's Asterisk.
    const toUser = fromPbx("OPTIONS", "sip:202@rt-a.example", { ip: "203.0.113.99", port: 5070 });
    expect(await decide(toUser)).toMatchObject({ action: "relay" });
  });

  it("a request from an unknown source to an unknown domain gets 403", async () => {
    expect(await decide(fromPbx("INVITE", "sip:201@unknown.example", { ip: "203.0.113.99", port: 5070 }))).toMatchObject({ action: "reply", status: 403 });
  });

  it("never falls back to a username-only match by default", async () => {
    // 555 exists in exactly one tenant, but the any-domain lookup is off.
    expect(await decide(fromPbx("INVITE", "sip:555@127.0.0.1", { ip: "203.0.113.99", port: 5070 }))).toMatchObject({ status: 403 });
  });
});
