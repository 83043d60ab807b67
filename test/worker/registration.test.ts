import { describe, expect, it } from "vitest";
import {
  bindingsOf,
  createTenant,
  decide,
  decideResponse,
  registerEvent,
  requestEvent,
  responseEvent,
  signedPost,
  upstreamUri,
  type AnyDecision,
} from "./support";

const A = "reg-a.example";
const B = "reg-b.example";
await createTenant(A, "sip:127.0.0.11:5080");
await createTenant(B, "sip:127.0.0.12:5080");

function gatewayContacts(d: AnyDecision) {
  const contacts = d.targets?.[0]?.contacts;
  if (!contacts) throw new Error("no gateway contacts in decision");
  return contacts;
}

/** Register flow through the worker: the REGISTER decision, then the registrar's 2xx listing what it grants. */
async function registerOk(ev: Parameters<typeof registerEvent>[0], grant: (upstream: string[]) => { uri: string; expires?: number }[], expires?: number) {
  const d = await decide(registerEvent(ev));
  expect(d.action).toBe("relay");
  const upstream = ev.contacts === "*" ? [] : gatewayContacts(d).map(upstreamUri);
  return decideResponse(responseEvent(200, d.context ?? "", grant(upstream), expires));
}

describe("REGISTER decision", () => {
  it("refuses a To domain that is no tenant with 403 and a reason", async () => {
    const d = await decide(registerEvent({ user: "201", domain: "nobody.example", contacts: ["sip:201@192.0.2.1"] }));
    expect(d).toMatchObject({ action: "reply", status: 403, reason: "Unknown Tenant Domain" });
  });

  it("relays to the tenant's Asterisk, asks to see the 2xx, and rewrites each Contact with a binding token", async () => {
    const d = await decide(registerEvent({ user: "201", domain: A, contacts: ["sip:201@192.0.2.10:5070", "sip:201@192.0.2.11:5070"], expires: 300 }));
    expect(d).toMatchObject({ action: "relay", wantResponse: "2xx", recordRoute: false });
    expect(d.targets?.[0]?.nextHop).toMatchObject({ ip: "127.0.0.11", port: 5080 });
    const contacts = gatewayContacts(d);
    expect(contacts).toHaveLength(2);
    expect(contacts.every((c) => c.user === "201" && /^[0-9a-f]{20}$/.test(c.uriParams["erb"] ?? ""))).toBe(true);
    expect(contacts[0]?.uriParams["erb"]).not.toBe(contacts[1]?.uriParams["erb"]);
  });

  it("derives the same token for a refresh, and a different one in another tenant", async () => {
    const ev = { user: "201", domain: A, contacts: ["sip:201@192.0.2.10:5070"] };
    const t1 = gatewayContacts(await decide(registerEvent(ev)))[0]?.uriParams["erb"];
    const t2 = gatewayContacts(await decide(registerEvent({ ...ev, cseq: 7 })))[0]?.uriParams["erb"];
    const other = gatewayContacts(await decide(registerEvent({ ...ev, domain: B })))[0]?.uriParams["erb"];
    expect(t1).toBe(t2);
    expect(other).not.toBe(t1);
  });

  it("answers 400 to Contact: * without Expires: 0", async () => {
    const d = await decide(registerEvent({ user: "201", domain: A, contacts: "*", expires: 60 }));
    expect(d).toMatchObject({ action: "reply", status: 400 });
  });
});

