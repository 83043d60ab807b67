// Who counts as a tenant's Asterisk (socket role, port matching), the any-domain lookup, and the admin
// API's guards (ambiguous sources, unusual domains, bounded bodies, bulk deletes, generic 401s), under the
// Workers runtime against the real store.
import { createClient } from "./store-client";
import { env as workerEnv } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/libsql/web";
import { describe, expect, it } from "vitest";
import type { RequestEventInput, SocketRole } from "../../contract/v1";
import { parseRequestEvent } from "../../contract/v1";
import { decideRoute } from "../../worker/src/routing/route-request";
import { createLibsqlStore } from "../../worker/src/store/libsql-store";
import { buildTenantDirectory } from "../../worker/src/tenants/tenant-directory";
import { admin, bindingsOf, createTenant, decide, decideResponse, registerEvent, responseEvent, self, upstreamUri, type AnyDecision, requestEvent } from "./support";

/** The worker's bindings (vitest.config.ts): the same store the worker under test uses. */
const env = workerEnv as unknown as { LIBSQL_URL: string; LIBSQL_AUTH_TOKEN?: string };

const S = "src-a.example";
const P = "src-port.example";
await createTenant(S, "sip:10.5.0.1:5080");
{
  const res = await admin("POST", "/tenants", { domain: P, destinations: [{ uri: "sip:10.5.0.2:5080", requirePort: true }] });
  if (res.status !== 201) throw new Error(`${P}: ${res.status} ${await res.text()}`);
}

const request = (method: string, ruri: string, source: { ip: string; port: number }, localRole?: SocketRole, from?: string) =>
  requestEvent(method, ruri, source, { ...(localRole ? { localRole } : {}), ...(from ? { from } : {}) });

async function registerPhone(user: string, domain: string, contact: string, source: { ip: string; port: number }): Promise<void> {
  const d = await decide(registerEvent({ user, domain, contacts: [contact], source, callId: `${user}-${domain}` }));
  const up = (d.targets?.[0]?.contacts ?? []).map(upstreamUri);
  await decideResponse(responseEvent(200, d.context ?? "", up.map((uri) => ({ uri, expires: 600 }))));
}

const hops = (d: AnyDecision) => (d.targets ?? []).map((t) => `${t.side}:${t.nextHop?.ip}:${t.nextHop?.port}`);

await registerPhone("501", S, "sip:501@192.168.5.1:5070", { ip: "203.0.113.51", port: 45001 });
await registerPhone("501", P, "sip:501@192.168.5.2:5070", { ip: "203.0.113.52", port: 45002 });

describe("who counts as a tenant's Asterisk", () => {
  it("on a gateway with a separate PBX socket, the Asterisk's address on the phones' socket is not an Asterisk", async () => {
    // Spoofed (or misrouted) source: the Asterisk's IP, but it arrived where phones send.
    const spoofed = await decide(request("INVITE", "sip:501@127.0.0.1:5060", { ip: "10.5.0.1", port: 5080 }, "phones"));
    expect(hops(spoofed)).not.toContain("phones:203.0.113.51:45001");
    expect(spoofed).toMatchObject({ action: "reply", status: 403 });
    // The same request on the PBX socket reaches the tenant's phone.
    const real = await decide(request("INVITE", "sip:501@127.0.0.1:5060", { ip: "10.5.0.1", port: 5080 }, "pbx"));
    expect(hops(real)).toEqual(["phones:203.0.113.51:45001"]);
  });

  it("the PBX socket serves the tenants' Asterisk boxes only: an unknown source there gets 403, a REGISTER too", async () => {
    expect(await decide(request("INVITE", `sip:501@${S}`, { ip: "203.0.113.99", port: 5070 }, "pbx"))).toMatchObject({ action: "reply", status: 403 });
    const reg = { ...registerEvent({ user: "502", domain: S, contacts: ["sip:502@192.168.5.3"] }), localRole: "pbx" as const };
    expect(await decide(reg)).toMatchObject({ action: "reply", status: 403 });
  });

  it("one shared socket (and an older gateway that does not say) decides by source as before", async () => {
    expect(hops(await decide(request("INVITE", "sip:501@127.0.0.1:5060", { ip: "10.5.0.1", port: 7000 }, "shared")))).toEqual(["phones:203.0.113.51:45001"]);
    expect(hops(await decide(request("INVITE", "sip:501@127.0.0.1:5060", { ip: "10.5.0.1", port: 7000 })))).toEqual(["phones:203.0.113.51:45001"]);
  });

  it("a destination with requirePort is that tenant's Asterisk only from its own port", async () => {
    expect(hops(await decide(request("INVITE", "sip:501@127.0.0.1:5060", { ip: "10.5.0.2", port: 5080 })))).toEqual(["phones:203.0.113.52:45002"]);
    // From another port it is no Asterisk: a request like any phone's, here for no tenant's domain.
    expect(await decide(request("INVITE", "sip:501@127.0.0.1:5060", { ip: "10.5.0.2", port: 5081 }))).toMatchObject({ action: "reply", status: 403 });
  });
});

