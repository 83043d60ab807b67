import { describe, expect, it } from "vitest";
import type { Destination, Tenant } from "../../../worker/src/store/store";
import { destinationAddress, parseDestination } from "../../../worker/src/tenants/destination-uri";
import { failoverTarget } from "../../../worker/src/tenants/dispatcher-select";
import { buildTenantDirectory } from "../../../worker/src/tenants/tenant-directory";
import { destination, tenant } from "./tenant-fixtures";

/** A destination whose URI reads are counted: a parse reads it, a cached address does not. */
function countedDestination(setid: number, uri: string): { destination: Destination; reads: () => number } {
  let reads = 0;
  const d = destination(uri, { setid });
  Object.defineProperty(d, "uri", {
    get() {
      reads++;
      return uri;
    },
  });
  return { destination: d, reads: () => reads };
}

describe("parsed dispatcher destinations", () => {
  it("parse sip: URIs with an IP host over UDP, and refuse the rest", () => {
    expect(parseDestination("sip:10.7.0.1:5080")).toEqual({ ip: "10.7.0.1", port: 5080, transport: "udp" });
    expect(parseDestination("sip:pbx.example:5080")).toBeUndefined();
    expect(parseDestination("sip:10.7.0.2;transport=tcp")).toBeUndefined();
    expect(parseDestination("sip:[2001:db8::7]")).toEqual({ ip: "2001:db8::7", port: 5060, transport: "udp" });
  });

  it("are parsed once per snapshot object: the same destination gives the same frozen address, a reloaded one is parsed again", () => {
    const d = { uri: "sip:10.7.0.1:5080" };
    const a = destinationAddress(d);
    expect(a).toEqual({ ip: "10.7.0.1", port: 5080, transport: "udp" });
    expect(destinationAddress(d)).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    // A reload brings new objects: an edited URI is honoured, never an address cached under the old one.
    expect(destinationAddress({ uri: "sip:10.7.0.9:5080" })).toEqual({ ip: "10.7.0.9", port: 5080, transport: "udp" });
    const refused = { uri: "sip:pbx.example:5080" };
    expect(destinationAddress(refused)).toBeUndefined();
    expect(destinationAddress(refused)).toBeUndefined();
  });

  it("are parsed when the tenant directory is built: requests after that read no destination URI", () => {
    const tenants: Tenant[] = [];
    const counted: { reads: () => number }[] = [];
    for (let t = 0; t < 50; t++) {
      const a = countedDestination(t + 1, `sip:10.9.${t}.1:5060`);
      const b = countedDestination(t + 1, `sip:10.9.${t}.2:5060`);
      counted.push(a, b);
      tenants.push(tenant(`t${t}.example`, [a.destination, b.destination]));
    }
    const directory = buildTenantDirectory(tenants);
    const afterBuild = counted.map((c) => c.reads());
    expect(afterBuild.every((n) => n === 1)).toBe(true);
    for (let i = 0; i < 100; i++) {
      const t = i % 50;
      const found = directory.bySource({ ip: `10.9.${t}.2`, port: 5060, transport: "udp" });
      expect(found.kind === "tenant" && found.tenant.domain).toBe(`t${t}.example`);
      expect(failoverTarget(tenants[t]!, `40${i}@t${t}.example`)?.nextHop.ip).toMatch(new RegExp(`^10\\.9\\.${t}\\.[12]$`));
    }
    expect(directory.bySource({ ip: "10.9.50.1", port: 5060, transport: "udp" })).toEqual({ kind: "unknown" });
    expect(counted.map((c) => c.reads())).toEqual(afterBuild);
  });
});
