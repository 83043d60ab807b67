// Destination choice: active destinations only, priority groups, stable weighted hashing, and the ordered
// alternatives a retry would use.
import { describe, expect, it } from "vitest";
import type { Destination, Tenant } from "../../../worker/src/store/store";
import { failoverTarget, orderedDestinations, selectDestination, stableHash } from "../../../worker/src/tenants/dispatcher-select";
import { destination as dest, tenant as tenantOf } from "./tenant-fixtures";

const tenant = (...destinations: Destination[]): Tenant => tenantOf("t.example", destinations, 1);
const uris = (t: Tenant, key: string) => orderedDestinations(t, key).map((s) => s.destination.uri);

describe("dispatcher select", () => {
  it("never picks an inactive (2) or disabled (1) destination", () => {
    const t = tenant(dest("sip:10.0.0.1", { state: 2 }), dest("sip:10.0.0.2", { state: 1 }), dest("sip:10.0.0.3"));
    for (const key of ["a", "b", "c", "d", "e"]) expect(selectDestination(t, key)?.destination.uri).toBe("sip:10.0.0.3");
    expect(uris(t, "a")).toEqual(["sip:10.0.0.3"]);
    expect(selectDestination(tenant(dest("sip:10.0.0.1", { state: 2 }), dest("sip:10.0.0.2", { state: 1 })), "a")).toBeUndefined();
  });

  it("hashes a key over the active destinations: an AoR on a failed box moves, the others stay", () => {
    const a = dest("sip:10.0.0.1");
    const b = dest("sip:10.0.0.2");
    const both = tenant(a, b);
    const keys = Array.from({ length: 40 }, (_, i) => `${200 + i}@t.example`);
    const onA = keys.filter((k) => selectDestination(both, k)?.destination === a);
    const onB = keys.filter((k) => selectDestination(both, k)?.destination === b);
    expect(onA.length).toBeGreaterThan(0);
    expect(onB.length).toBeGreaterThan(0);
    for (const k of onA) expect(stableHash(k) % 2).toBe(0);
    const aDown = tenant({ ...a, state: 2 }, b);
    for (const k of keys) expect(selectDestination(aDown, k)?.destination.uri).toBe("sip:10.0.0.2");
  });

  it("orders alternatives: the selected one, the rest of its group, then lower priorities", () => {
    const t = tenant(
      dest("sip:10.0.0.1", { priority: 1 }),
      dest("sip:10.0.0.2", { priority: 1 }),
      dest("sip:10.0.0.3", { priority: 1 }),
      dest("sip:10.0.0.9", { priority: 0 }),
      dest("sip:10.0.0.8", { priority: 0, state: 2 }),
    );
    for (const key of ["x", "y", "z", "w"]) {
      const order = uris(t, key);
      expect(order[0]).toBe(selectDestination(t, key)?.destination.uri);
      expect([...order.slice(0, 3)].sort()).toEqual(["sip:10.0.0.1", "sip:10.0.0.2", "sip:10.0.0.3"]);
      expect(order.slice(3)).toEqual(["sip:10.0.0.9"]);
    }
    // The top group entirely inactive: the lower group serves.
    const fallback = tenant(dest("sip:10.0.0.1", { priority: 1, state: 2 }), dest("sip:10.0.0.9", { priority: 0 }));
    expect(selectDestination(fallback, "x")?.destination.uri).toBe("sip:10.0.0.9");
  });
});

describe("failover target", () => {
  it("the selected box as next hop, the other usable ones in retry order as alternatives, each address once", () => {
    const t = tenant(
      dest("sip:10.0.0.1:5080", { priority: 1 }),
      dest("sip:10.0.0.2:5080", { priority: 1, state: 1 }),
      dest("sip:10.0.0.3:5080", { priority: 0 }),
      // A second row for the first box's address (another tenant shares it, say): not tried twice.
      dest("sip:10.0.0.1:5080", { priority: 0 }),
    );
    expect(failoverTarget(t, "401@t.example")).toEqual({
      nextHop: { ip: "10.0.0.1", port: 5080, transport: "udp" },
      alternatives: [{ ip: "10.0.0.3", port: 5080, transport: "udp" }],
    });
  });

  it("one usable box: no alternatives; none: undefined", () => {
    expect(failoverTarget(tenant(dest("sip:10.0.0.1"), dest("sip:10.0.0.2", { state: 2 })), "k")).toEqual({ nextHop: { ip: "10.0.0.1", port: 5060, transport: "udp" } });
    expect(failoverTarget(tenant(dest("sip:10.0.0.1", { state: 1 })), "k")).toBeUndefined();
  });
});