describe("the opt-in any-domain lookup", () => {
  it("sends a non-Asterisk's request for a user of one tenant to that tenant's Asterisk, never straight to a phone", async () => {
    const client = createClient({ url: env.LIBSQL_URL, authToken: env.LIBSQL_AUTH_TOKEN });
    const store = createLibsqlStore(drizzle(client));
    await registerPhone("5777", S, "sip:5777@192.168.5.7:5070", { ip: "203.0.113.57", port: 45007 });
    const tenants = buildTenantDirectory(await store.loadTenants());
    // A scanner's INVITE to the gateway's address: no tenant domain anywhere in it.
    const ev = parseRequestEvent(request("INVITE", "sip:5777@198.51.100.1", { ip: "192.0.2.66", port: 5060 }, "phones", "sip:scanner@198.51.100.1"));
    const d = (await decideRoute(ev, { tenants, store, now: Date.now(), anyDomainLookup: true, log: () => {} })) as AnyDecision;
    expect(hops(d)).toEqual(["pbx:10.5.0.1:5080"]);
    // Off (the default): refused.
    const off = (await decideRoute(ev, { tenants, store, now: Date.now(), anyDomainLookup: false, log: () => {} })) as AnyDecision;
    expect(off).toMatchObject({ action: "reply", status: 403 });
  });
});

