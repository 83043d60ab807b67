import { describe, expect, it } from "vitest";
import { admin, ADMIN_TOKEN, createTenant } from "./support";

describe("admin API", () => {
  it("refuses requests without the bearer token, or with a wrong one", async () => {
    expect((await admin("GET", "/tenants", undefined, "")).status).toBe(401);
    expect((await admin("GET", "/tenants", undefined, ADMIN_TOKEN + "x")).status).toBe(401);
  });

  it("reports the store healthy", async () => {
    const res = await admin("GET", "/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", store: "ok" });
  });

  it("creates, shows, lists and deletes a tenant with its dispatcher set", async () => {
    const res = await admin("POST", "/tenants", {
      domain: "Admin-One.example",
      destinations: ["sip:10.9.0.1:5080", { uri: "sip:10.9.0.2", weight: 2, priority: 1 }],
    });
    expect(res.status).toBe(201);
    const { tenant } = (await res.json()) as { tenant: { domain: string; setid: number; destinations: { uri: string; weight: number; priority: number }[] } };
    expect(tenant.domain).toBe("admin-one.example");
    expect(tenant.destinations.map((d) => [d.uri, d.weight, d.priority])).toEqual([
      ["sip:10.9.0.1:5080", 1, 0],
      ["sip:10.9.0.2", 2, 1],
    ]);
    const shown = (await (await admin("GET", "/tenants/admin-one.example")).json()) as { tenant: { setid: number } };
    expect(shown.tenant.setid).toBe(tenant.setid);
    const list = (await (await admin("GET", "/tenants")).json()) as { tenants: { domain: string }[] };
    expect(list.tenants.map((t) => t.domain)).toContain("admin-one.example");
    const del = await admin("DELETE", "/tenants/admin-one.example");
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ deleted: "admin-one.example", bindingsRemoved: 0 });
    expect((await admin("GET", "/tenants/admin-one.example")).status).toBe(404);
    expect((await admin("DELETE", "/tenants/admin-one.example")).status).toBe(404);
  });

  it("gives each new tenant its own dispatcher set", async () => {
    await createTenant("admin-set-a.example", "sip:10.9.1.1");
    await createTenant("admin-set-b.example", "sip:10.9.1.2");
    const a = (await (await admin("GET", "/tenants/admin-set-a.example")).json()) as { tenant: { setid: number } };
    const b = (await (await admin("GET", "/tenants/admin-set-b.example")).json()) as { tenant: { setid: number } };
    expect(a.tenant.setid).not.toBe(b.tenant.setid);
  });

  it("answers 409 for a domain that exists, leaving it unchanged", async () => {
    await createTenant("admin-dup.example", "sip:10.9.2.1");
    const res = await admin("POST", "/tenants", { domain: "admin-dup.example", destinations: ["sip:10.9.2.9"] });
    expect(res.status).toBe(409);
    const { tenant } = (await (await admin("GET", "/tenants/admin-dup.example")).json()) as { tenant: { destinations: { uri: string }[] } };
    expect(tenant.destinations.map((d) => d.uri)).toEqual(["sip:10.9.2.1"]);
  });

  const bad: [string, unknown, RegExp][] = [
    ["no domain", { destinations: ["sip:10.0.0.1"] }, /domain is required/],
    ["a domain that is not a string", { domain: 5, destinations: ["sip:10.0.0.1"] }, /domain must be a string/],
    ["a body that is an array", [{ domain: "x.example", destinations: ["sip:10.0.0.1"] }], /body must be a JSON object/],
    ["a domain that is not a host name", { domain: "bad domain!", destinations: ["sip:10.0.0.1"] }, /not a valid host name/],
    ["no destinations", { domain: "x.example", destinations: [] }, /non-empty array/],
    ["a destination that is not a SIP URI", { domain: "x.example", destinations: ["http://10.0.0.1"] }, /not a SIP URI/],
    ["a destination with a host name", { domain: "x.example", destinations: ["sip:pbx.x.example"] }, /must be an IP address/],
    ["a TCP destination", { domain: "x.example", destinations: ["sip:10.0.0.1;transport=tcp"] }, /only UDP/],
    ["a bad weight", { domain: "x.example", destinations: [{ uri: "sip:10.0.0.1", weight: -1 }] }, /weight/],
  ];
  for (const [name, body, reason] of bad) {
    it(`answers 400 with a reason for ${name}, and creates nothing`, async () => {
      const res = await admin("POST", "/tenants", body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(reason);
      expect((await admin("GET", "/tenants/x.example")).status).toBe(404);
    });
  }

  it("answers 400 for a body that is not JSON", async () => {
    const res = await admin("POST", "/tenants", undefined);
    expect(res.status).toBe(400);
  });

  it("validates binding queries", async () => {
    expect((await admin("GET", "/bindings?aor=nodomain")).status).toBe(400);
    expect((await admin("GET", "/bindings?limit=0")).status).toBe(400);
    expect((await admin("GET", "/bindings/abc")).status).toBe(400);
    expect((await admin("GET", "/bindings/999999")).status).toBe(404);
    expect((await admin("DELETE", "/aors/nobody@nowhere.example")).status).toBe(404);
    expect((await admin("DELETE", "/aors/missing-at")).status).toBe(400);
  });
});
