import { describe, expect, it } from "vitest";
import type { Tenant } from "../../../worker/src/store/store";
import { normaliseIp } from "../../../worker/src/routing/source-tenant";
import { destination, newSetId, tenantOfSource, tenant as tenantOf } from "./tenant-fixtures";

function tenant(domain: string, ...uris: string[]): Tenant {
  const setid = newSetId();
  return tenantOf(
    domain,
    uris.map((uri) => destination(uri, { setid })),
    setid,
  );
}
const src = (ip: string, port = 5060) => ({ ip, port, transport: "udp" as const });
const domainOf = (r: ReturnType<typeof tenantOfSource>) => (r.kind === "tenant" ? r.tenant.domain : r.kind);

describe("tenant of a request's source address", () => {
  const a = tenant("a.example", "sip:10.0.1.1:5060");
  const b = tenant("b.example", "sip:10.0.1.10:5060");

  it("matches the parsed IP exactly: 10.0.1.1 is not 10.0.1.10, in either configuration order", () => {
    for (const tenants of [[a, b], [b, a]]) {
      expect(domainOf(tenantOfSource(tenants, src("10.0.1.1")))).toBe("a.example");
      expect(domainOf(tenantOfSource(tenants, src("10.0.1.10")))).toBe("b.example");
      expect(domainOf(tenantOfSource(tenants, src("10.0.1.100")))).toBe("unknown");
      expect(domainOf(tenantOfSource(tenants, src("10.0.1.")))).toBe("unknown");
    }
  });

  it("matches on IP alone when one tenant has that IP, whatever the source port", () => {
    expect(domainOf(tenantOfSource([a, b], src("10.0.1.1", 40123)))).toBe("a.example");
  });

  it("lets the source port decide when tenants share an IP", () => {
    const c = tenant("c.example", "sip:10.0.2.1:5060");
    const d = tenant("d.example", "sip:10.0.2.1:5070");
    expect(domainOf(tenantOfSource([c, d], src("10.0.2.1", 5060)))).toBe("c.example");
    expect(domainOf(tenantOfSource([c, d], src("10.0.2.1", 5070)))).toBe("d.example");
  });

  it("refuses to guess when a shared IP's port matches no tenant or several", () => {
    const c = tenant("c.example", "sip:10.0.2.1:5060");
    const d = tenant("d.example", "sip:10.0.2.1:5070");
    const e = tenant("e.example", "sip:10.0.2.1:5070");
    expect(tenantOfSource([c, d], src("10.0.2.1", 6000))).toEqual({ kind: "ambiguous", domains: ["c.example", "d.example"] });
    expect(tenantOfSource([c, d, e], src("10.0.2.1", 5070))).toEqual({ kind: "ambiguous", domains: ["d.example", "e.example"] });
  });

  it("a destination without a port means 5060 for port disambiguation", () => {
    const c = tenant("c.example", "sip:10.0.3.1");
    const d = tenant("d.example", "sip:10.0.3.1:5080");
    expect(domainOf(tenantOfSource([c, d], src("10.0.3.1", 5060)))).toBe("c.example");
  });

  it("compares IPv6 addresses in canonical form", () => {
    const v6 = tenant("v6.example", "sip:[2001:db8::1]:5060");
    expect(domainOf(tenantOfSource([v6], src("2001:db8:0:0:0:0:0:1")))).toBe("v6.example");
    expect(domainOf(tenantOfSource([v6], src("2001:db8::10")))).toBe("unknown");
    expect(normaliseIp("::ffff:10.0.0.1")).toBe("10.0.0.1");
  });

  it("ignores destinations that are not IP URIs", () => {
    const n = tenant("n.example", "sip:pbx.n.example:5060");
    expect(domainOf(tenantOfSource([n], src("10.0.0.1")))).toBe("unknown");
  });
});