describe("save on the registrar's 2xx", () => {
  it("stores nothing until a 2xx: a REGISTER decision alone writes no binding", async () => {
    await decide(registerEvent({ user: "300", domain: A, contacts: ["sip:300@192.0.2.30:5070"] }));
    expect(await bindingsOf(`300@${A}`)).toEqual([]);
  });

  it("a non-2xx response is forwarded untouched and stores nothing", async () => {
    const d = await decide(registerEvent({ user: "301", domain: A, contacts: ["sip:301@192.0.2.31:5070"] }));
    const r = await decideResponse(responseEvent(401, d.context ?? "", []));
    expect(r.action).toBe("forward");
    // No header edits: the challenge reaches the phone as the registrar wrote it.
    expect([...(r.headers?.remove ?? []), ...(r.headers?.set ?? []), ...(r.headers?.add ?? [])]).toEqual([]);
    expect(await bindingsOf(`301@${A}`)).toEqual([]);
  });

  it("stores once with the expiry the registrar granted, the NAT source as received, and the phone's UA and methods", async () => {
    const now = Math.floor(Date.now() / 1000);
    const r = await registerOk(
      { user: "302", domain: A, contacts: ["sip:302@10.1.1.2:5070"], expires: 3600, source: { ip: "198.51.100.7", port: 40312 }, userAgent: "Yealink T46", allow: ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"], cseq: 2, callId: "c302" },
      (up) => up.map((uri) => ({ uri, expires: 120 })),
    );
    expect(r.action).toBe("forward");
    const [b, ...rest] = await bindingsOf(`302@${A}`);
    expect(rest).toEqual([]);
    expect(b).toMatchObject({ contact: "sip:302@10.1.1.2:5070", received: "sip:198.51.100.7:40312", userAgent: "Yealink T46", methods: "INVITE,CANCEL,ACK,BYE,OPTIONS", callid: "c302", cseq: 2, socket: "udp:127.0.0.1:5060" });
    expect(b!.expires).toBeGreaterThanOrEqual(now + 119);
    expect(b!.expires).toBeLessThanOrEqual(now + 121);
  });

  it("does not set received when the phone sends from its Contact address", async () => {
    await registerOk({ user: "303", domain: A, contacts: ["sip:303@192.0.2.33:5070"], source: { ip: "192.0.2.33", port: 5070 } }, (up) => up.map((uri) => ({ uri, expires: 60 })));
    expect((await bindingsOf(`303@${A}`))[0]?.received).toBeNull();
  });

  it("shows the phone its own contact with the granted expiry in the 2xx, never the gateway's", async () => {
    const r = await registerOk({ user: "304", domain: A, contacts: ["sip:304@10.1.1.4:5070"] }, (up) => up.map((uri) => ({ uri, expires: 90 })));
    expect(r.headers?.remove).toEqual(["Contact"]);
    expect(r.headers?.add).toEqual([["Contact", "<sip:304@10.1.1.4:5070>;expires=90"]]);
  });

  it("RFC 3327: a phone's Path is kept from the Asterisk box (the gateway is the phone's route there), stored, and copied into the 2xx", async () => {
    const path = ["<sip:edge-sbc.example:5060;lr>"];
    const ev = { user: "305", domain: A, contacts: ["sip:305@10.1.1.5:5070"], path };
    const d = await decide(registerEvent(ev));
    expect(d.targets?.[0]?.headers?.remove).toEqual(["Path"]);
    const upstream = gatewayContacts(d).map(upstreamUri);
    const r = await decideResponse(responseEvent(200, d.context ?? "", upstream.map((uri) => ({ uri, expires: 60 }))));
    expect(r.headers?.remove).toEqual(["Contact", "Path"]);
    expect(r.headers?.add).toEqual([
      ["Contact", "<sip:305@10.1.1.5:5070>;expires=60"],
      ["Path", "<sip:edge-sbc.example:5060;lr>"],
    ]);
    // Stored: a call from the tenant's box to the phone follows the Path (route-request.ts).
    const call = await decide(requestEvent("INVITE", `sip:305@${A}`, { ip: "127.0.0.11", port: 5080 }));
    expect(call.action).toBe("relay");
    expect(call.targets?.[0]?.route).toEqual(["<sip:edge-sbc.example:5060;lr>"]);
    // Without a Path, the REGISTER goes to the box with no header edits.
    const plain = await decide(registerEvent({ user: "306", domain: A, contacts: ["sip:306@10.1.1.6:5070"] }));
    expect(plain.targets?.[0]?.headers?.remove ?? []).toEqual([]);
  });

  it("a refresh keeps one binding and updates its expiry", async () => {
    const ev = { user: "305", domain: A, contacts: ["sip:305@10.1.1.5:5070"], callId: "c305" };
    await registerOk({ ...ev, cseq: 1 }, (up) => up.map((uri) => ({ uri, expires: 60 })));
    await registerOk({ ...ev, cseq: 2 }, (up) => up.map((uri) => ({ uri, expires: 600 })));
    const bs = await bindingsOf(`305@${A}`);
    expect(bs).toHaveLength(1);
    expect(bs[0]!.cseq).toBe(2);
    expect(bs[0]!.expires - Math.floor(Date.now() / 1000)).toBeGreaterThan(590);
  });

  it("a 2xx for an older CSeq of the same Call-ID does not overwrite newer state", async () => {
    const ev = { user: "306", domain: A, contacts: ["sip:306@10.1.1.6:5070"], callId: "c306" };
    const older = await decide(registerEvent({ ...ev, cseq: 3 }));
    await registerOk({ ...ev, cseq: 4 }, (up) => up.map((uri) => ({ uri, expires: 600 })));
    const up = gatewayContacts(older).map(upstreamUri);
    await decideResponse(responseEvent(200, older.context ?? "", up.map((uri) => ({ uri, expires: 30 }))));
    const bs = await bindingsOf(`306@${A}`);
    expect(bs).toHaveLength(1);
    expect(bs[0]!.cseq).toBe(4);
    expect(bs[0]!.expires - Math.floor(Date.now() / 1000)).toBeGreaterThan(590);
  });

  it("Expires: 0 answered by a 2xx without the contact removes the binding", async () => {
    const ev = { user: "307", domain: A, contacts: ["sip:307@10.1.1.7:5070"], callId: "c307" };
    await registerOk({ ...ev, cseq: 1 }, (up) => up.map((uri) => ({ uri, expires: 600 })));
    await registerOk({ ...ev, cseq: 2, expires: 0 }, () => []);
    expect(await bindingsOf(`307@${A}`)).toEqual([]);
  });

  it("a 200 listing another device's contact stores only this device's, and shows the other device by its own contact", async () => {
    const phone1 = { user: "308", domain: A, contacts: ["sip:308@10.1.1.81:5070"], callId: "c308-1", source: { ip: "198.51.100.81", port: 5070 } };
    const phone2 = { user: "308", domain: A, contacts: ["sip:308@10.1.1.82:5070"], callId: "c308-2", source: { ip: "198.51.100.82", port: 5070 } };
    const first = await registerOk(phone1, (up) => up.map((uri) => ({ uri, expires: 600 })));
    expect(first.action).toBe("forward");
    const d1 = await decide(registerEvent(phone1));
    const up1 = gatewayContacts(d1).map(upstreamUri);
    const r2 = await registerOk(phone2, (up2) => [...up1.map((uri) => ({ uri, expires: 550 })), ...up2.map((uri) => ({ uri, expires: 600 }))]);
    const bs = await bindingsOf(`308@${A}`);
    expect(bs.map((b) => [b.contact, b.received, b.callid]).sort()).toEqual([
      ["sip:308@10.1.1.81:5070", "sip:198.51.100.81:5070", "c308-1"],
      ["sip:308@10.1.1.82:5070", "sip:198.51.100.82:5070", "c308-2"],
    ]);
    expect(r2.headers?.add).toEqual([
      ["Contact", "<sip:308@10.1.1.82:5070>;expires=600"],
      ["Contact", "<sip:308@10.1.1.81:5070>;expires=550"],
    ]);
  });

  it("Contact: * with Expires: 0 accepted removes every binding of the AoR and no other", async () => {
    await registerOk({ user: "309", domain: A, contacts: ["sip:309@10.1.1.91:5070"], callId: "c309-1" }, (up) => up.map((uri) => ({ uri, expires: 600 })));
    await registerOk({ user: "309", domain: A, contacts: ["sip:309@10.1.1.92:5070"], callId: "c309-2" }, (up) => up.map((uri) => ({ uri, expires: 600 })));
    await registerOk({ user: "309", domain: B, contacts: ["sip:309@10.1.1.93:5070"], callId: "c309-3" }, (up) => up.map((uri) => ({ uri, expires: 600 })));
    expect(await bindingsOf(`309@${A}`)).toHaveLength(2);
    await registerOk({ user: "309", domain: A, contacts: "*", expires: 0, callId: "c309-x" }, () => []);
    expect(await bindingsOf(`309@${A}`)).toEqual([]);
    expect(await bindingsOf(`309@${B}`)).toHaveLength(1);
  });

  it("the same extension in two tenants gives two separate bindings", async () => {
    await registerOk({ user: "310", domain: A, contacts: ["sip:310@10.1.2.1:5070"] }, (up) => up.map((uri) => ({ uri, expires: 600 })));
    await registerOk({ user: "310", domain: B, contacts: ["sip:310@10.1.2.2:5070"] }, (up) => up.map((uri) => ({ uri, expires: 600 })));
    expect((await bindingsOf(`310@${A}`)).map((b) => b.contact)).toEqual(["sip:310@10.1.2.1:5070"]);
    expect((await bindingsOf(`310@${B}`)).map((b) => b.contact)).toEqual(["sip:310@10.1.2.2:5070"]);
  });

  it("a forged or tampered context is refused with 400 and stores nothing", async () => {
    const d = await decide(registerEvent({ user: "311", domain: A, contacts: ["sip:311@10.1.3.1:5070"] }));
    const tampered = (d.context ?? "").replace(/^./, (c) => (c === "A" ? "B" : "A"));
    const res = await signedPost("/v1/response", responseEvent(200, tampered, gatewayContacts(d).map(upstreamUri).map((uri) => ({ uri }))));
    expect(res.status).toBe(400);
    expect(await bindingsOf(`311@${A}`)).toEqual([]);
  });
});
