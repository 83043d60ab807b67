// The admin API's cut-over routes (/admin/v1/legacy): importing legacy endpoint_locations rows as bindings,
// and reading live bindings page by page. Run in the Workers runtime against the local store endpoint.
import { describe, expect, it } from "vitest";
import type { RequestEventInput } from "../../contract/v1";
import { admin, ADMIN_TOKEN, bindingsOf, createTenant, decide, decideResponse, registerEvent, responseEvent, upstreamUri, requestEvent } from "./support";

const A = "legacy-a.example";
const B = "legacy-b.example";
await createTenant(A, "sip:10.7.0.1:5080");
await createTenant(B, "sip:10.7.0.2:5080");

interface Row {
  username: string;
  domain: string;
  contact: string;
  received: string | null;
  expires: number;
}
type Result = { outcome: string; reason?: string };

// One expiry for every row of this file, so that the same row imported twice is the same row whatever the
// clock did in between.
const IN_AN_HOUR = Math.floor(Date.now() / 1000) + 3600;

async function importRows(rows: unknown[], dryRun = false): Promise<Result[]> {
  const res = await admin("POST", "/legacy/import", { rows, dryRun });
  if (res.status !== 200) throw new Error(`import: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { results: Result[] }).results;
}

function row(username: string, contact: string, extra: Partial<Row> = {}): Row {
  return { username, domain: A, contact, received: null, expires: IN_AN_HOUR, ...extra };
}

const fromPbx = (ruri: string) => requestEvent("INVITE", ruri, { ip: "10.7.0.1", port: 5080 });

describe("legacy import", () => {
  it("needs the admin token", async () => {
    expect((await admin("POST", "/legacy/import", { rows: [] }, "")).status).toBe(401);
    expect((await admin("GET", "/legacy/bindings", undefined, ADMIN_TOKEN + "x")).status).toBe(401);
  });

  it("inserts a row as a binding the routing uses, with the NAT address as received", async () => {
    const r = row("501", "sip:501@192.168.5.1:5070", { received: "sip:203.0.113.5:40501" });
    expect(await importRows([r])).toEqual([{ outcome: "inserted" }]);
    const [b, ...rest] = await bindingsOf(`501@${A}`);
    expect(rest).toEqual([]);
    expect(b).toMatchObject({ contact: r.contact, received: r.received, expires: r.expires, callid: "legacy-import@edge-registrar", cseq: 0 });
    const d = await decide(fromPbx("sip:501@127.0.0.1:5060"));
    expect(d.targets?.map((t) => `${t.requestUri} via ${t.nextHop?.ip}:${t.nextHop?.port}`)).toEqual([
      "sip:501@192.168.5.1:5070 via 203.0.113.5:40501",
    ]);
  });

  it("is idempotent: the same rows again are unchanged and nothing is written", async () => {
    const rows = [row("502", "sip:502@192.168.5.2:5070"), row("503", "sip:503@192.168.5.3:5070", { received: "sip:203.0.113.3:5070" })];
    expect(await importRows(rows)).toEqual([{ outcome: "inserted" }, { outcome: "inserted" }]);
    const before = [...(await bindingsOf(`502@${A}`)), ...(await bindingsOf(`503@${A}`))];
    expect(await importRows(rows)).toEqual([{ outcome: "unchanged" }, { outcome: "unchanged" }]);
    const after = [...(await bindingsOf(`502@${A}`)), ...(await bindingsOf(`503@${A}`))];
    expect(after).toEqual(before);
  });

  it("updates an imported binding whose legacy row changed, and replaces the contact of the AoR", async () => {
    expect(await importRows([row("504", "sip:504@192.168.5.4:5070")])).toEqual([{ outcome: "inserted" }]);
    const later = IN_AN_HOUR + 60;
    expect(await importRows([row("504", "sip:504@192.168.5.4:5070", { expires: later })])).toEqual([{ outcome: "updated" }]);
    expect((await bindingsOf(`504@${A}`)).map((b) => b.expires)).toEqual([later]);
    expect(await importRows([row("504", "sip:504@192.168.9.9:5070")])).toEqual([{ outcome: "updated" }]);
    expect((await bindingsOf(`504@${A}`)).map((b) => b.contact)).toEqual(["sip:504@192.168.9.9:5070"]);
  });

  it("keeps a binding a real REGISTER made here: it is newer than the legacy row", async () => {
    const d = await decide(registerEvent({ user: "505", domain: A, contacts: ["sip:505@10.5.5.5:5070"], callId: "real-505", cseq: 3 }));
    const up = (d.targets?.[0]?.contacts ?? []).map(upstreamUri);
    await decideResponse(responseEvent(200, d.context ?? "", up.map((uri) => ({ uri, expires: 600 }))));
    const legacy = [row("505", "sip:505@192.168.5.5:5070"), row("505", "sip:505@10.5.5.5:5070", { domain: A })];
    expect(await importRows([legacy[0]])).toEqual([{ outcome: "kept" }]);
    expect(await importRows([legacy[1]])).toEqual([{ outcome: "kept" }]);
    const bindings = await bindingsOf(`505@${A}`);
    expect(bindings.map((b) => [b.contact, b.callid])).toEqual([["sip:505@10.5.5.5:5070", "real-505"]]);
  });

  it("the phone's next REGISTER through the edge takes the imported binding over", async () => {
    expect(await importRows([row("509", "sip:509@192.168.5.9:5070", { received: "sip:203.0.113.9:40509" })])).toEqual([{ outcome: "inserted" }]);
    const d = await decide(
      registerEvent({ user: "509", domain: A, contacts: ["sip:509@192.168.5.9:5070"], source: { ip: "203.0.113.9", port: 40509 }, callId: "phone-509", cseq: 7, userAgent: "Yealink T46" }),
    );
    const up = (d.targets?.[0]?.contacts ?? []).map(upstreamUri);
    await decideResponse(responseEvent(200, d.context ?? "", up.map((uri) => ({ uri, expires: 600 }))));
    const bindings = await bindingsOf(`509@${A}`);
    expect(bindings.map((b) => [b.contact, b.received, b.callid, b.cseq, b.userAgent])).toEqual([
      ["sip:509@192.168.5.9:5070", "sip:203.0.113.9:40509", "phone-509", 7, "Yealink T46"],
    ]);
    // From now on the legacy row is older than what the registrar granted: a new import keeps it.
    expect(await importRows([row("509", "sip:509@192.168.5.9:5070", { received: "sip:203.0.113.9:40509" })])).toEqual([{ outcome: "kept" }]);
  });

  it("refuses bad rows one by one with a reason and imports the others", async () => {
    const past = Math.floor(Date.now() / 1000) - 10;
    const results = await importRows([
      row("506", "sip:506@192.168.5.6:5070", { domain: "foreign.example" }),
      row("506", "not a uri"),
      row("bad user", "sip:x@192.168.5.6"),
      row("506", "sip:506@192.168.5.6", { received: "sip:pbx.example:5060" }),
      row("506", "sip:506@192.168.5.6", { expires: past }),
      row("506", "sip:506@192.168.5.6:5070"),
    ]);
    expect(results.map((r) => r.outcome)).toEqual(["refused", "refused", "refused", "refused", "refused", "inserted"]);
    expect(results.map((r) => r.reason ?? "")).toEqual([
      expect.stringMatching(/foreign\.example.*no tenant/),
      expect.stringMatching(/contact/),
      expect.stringMatching(/username/),
      expect.stringMatching(/received/),
      "expired",
      "",
    ]);
    expect((await bindingsOf(`506@${A}`)).map((b) => b.contact)).toEqual(["sip:506@192.168.5.6:5070"]);
  });

  it("a dry run reports the same outcomes and writes nothing", async () => {
    const rows = [row("507", "sip:507@192.168.5.7:5070"), row("501", "sip:501@192.168.5.1:5070", { received: "sip:203.0.113.5:40501" })];
    const before = await bindingsOf(`501@${A}`);
    expect(await importRows(rows, true)).toEqual([{ outcome: "inserted" }, { outcome: "unchanged" }]);
    expect(await bindingsOf(`507@${A}`)).toEqual([]);
    expect(await bindingsOf(`501@${A}`)).toEqual(before);
  });

  it("refuses a request with an AoR twice, or too many rows, writing nothing", async () => {
    const twice = await admin("POST", "/legacy/import", { rows: [row("508", "sip:508@192.168.5.8"), row("508", "sip:508@192.168.5.9")] });
    expect(twice.status).toBe(400);
    expect(await bindingsOf(`508@${A}`)).toEqual([]);
    const many = Array.from({ length: 501 }, (_, i) => row(`9${i}`, `sip:9${i}@192.168.6.1`));
    expect((await admin("POST", "/legacy/import", { rows: many })).status).toBe(400);
  });
});

describe("live bindings page by page", () => {
  it("pages through every live binding in id order, leaving out expired ones", async () => {
    // A binding that expires in 1 s (a registrar's short grant), not yet swept when the pages are read.
    const d = await decide(registerEvent({ user: "603", domain: B, contacts: ["sip:603@10.6.0.3:5070"], callId: "short-603" }));
    const up = (d.targets?.[0]?.contacts ?? []).map(upstreamUri);
    await decideResponse(responseEvent(200, d.context ?? "", up.map((uri) => ({ uri, expires: 1 }))));
    expect(await bindingsOf(`603@${B}`)).toHaveLength(1);
    await importRows([row("601", "sip:601@192.168.7.1", { domain: B }), row("602", "sip:602@192.168.7.2", { domain: B })]);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect(await bindingsOf(`603@${B}`)).toHaveLength(1);
    const all: { id: number; username: string; expires: number }[] = [];
    let after = 0;
    for (let i = 0; i < 100; i++) {
      const res = await admin("GET", `/legacy/bindings?after=${after}&limit=2`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { bindings: { id: number; username: string; expires: number }[]; next: number | null };
      expect(page.bindings.length).toBeLessThanOrEqual(2);
      all.push(...page.bindings);
      if (page.next === null) break;
      after = page.next;
    }
    const ids = all.map((b) => b.id);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(ids.length);
    expect(all.map((b) => b.username)).toEqual(expect.arrayContaining(["601", "602", "501"]));
    expect(all.map((b) => b.username)).not.toContain("603");
    expect((await admin("GET", "/legacy/bindings?limit=0")).status).toBe(400);
    expect((await admin("GET", "/legacy/bindings?limit=1001")).status).toBe(400);
  });
});
