import { describe, expect, it } from "vitest";
import type { NameAddr } from "../../../contract/v1";
import type { RegisterContext, RegisterContextContact } from "../../../worker/src/registrar/register-context";
import { planSave, type RegistrarReply } from "../../../worker/src/registrar/save-plan";

const NOW = 1_800_000_000;

function contact(uri: string, token: string, extra: Partial<RegisterContextContact> = {}): RegisterContextContact {
  return { uri, token, params: {}, expires: undefined, q: 1, received: null, instance: null, ...extra };
}

function ctx(contacts: RegisterContextContact[], extra: Partial<RegisterContext> = {}): RegisterContext {
  return {
    kind: "register",
    username: "201",
    domain: "tenant-a.example",
    callid: "call-1",
    cseq: 2,
    wildcard: false,
    requestExpires: 300,
    contacts,
    userAgent: "phone/1.0",
    methods: 1 | 2 | 4 | 8,
    path: null,
    socket: "udp:127.0.0.1:5060",
    issuedAt: NOW * 1000,
    ...extra,
  };
}

/** A contact as the registrar lists it: the gateway's upstream contact carrying the token. */
function gw(token: string, params: Record<string, string | null> = {}): NameAddr {
  return { uri: `sip:201@127.0.0.1:5060;erb=${token}`, params };
}

const phoneA = contact("sip:201@192.0.2.10:5070", "aaaa", { received: "sip:198.51.100.7:40000" });
const phoneB = contact("sip:201@192.0.2.11:5070", "bbbb");

interface Row {
  name: string;
  ctx: RegisterContext;
  reply: RegistrarReply;
  upserts: { contact: string; expires: number }[];
  removals: string[];
  removeAll?: boolean;
}

const table: Row[] = [
  {
    name: "a contact listed with an expires param is stored with that expiry",
    ctx: ctx([phoneA]),
    reply: { contacts: [gw("aaaa", { expires: "120" })], expires: 600 },
    upserts: [{ contact: phoneA.uri, expires: NOW + 120 }],
    removals: [],
  },
  {
    name: "without a contact param the reply's Expires header decides",
    ctx: ctx([phoneA]),
    reply: { contacts: [gw("aaaa")], expires: 600 },
    upserts: [{ contact: phoneA.uri, expires: NOW + 600 }],
    removals: [],
  },
  {
    name: "without either, the request's own contact expires param",
    ctx: ctx([contact(phoneA.uri, "aaaa", { expires: 90 })]),
    reply: { contacts: [gw("aaaa")], expires: undefined },
    upserts: [{ contact: phoneA.uri, expires: NOW + 90 }],
    removals: [],
  },
  {
    name: "without any, the request's Expires header",
    ctx: ctx([phoneA], { requestExpires: 45 }),
    reply: { contacts: [gw("aaaa")], expires: undefined },
    upserts: [{ contact: phoneA.uri, expires: NOW + 45 }],
    removals: [],
  },
  {
    name: "a contact listed with expires=0 is removed",
    ctx: ctx([phoneA]),
    reply: { contacts: [gw("aaaa", { expires: "0" })], expires: undefined },
    upserts: [],
    removals: [phoneA.uri],
  },
  {
    name: "a contact absent from the 2xx (de-registration answered with the remaining list) is removed",
    ctx: ctx([phoneA], { requestExpires: 0 }),
    reply: { contacts: [gw("cccc", { expires: "300" })], expires: undefined },
    upserts: [],
    removals: [phoneA.uri],
  },
  {
    name: "other devices' contacts in the 2xx are not this device's: nothing written for them",
    ctx: ctx([phoneA]),
    reply: { contacts: [gw("aaaa", { expires: "300" }), gw("bbbb", { expires: "300" })], expires: undefined },
    upserts: [{ contact: phoneA.uri, expires: NOW + 300 }],
    removals: [],
  },
  {
    name: "two contacts of one REGISTER: one kept, one dropped",
    ctx: ctx([phoneA, phoneB]),
    reply: { contacts: [gw("bbbb", { expires: "60" })], expires: undefined },
    upserts: [{ contact: phoneB.uri, expires: NOW + 60 }],
    removals: [phoneA.uri],
  },
  {
    name: "Contact: * accepted removes every binding of the AoR",
    ctx: ctx([], { wildcard: true, requestExpires: 0 }),
    reply: { contacts: [], expires: undefined },
    upserts: [],
    removals: [],
    removeAll: true,
  },
  {
    name: "a query (no Contact) changes nothing",
    ctx: ctx([]),
    reply: { contacts: [gw("bbbb", { expires: "300" })], expires: undefined },
    upserts: [],
    removals: [],
  },
  {
    name: "a contact param that is not a number falls back to the header",
    ctx: ctx([phoneA]),
    reply: { contacts: [gw("aaaa", { expires: "soon" })], expires: 200 },
    upserts: [{ contact: phoneA.uri, expires: NOW + 200 }],
    removals: [],
  },
];

describe("save rules on a registrar's 2xx", () => {
  for (const row of table) {
    it(row.name, () => {
      const { plan } = planSave(row.ctx, row.reply, NOW, 3600);
      expect(plan.upserts.map((u) => ({ contact: u.contact, expires: u.expires }))).toEqual(row.upserts);
      expect(plan.removals.map((r) => r.contact)).toEqual(row.removals);
      expect(plan.removeAll).toBe(row.removeAll ?? false);
      expect(plan.callid).toBe(row.ctx.callid);
      expect(plan.cseq).toBe(row.ctx.cseq);
    });
  }

  it("stores received, user agent, methods and socket from the phone's REGISTER, not from the reply", () => {
    const { plan } = planSave(ctx([phoneA]), { contacts: [gw("aaaa", { expires: "300" })], expires: undefined }, NOW, 3600);
    expect(plan.upserts[0]).toMatchObject({
      received: "sip:198.51.100.7:40000",
      userAgent: "phone/1.0",
      methods: 15,
      socket: "udp:127.0.0.1:5060",
    });
  });

  it("reports the granted expiry per contact for the reply to the phone", () => {
    const { granted } = planSave(ctx([phoneA, phoneB]), { contacts: [gw("aaaa", { expires: "77" })], expires: undefined }, NOW, 3600);
    expect(granted.map((g) => [g.uri, g.expires])).toEqual([[phoneA.uri, 77]]);
  });
});

describe("save limits", () => {
  it("shortens a registrar's grant above maxExpires, and keys upserts and removals by binding identity", () => {
    const limits = { maxExpires: 86400, maxContacts: 10, tombstoneTtlS: 100 };
    const { plan, granted } = planSave(ctx([phoneA, phoneB]), { contacts: [gw("aaaa", { expires: "4294967295" })], expires: undefined }, NOW, 3600, limits);
    expect(plan.upserts.map((u) => [u.ruid, u.expires])).toEqual([["aaaa", NOW + 86400]]);
    expect(granted.map((g) => g.expires)).toEqual([86400]);
    expect(plan.removals).toEqual([{ ruid: "bbbb", contact: phoneB.uri }]);
    expect(plan).toMatchObject({ maxContacts: 10, tombstoneExpires: NOW + 100, issuedAt: NOW * 1000 });
  });
});
