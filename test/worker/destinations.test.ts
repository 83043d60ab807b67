// Destination state: probe targets, probe reports (guarded transitions), the admin routes, and what the
// decisions do with inactive and disabled destinations. Tenants ds-*.example, PBX addresses 10.19.x.x.
import { describe, expect, it } from "vitest";
import type { DestinationStateAnswer, ProbeTargetsAnswer } from "../../contract/destinations";
import type { RequestEventInput } from "../../contract/v1";
import { admin, createTenant, decide, decideResponse, registerEvent, responseEvent, signedPost, upstreamUri } from "./support";

interface DestinationJson {
  id: number;
  uri: string;
  state: string;
  probing: boolean;
  domains: string[];
}

await createTenant("ds-a.example", "sip:10.19.0.1:5080", "sip:10.19.0.2:5080");
await createTenant("ds-b.example", "sip:10.19.1.1:5080");
await createTenant("ds-c.example", "sip:10.19.2.1:5080");

async function destinations(domain: string): Promise<DestinationJson[]> {
  const res = await admin("GET", `/destinations?domain=${domain}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { destinations: DestinationJson[] }).destinations;
}

async function byUri(domain: string, uri: string): Promise<DestinationJson> {
  const d = (await destinations(domain)).find((x) => x.uri === uri);
  if (!d) throw new Error(`no ${uri} in ${domain}`);
  return d;
}

async function targets(): Promise<ProbeTargetsAnswer["targets"]> {
  const res = await signedPost("/v1/probe-targets", { gateway: "test" });
  expect(res.status).toBe(200);
  return ((await res.json()) as ProbeTargetsAnswer).targets;
}

async function report(changes: { id: number; uri: string; state: "active" | "inactive" }[]): Promise<DestinationStateAnswer["results"]> {
  const res = await signedPost("/v1/destination-state", { gateway: "test-gw", changes });
  expect(res.status).toBe(200);
  return ((await res.json()) as DestinationStateAnswer).results;
}

async function post(path: string, body: unknown): Promise<{ status: number; json: { destinations?: DestinationJson[]; changed?: number; error?: string } }> {
  const res = await admin("POST", path, body);
  return { status: res.status, json: (await res.json()) as { destinations?: DestinationJson[]; changed?: number; error?: string } };
}

async function registerTarget(user: string, domain: string): Promise<{ status?: number; hop?: string; retryAfter?: string }> {
  const d = await decide(registerEvent({ user, domain, contacts: [`sip:${user}@192.168.9.9:5070`], callId: `${user}-${Math.random()}` }));
  const hop = d.targets?.[0]?.nextHop;
  const retry = (d.headers as [string, string][] | undefined)?.find(([n]) => n === "Retry-After")?.[1];
  return { ...(d.status !== undefined ? { status: d.status } : {}), ...(hop ? { hop: `${hop.ip}:${hop.port}` } : {}), ...(retry ? { retryAfter: retry } : {}) };
}

describe("admin: destination list", () => {
  it("shows each destination's URI and state, not probed by default", async () => {
    const list = await destinations("ds-a.example");
    expect(list.map((d) => [d.uri, d.state, d.probing])).toEqual([
      ["sip:10.19.0.1:5080", "active", false],
      ["sip:10.19.0.2:5080", "active", false],
    ]);
    expect(list[0]!.domains).toEqual(["ds-a.example"]);
  });

  it("404 for an unknown tenant, 401 without the token", async () => {
    expect((await admin("GET", "/destinations?domain=nope.example")).status).toBe(404);
    expect((await admin("GET", "/destinations", undefined, "wrong-token-123")).status).toBe(401);
  });
});

describe("probe targets", () => {
  it("lists only destinations with probing on, and never disabled ones", async () => {
    const uri = "sip:10.19.2.1:5080";
    expect((await targets()).some((t) => t.uri === uri)).toBe(false);
    const on = await post("/destinations/probe", { uri, probing: true });
    expect(on.status).toBe(200);
    expect(on.json.destinations?.[0]?.probing).toBe(true);
    expect((await targets()).find((t) => t.uri === uri)).toMatchObject({ ip: "10.19.2.1", port: 5080, state: "active" });
    expect((await post("/destinations/disable", { uri })).status).toBe(200);
    expect((await targets()).some((t) => t.uri === uri)).toBe(false);
    expect((await post("/destinations/enable", { uri })).status).toBe(200);
    expect((await targets()).some((t) => t.uri === uri)).toBe(true);
    await post("/destinations/probe", { uri, probing: false });
    expect((await targets()).some((t) => t.uri === uri)).toBe(false);
  });

  it("needs the gateway's signature", async () => {
    const res = await signedPost("/v1/probe-targets", {}, (h) => {
      h["x-edge-signature"] = "0".repeat(64);
    });
    expect(res.status).toBe(401);
  });
});

describe("probe reports and routing", () => {
  it("an inactive destination gets no REGISTER; the AoR moves to the other box and back", async () => {
    const one = await byUri("ds-a.example", "sip:10.19.0.1:5080");
    const two = await byUri("ds-a.example", "sip:10.19.0.2:5080");
    // Find users hashed to each box while both are active.
    const users: Record<string, string> = {};
    for (let i = 0; i < 40 && Object.keys(users).length < 2; i++) {
      const r = await registerTarget(`3${i}`, "ds-a.example");
      users[r.hop!] ??= `3${i}`;
    }
    const onOne = users["10.19.0.1:5080"]!;
    expect(onOne).toBeDefined();

    expect(await report([{ id: one.id, uri: one.uri, state: "inactive" }])).toEqual([{ id: one.id, state: "inactive", changed: true }]);
    expect((await byUri("ds-a.example", one.uri)).state).toBe("inactive");
    expect((await registerTarget(onOne, "ds-a.example")).hop).toBe("10.19.0.2:5080");
    // A repeated report changes nothing.
    expect(await report([{ id: one.id, uri: one.uri, state: "inactive" }])).toEqual([{ id: one.id, state: "inactive", changed: false }]);

    expect(await report([{ id: one.id, uri: one.uri, state: "active" }])).toEqual([{ id: one.id, state: "active", changed: true }]);
    expect((await registerTarget(onOne, "ds-a.example")).hop).toBe("10.19.0.1:5080");
    expect(two.state).toBe("active");
  });

  it("no active destination: 503 with Retry-After, not a relay into a dead box", async () => {
    const b = await byUri("ds-b.example", "sip:10.19.1.1:5080");
    await report([{ id: b.id, uri: b.uri, state: "inactive" }]);
    expect(await registerTarget("401", "ds-b.example")).toMatchObject({ status: 503, retryAfter: expect.any(String) });
    await report([{ id: b.id, uri: b.uri, state: "active" }]);
    expect((await registerTarget("401", "ds-b.example")).hop).toBe("10.19.1.1:5080");
  });

  it("a probe never overwrites an operator's disable, and a mismatched URI changes nothing", async () => {
    const b = await byUri("ds-b.example", "sip:10.19.1.1:5080");
    expect((await post("/destinations/disable", { uri: "sip:10.19.1.1:5080", domain: "ds-b.example" })).json).toMatchObject({ changed: 1 });
    expect(await report([{ id: b.id, uri: b.uri, state: "active" }])).toEqual([{ id: b.id, state: "disabled", changed: false }]);
    expect(await report([{ id: b.id, uri: b.uri, state: "inactive" }])).toEqual([{ id: b.id, state: "disabled", changed: false }]);
    expect((await byUri("ds-b.example", b.uri)).state).toBe("disabled");
    expect((await registerTarget("401", "ds-b.example")).status).toBe(503);
    // Same address written differently designates the same row; enabling puts it back in service.
    expect((await post("/destinations/enable", { uri: "sip:10.19.1.1:5080;transport=udp" })).json).toMatchObject({ changed: 1 });
    expect((await registerTarget("401", "ds-b.example")).hop).toBe("10.19.1.1:5080");
    expect(await report([{ id: b.id, uri: "sip:10.19.99.99:5080", state: "inactive" }])).toEqual([{ id: b.id, changed: false }]);
    expect((await byUri("ds-b.example", b.uri)).state).toBe("active");
  });

  it("a call from an inactive or disabled box still reaches its tenant's phone", async () => {
    const ev = registerEvent({ user: "501", domain: "ds-a.example", contacts: ["sip:501@192.168.9.50:5070"], callId: "ds-501" });
    const d = await decide(ev);
    const up = (d.targets?.[0]?.contacts ?? []).map(upstreamUri);
    await decideResponse(responseEvent(200, d.context ?? "", up.map((uri) => ({ uri, expires: 600 }))));
    const one = await byUri("ds-a.example", "sip:10.19.0.1:5080");
    await report([{ id: one.id, uri: one.uri, state: "inactive" }]);
    const invite: RequestEventInput = {
      kind: "request",
      transactionId: "z9hG4bKds",
      method: "INVITE",
      requestUri: "sip:501@127.0.0.1:5060",
      headers: [],
      body: "",
      source: { ip: "10.19.0.1", port: 5080, transport: "udp" },
      local: { ip: "127.0.0.1", port: 5060, transport: "udp" },
      receivedAt: Date.now(),
      parsed: {
        callId: "ds-invite",
        cseq: { seq: 1, method: "INVITE" },
        from: { uri: "sip:pbx@10.19.0.1", params: { tag: "x" } },
        to: { uri: "sip:501@127.0.0.1", params: {} },
        contacts: [],
        path: [],
        inDialog: false,
      },
    };
    expect((await decide(invite)).targets?.map((t) => t.requestUri)).toEqual(["sip:501@192.168.9.50:5070"]);
    await post("/destinations/disable", { uri: one.uri });
    expect((await decide(invite)).targets?.map((t) => t.requestUri)).toEqual(["sip:501@192.168.9.50:5070"]);
    await post("/destinations/enable", { uri: one.uri });
  });

  it("admin input errors are 400/404 with a reason", async () => {
    expect((await post("/destinations/disable", { uri: "sip:10.19.77.77:5080" })).status).toBe(404);
    expect((await post("/destinations/disable", { uri: "sip:pbx.example" })).status).toBe(400);
    expect((await post("/destinations/disable", {})).status).toBe(400);
    const array = await post("/destinations/disable", [{ uri: "sip:10.19.0.1:5080" }]);
    expect([array.status, array.json.error]).toEqual([400, "body must be a JSON object"]);
    expect((await post("/destinations/probe", { uri: "sip:10.19.0.1:5080", probing: "yes" })).status).toBe(400);
    expect((await post("/destinations/disable", { uri: "sip:10.19.0.1:5080", domain: "ds-b.example" })).status).toBe(404);
  });
});

describe("the destination admin routes sit behind the admin API's own checks", () => {
  it("a wrong token learns only 'unauthorized', and an oversized body gets 413 before the token is looked at", async () => {
    const denied = await admin("GET", "/destinations", undefined, "wrong-token");
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({ error: "unauthorized" });
    const huge = await admin("POST", "/destinations/disable", { uri: "sip:10.19.0.1:5080", pad: "x".repeat(300 * 1024) }, "");
    expect(huge.status).toBe(413);
  });
});

// Four boxes of one tenant (one to be disabled, one to be found inactive) and a neighbour tenant's box.
await createTenant("ds-fo.example", "sip:10.19.5.1:5080", "sip:10.19.5.2:5080", "sip:10.19.5.3:5080", "sip:10.19.5.4:5080");
await createTenant("ds-fo2.example", "sip:10.19.6.1:5080");

describe("failover alternatives (the gateway tries them in turn within the transaction)", () => {

  const hopsOf = (d: Awaited<ReturnType<typeof decide>>): string[] => {
    const t = d.targets?.[0];
    return t ? [`${t.nextHop?.ip}:${t.nextHop?.port}`, ...(t.alternatives ?? []).map((a) => `${a.ip}:${a.port}`)] : [];
  };

  it("a REGISTER and a phone's INVITE list the tenant's other active boxes, never a disabled, inactive or other tenant's one", async () => {
    expect((await post("/destinations/disable", { uri: "sip:10.19.5.2:5080" })).status).toBe(200);
    const inactive = await byUri("ds-fo.example", "sip:10.19.5.4:5080");
    expect(await report([{ id: inactive.id, uri: inactive.uri, state: "inactive" }])).toHaveLength(1);
    expect((await byUri("ds-fo.example", inactive.uri)).state).toBe("inactive");

    const reg = await decide(registerEvent({ user: "300", domain: "ds-fo.example", contacts: ["sip:300@192.168.9.9:5070"], callId: "fo-reg" }));
    expect(reg.action).toBe("relay");
    expect(hopsOf(reg).sort()).toEqual(["10.19.5.1:5080", "10.19.5.3:5080"]);
    expect(reg.targets![0]!.alternatives).toHaveLength(1);

    const ev: RequestEventInput = {
      ...registerEvent({ user: "300", domain: "ds-fo.example", contacts: [], callId: "fo-inv" }),
      method: "INVITE",
      requestUri: "sip:301@ds-fo.example",
    };
    ev.parsed = { ...ev.parsed, cseq: { seq: 1, method: "INVITE" }, to: { uri: "sip:301@ds-fo.example", params: {} } };
    const inv = await decide(ev);
    expect(inv.action).toBe("relay");
    expect(hopsOf(inv).sort()).toEqual(["10.19.5.1:5080", "10.19.5.3:5080"]);
    // The Request-URI stays the phone's for every box: none is given per alternative.
    expect(inv.targets![0]!.alternatives!.every((a) => a.requestUri === undefined)).toBe(true);
  });

  it("one usable box: no alternatives at all (the gateway behaves as before)", async () => {
    const reg = await decide(registerEvent({ user: "310", domain: "ds-fo2.example", contacts: ["sip:310@192.168.9.9:5070"], callId: "fo2-reg" }));
    expect(hopsOf(reg)).toEqual(["10.19.6.1:5080"]);
    expect(reg.targets![0]!.alternatives).toBeUndefined();
  });
});