describe("admin API guards", () => {
  it("refuses a destination that would make another tenant's source ambiguous, with a reason", async () => {
    // S has sip:10.5.0.1:5080 matched by IP alone: another tenant on 10.5.0.1 would make its requests ambiguous.
    const shared = await admin("POST", "/tenants", { domain: "src-b.example", destinations: ["sip:10.5.0.1:5090"] });
    expect(shared.status).toBe(409);
    expect(((await shared.json()) as { error: string }).error).toMatch(/shares its IP with tenant src-a\.example.*requirePort/);
    // Requiring the port on the new one alone is not enough: S's Asterisk still matches from any port.
    expect((await admin("POST", "/tenants", { domain: "src-b.example", destinations: [{ uri: "sip:10.5.0.1:5090", requirePort: true }] })).status).toBe(409);
    // The very same address can never be two tenants'.
    expect((await admin("POST", "/tenants", { domain: "src-b.example", destinations: [{ uri: "sip:10.5.0.2:5080", requirePort: true }] })).status).toBe(409);
    expect((await admin("GET", "/tenants/src-b.example")).status).toBe(404);
  });

  it("accepts a shared IP when every destination on it requires its port, and shows requirePort", async () => {
    const res = await admin("POST", "/tenants", { domain: "src-c.example", destinations: [{ uri: "sip:10.5.0.2:5090", requirePort: true }] });
    expect(res.status).toBe(201);
    const { tenant } = (await res.json()) as { tenant: { destinations: { id: number; requirePort: boolean; attrs: string }[] } };
    expect(tenant.destinations[0]).toMatchObject({ requirePort: true, attrs: "require_port=1" });
    // Turning it off again would make 10.5.0.2 ambiguous: refused.
    const off = await admin("PATCH", `/tenants/src-c.example/destinations/${tenant.destinations[0]!.id}`, { requirePort: false });
    expect(off.status).toBe(409);
  });

  it("sets requirePort on an existing destination", async () => {
    await createTenant("src-d.example", "sip:10.5.0.4:5080");
    const t = (await (await admin("GET", "/tenants/src-d.example")).json()) as { tenant: { destinations: { id: number; requirePort: boolean }[] } };
    expect(t.tenant.destinations[0]!.requirePort).toBe(false);
    const on = await admin("PATCH", `/tenants/src-d.example/destinations/${t.tenant.destinations[0]!.id}`, { requirePort: true });
    expect(on.status).toBe(200);
    expect(await on.json()).toMatchObject({ destination: { requirePort: true, uri: "sip:10.5.0.4:5080" } });
    expect((await admin("PATCH", "/tenants/src-d.example/destinations/999999", { requirePort: true })).status).toBe(404);
    expect((await admin("PATCH", `/tenants/src-d.example/destinations/${t.tenant.destinations[0]!.id}`, { requirePort: "yes" })).status).toBe(400);
  });

  it("refuses IP-literal and single-label tenant domains unless allowUnusualDomain", async () => {
    for (const domain of ["198.51.100.1", "[2001:db8::1]", "localhost", "pbx"]) {
      const res = await admin("POST", "/tenants", { domain, destinations: ["sip:10.5.9.1"] });
      expect(res.status, domain).toBe(400);
      expect(((await res.json()) as { error: string }).error, domain).toMatch(/allowUnusualDomain/);
    }
    expect((await admin("POST", "/tenants", { domain: "198.51.100.1", destinations: ["sip:10.5.9.1"], allowUnusualDomain: true })).status).toBe(201);
    expect((await admin("POST", "/tenants", { domain: "pbx", destinations: ["sip:10.5.9.2"], allowUnusualDomain: true })).status).toBe(201);
  });

  it("removes a tenant with more bindings than one delete batch", async () => {
    await createTenant("src-bulk.example", "sip:10.5.8.1");
    const client = createClient({ url: env.LIBSQL_URL, authToken: env.LIBSQL_AUTH_TOKEN });
    const far = Math.floor(Date.now() / 1000) + 3600;
    await client.execute({
      sql: `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1234)
            INSERT INTO location (username, domain, contact, expires, ruid) SELECT 'u' || i, 'src-bulk.example', 'sip:u' || i || '@192.0.2.1', ?, 'r' || i FROM n`,
      args: [far],
    });
    const del = await admin("DELETE", "/tenants/src-bulk.example");
    expect(await del.json()).toEqual({ deleted: "src-bulk.example", bindingsRemoved: 1234 });
    expect(await bindingsOf("u1@src-bulk.example")).toEqual([]);
  });
});

describe("before authentication", () => {
  it("a gateway event over the size limit gets 413 without being read or authenticated", async () => {
    const huge = "x".repeat(600 * 1024);
    const res = await self.fetch(new Request("http://worker/v1/request", { method: "POST", body: huge }));
    expect(res.status).toBe(413);
  });

  it("an admin body over the size limit gets 413, and a caller without the token learns only 'unauthorized'", async () => {
    const res = await admin("POST", "/tenants", { domain: "big.example", destinations: ["sip:10.5.9.9"], pad: "x".repeat(300 * 1024) }, "");
    expect(res.status).toBe(413);
    const denied = await admin("GET", "/tenants", undefined, "wrong-token");
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({ error: "unauthorized" });
  });
});
