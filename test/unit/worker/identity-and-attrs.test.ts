import { describe, expect, it } from "vitest";
import { ambiguityProblem, domainProblem } from "../../../worker/src/admin/admin-routes";
import { openContext, sealContext } from "../../../worker/src/gateway/context-seal";
import { bindingIdentity } from "../../../worker/src/registrar/binding-identity";
import { parseAttrs, requiresPort, withRequirePort } from "../../../worker/src/routing/destination-attrs";
import type { Tenant } from "../../../worker/src/store/store";
import { destination, newSetId, tenantOfSource, tenant as tenantOf } from "./tenant-fixtures";

describe("binding identity (what the binding token is derived from)", () => {
  it("is the contact alone without NAT and without instance (the token of rows written before ruid)", () => {
    expect(bindingIdentity("sip:201@192.0.2.1:5060", {}, null)).toBe("sip:201@192.0.2.1:5060");
  });

  it("adds the NAT source IP, not its port", () => {
    const a = bindingIdentity("sip:201@192.168.1.10", {}, "sip:203.0.113.1:40000");
    expect(bindingIdentity("sip:201@192.168.1.10", {}, "sip:203.0.113.1:40999")).toBe(a);
    expect(bindingIdentity("sip:201@192.168.1.10", {}, "sip:203.0.113.2:40000")).not.toBe(a);
    expect(bindingIdentity("sip:201@192.168.1.10", {}, "sip:[2001:db8::1]:40000")).toContain("2001:db8::1");
  });

  it("is instance + reg-id when +sip.instance is present, whatever the contact and source (RFC 5626)", () => {
    const p = { "+sip.instance": '"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"', "reg-id": "1" };
    const a = bindingIdentity("sip:201@192.168.1.10", p, "sip:203.0.113.1:1");
    expect(bindingIdentity("sip:201@10.0.0.9:5070", p, null)).toBe(a);
    expect(bindingIdentity("sip:201@192.168.1.10", { ...p, "reg-id": "2" }, "sip:203.0.113.1:1")).not.toBe(a);
  });
});

describe("dispatcher attrs", () => {
  it("reads and writes require_port among other key=value pairs", () => {
    expect(parseAttrs("weight=5; Require_Port=1;flag").get("require_port")).toBe("1");
    expect(requiresPort({ attrs: "duid=a;require_port=1" })).toBe(true);
    expect(requiresPort({ attrs: "require_port=0" })).toBe(false);
    expect(requiresPort({ attrs: null })).toBe(false);
    expect(withRequirePort("duid=a", true)).toBe("duid=a;require_port=1");
    expect(withRequirePort("duid=a;require_port=1", false)).toBe("duid=a");
    expect(withRequirePort("require_port=1", false)).toBeNull();
  });
});

function tenant(domain: string, ...dests: { uri: string; attrs?: string }[]): Tenant {
  const setid = newSetId();
  return tenantOf(
    domain,
    dests.map((d) => destination(d.uri, { setid, attrs: d.attrs ?? null })),
    setid,
  );
}
const src = (ip: string, port: number) => ({ ip, port, transport: "udp" as const });
const kindOf = (r: ReturnType<typeof tenantOfSource>) => (r.kind === "tenant" ? r.tenant.domain : r.kind);

describe("source matching with require_port", () => {
  it("a require_port destination matches its own port only, even as the only tenant on the IP", () => {
    const t = tenant("a.example", { uri: "sip:10.0.0.1:5080", attrs: "require_port=1" });
    expect(kindOf(tenantOfSource([t], src("10.0.0.1", 5080)))).toBe("a.example");
    expect(kindOf(tenantOfSource([t], src("10.0.0.1", 5081)))).toBe("unknown");
  });

  it("two tenants on one IP, both requiring the port: each from its port, anything else unknown (not ambiguous)", () => {
    const a = tenant("a.example", { uri: "sip:10.0.0.2:5080", attrs: "require_port=1" });
    const b = tenant("b.example", { uri: "sip:10.0.0.2:5090", attrs: "require_port=1" });
    expect(kindOf(tenantOfSource([a, b], src("10.0.0.2", 5090)))).toBe("b.example");
    expect(kindOf(tenantOfSource([a, b], src("10.0.0.2", 6000)))).toBe("unknown");
  });
});

describe("admin guards (pure)", () => {
  it("domains: host names yes; IP literals and single labels only when allowed", () => {
    expect(domainProblem("tenant-a.example")).toBeUndefined();
    expect(domainProblem("10.0.0.1")).toMatch(/IP address/);
    expect(domainProblem("[::1]")).toMatch(/IP address/);
    expect(domainProblem("pbx")).toMatch(/single label/);
    expect(domainProblem("10.0.0.1", true)).toBeUndefined();
    expect(domainProblem("pbx", true)).toBeUndefined();
    expect(domainProblem("bad domain", true)).toMatch(/not a valid host name/);
  });

  it("ambiguity: same address always refused; same IP only when both sides require their port", () => {
    const other = tenant("o.example", { uri: "sip:10.1.0.1:5080" });
    const strict = tenant("s.example", { uri: "sip:10.1.0.2:5080", attrs: "require_port=1" });
    expect(ambiguityProblem("n.example", [{ uri: "sip:10.1.0.1:5090", attrs: "require_port=1" }], [other])).toMatch(/o\.example/);
    expect(ambiguityProblem("n.example", [{ uri: "sip:10.1.0.2:5080", attrs: "require_port=1" }], [strict])).toMatch(/cannot belong to two tenants/);
    expect(ambiguityProblem("n.example", [{ uri: "sip:10.1.0.2:5090", attrs: null }], [strict])).toMatch(/requirePort/);
    expect(ambiguityProblem("n.example", [{ uri: "sip:10.1.0.2:5090", attrs: "require_port=1" }], [strict])).toBeUndefined();
    // A tenant's own destinations never conflict with each other.
    expect(ambiguityProblem("o.example", [{ uri: "sip:10.1.0.1:5090", attrs: null }], [other])).toBeUndefined();
  });
});

describe("sealed contexts", () => {
  const key = crypto.subtle.importKey("raw", new TextEncoder().encode("0123456789abcdef0123"), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);

  it("a malformed context opens to undefined and never throws", async () => {
    for (const bad of ["A.A", "AAAAA.AAAAA", "x", ".", "e30.", "e30.A", "!!.!!", "a".repeat(70_000) + ".A"]) {
      await expect(openContext(await key, bad, Date.now(), 40_000), bad.slice(0, 12)).resolves.toBeUndefined();
    }
  });

  it("opens within its lifetime only", async () => {
    const now = Date.now();
    const sealed = await sealContext(await key, { kind: "register" }, now - 39_000);
    expect(await openContext(await key, sealed, now, 40_000)).toEqual({ kind: "register" });
    expect(await openContext(await key, sealed, now + 2_000, 40_000)).toBeUndefined();
  });
});

describe("delta-seconds", () => {
  it("a value beyond 2^32-1 is clamped to it, not refused; non-digits stay undefined", async () => {
    const { deltaSeconds } = await import("../../../worker/src/sip-uri");
    expect(deltaSeconds("3600")).toBe(3600);
    expect(deltaSeconds("4294967295")).toBe(4294967295);
    expect(deltaSeconds("4294967296")).toBe(4294967295);
    expect(deltaSeconds("99999999999999999999999")).toBe(4294967295);
    expect(deltaSeconds("soon")).toBeUndefined();
    expect(deltaSeconds(null)).toBeUndefined();
  });
});
