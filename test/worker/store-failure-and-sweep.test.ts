import { env as runtimeEnv } from "cloudflare:workers";
import type { Env } from "../../worker/src/config/env";
import { createScheduledController, createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../worker/src/index";
import { importHmacKey, signRequest } from "../../contract/signing";
import { admin, bindingsOf, createTenant, decide, decideResponse, registerEvent, responseEvent, upstreamUri } from "./support";

const env = runtimeEnv as unknown as Env;
const D = "fail.example";
await createTenant(D, "sip:10.2.0.11:5080");

describe("when the store fails after a 2xx", () => {
  it("the phone gets a 500 with Retry-After instead of the 200", async () => {
    const d = await decide(registerEvent({ user: "401", domain: D, contacts: ["sip:401@10.2.0.1:5070"] }));
    const up = (d.targets?.[0]?.contacts ?? []).map(upstreamUri);
    // The same worker code with the store unreachable (a closed port).
    const brokenEnv = { ...env, LIBSQL_URL: "http://127.0.0.1:9" };
    const body = JSON.stringify(responseEvent(200, d.context ?? "", up.map((uri) => ({ uri, expires: 60 }))));
    const headers = await signRequest(await importHmacKey("worker-test-gateway-secret-0123"), "/v1/response", body, Date.now());
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request("http://worker/v1/response", { method: "POST", body, headers }), brokenEnv, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ action: "reply", status: 500, headers: [["Retry-After", "5"]] });
    expect(await bindingsOf(`401@${D}`)).toEqual([]);
  });

  it("the admin health check reports the store down with 503", async () => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request("http://worker/admin/v1/health", { headers: { authorization: "Bearer worker-test-admin-token" } }),
      { ...env, LIBSQL_URL: "http://127.0.0.1:9" },
      ctx,
    );
    expect(res.status).toBe(503);
    expect(((await res.json()) as { status: string }).status).toBe("degraded");
  });
});

describe("the scheduled sweep", () => {
  it("deletes bindings that expired and keeps the others", async () => {
    const shortLived = await decide(registerEvent({ user: "402", domain: D, contacts: ["sip:402@10.2.0.2:5070"] }));
    await decideResponse(responseEvent(200, shortLived.context ?? "", (shortLived.targets?.[0]?.contacts ?? []).map(upstreamUri).map((uri) => ({ uri, expires: 1 }))));
    const longLived = await decide(registerEvent({ user: "403", domain: D, contacts: ["sip:403@10.2.0.3:5070"] }));
    await decideResponse(responseEvent(200, longLived.context ?? "", (longLived.targets?.[0]?.contacts ?? []).map(upstreamUri).map((uri) => ({ uri, expires: 600 }))));
    expect(await bindingsOf(`402@${D}`)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 2100));
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await bindingsOf(`402@${D}`)).toEqual([]);
    expect(await bindingsOf(`403@${D}`)).toHaveLength(1);
  });
});

describe("binding administration", () => {
  it("lists per tenant and per AoR, shows one, deletes one, deletes an AoR", async () => {
    for (const [user, host] of [["404", "10.2.0.4"], ["404", "10.2.0.5"], ["405", "10.2.0.6"]] as const) {
      const d = await decide(registerEvent({ user, domain: D, contacts: [`sip:${user}@${host}:5070`] }));
      await decideResponse(responseEvent(200, d.context ?? "", (d.targets?.[0]?.contacts ?? []).map(upstreamUri).map((uri) => ({ uri, expires: 600 }))));
    }
    const perTenant = (await (await admin("GET", `/bindings?domain=${D}`)).json()) as { bindings: { id: number; username: string }[] };
    expect(perTenant.bindings.filter((b) => ["404", "405"].includes(b.username))).toHaveLength(3);
    const of404 = await bindingsOf(`404@${D}`);
    expect(of404).toHaveLength(2);
    const one = await admin("GET", `/bindings/${of404[0]!.id}`);
    expect(((await one.json()) as { binding: { contact: string } }).binding.contact).toBe(of404[0]!.contact);
    expect((await admin("DELETE", `/bindings/${of404[0]!.id}`)).status).toBe(200);
    expect(await bindingsOf(`404@${D}`)).toHaveLength(1);
    const del = await admin("DELETE", `/aors/${encodeURIComponent(`404@${D}`)}`);
    expect(await del.json()).toEqual({ deleted: 1 });
    expect(await bindingsOf(`405@${D}`)).toHaveLength(1);
  });

  it("deleting a tenant removes its bindings", async () => {
    await createTenant("gone.example", "sip:10.2.9.9");
    const d = await decide(registerEvent({ user: "406", domain: "gone.example", contacts: ["sip:406@10.2.0.7:5070"] }));
    await decideResponse(responseEvent(200, d.context ?? "", (d.targets?.[0]?.contacts ?? []).map(upstreamUri).map((uri) => ({ uri, expires: 600 }))));
    const res = await admin("DELETE", "/tenants/gone.example");
    expect(await res.json()).toEqual({ deleted: "gone.example", bindingsRemoved: 1 });
    expect(await bindingsOf("406@gone.example")).toEqual([]);
  });
});
