// The worker names the tenant in its decisions (contract/v1.ts `tenant`): the gateway labels its
// rollback-trigger metrics with it. Strangers' requests name none, so they cannot create a label.
import { describe, expect, it } from "vitest";
import type { RequestEventInput } from "../../contract/v1";
import { createTenant, decide, registerEvent, requestEvent } from "./support";

await createTenant("tl-a.example", "sip:10.41.0.1:5080");

const request = (method: string, ruri: string, source: { ip: string; port: number }) =>
  requestEvent(method, ruri, source, { from: "sip:100@elsewhere.invalid" });

describe("the tenant in the worker's decisions", () => {
  it("a REGISTER relayed to the tenant's Asterisk names the tenant; one for an unknown domain names none", async () => {
    const relay = await decide(registerEvent({ user: "301", domain: "tl-a.example", contacts: ["sip:301@192.168.9.1:5070"] }));
    expect(relay).toMatchObject({ action: "relay", tenant: "tl-a.example" });
    const refused = (await decide(registerEvent({ user: "301", domain: "stranger.invalid", contacts: ["sip:301@192.168.9.1:5070"] }))) as Record<string, unknown>;
    expect(refused).toMatchObject({ action: "reply", status: 403 });
    expect(refused["tenant"]).toBeUndefined();
  });

  it("a request from the tenant's Asterisk names the tenant, a 404 for an unregistered user included", async () => {
    expect(await decide(request("INVITE", "sip:399@127.0.0.1:5060", { ip: "10.41.0.1", port: 5080 }))).toMatchObject({ action: "reply", status: 404, tenant: "tl-a.example" });
  });

  it("a phone's request to the tenant's domain is relayed to its Asterisk with the tenant; an unknown source and domain names none", async () => {
    expect(await decide(request("INVITE", "sip:100@tl-a.example", { ip: "192.0.2.77", port: 5070 }))).toMatchObject({ action: "relay", tenant: "tl-a.example" });
    const refused = (await decide(request("INVITE", "sip:100@stranger.invalid", { ip: "192.0.2.77", port: 5070 }))) as Record<string, unknown>;
    expect(refused).toMatchObject({ action: "reply", status: 403 });
    expect(refused["tenant"]).toBeUndefined();
  });
});
