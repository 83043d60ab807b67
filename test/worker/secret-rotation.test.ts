// Secret rotation without downtime (docs/operations.md, "Rotating secrets"): during the window the worker
// accepts the previous gateway secret (signatures, sealed contexts) and the previous admin token; once the
// previous value is removed, only the current one. Each phase is the same worker code with other bindings.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { importHmacKey, signRequest } from "../../contract/signing";
import { PING_PATH } from "../../contract/v1";
import { createApp } from "../../worker/src/app";
import type { Env } from "../../worker/src/config/env";
import { type AnyDecision, createTenant, registerEvent, responseEvent, upstreamUri } from "./support";

const OLD_SECRET = "rotation-old-gateway-secret-0123";
const NEW_SECRET = "rotation-new-gateway-secret-4567";
const OLD_TOKEN = "rotation-old-admin-token";
const NEW_TOKEN = "rotation-new-admin-token";

const app = createApp();
const base = env as unknown as Env;
/** Before: only the old values. Window: new values, old ones as *_PREVIOUS. After: only the new values. */
const before: Env = { ...base, GATEWAY_SECRET: OLD_SECRET, ADMIN_TOKEN: OLD_TOKEN };
const windowEnv: Env = { ...base, GATEWAY_SECRET: NEW_SECRET, GATEWAY_SECRET_PREVIOUS: OLD_SECRET, ADMIN_TOKEN: NEW_TOKEN, ADMIN_TOKEN_PREVIOUS: OLD_TOKEN };
const after: Env = { ...base, GATEWAY_SECRET: NEW_SECRET, ADMIN_TOKEN: NEW_TOKEN };

async function signed(bindings: Env, secret: string, path: string, body: unknown): Promise<Response> {
  const text = JSON.stringify(body);
  const headers = await signRequest(await importHmacKey(secret), path, text, Date.now());
  return app.fetch(new Request(`http://worker${path}`, { method: "POST", body: text, headers: { ...headers, "content-type": "application/json" } }), bindings);
}

async function adminGet(bindings: Env, token: string): Promise<Response> {
  return app.fetch(new Request("http://worker/admin/v1/tenants", { headers: { authorization: `Bearer ${token}` } }), bindings);
}

describe("gateway secret rotation", () => {
  it("accepts signatures made with either secret during the window, only the current one after", async () => {
    expect((await signed(before, OLD_SECRET, PING_PATH, {})).status).toBe(200);
    expect((await signed(before, NEW_SECRET, PING_PATH, {})).status).toBe(401);
    expect((await signed(windowEnv, OLD_SECRET, PING_PATH, {})).status).toBe(200);
    expect((await signed(windowEnv, NEW_SECRET, PING_PATH, {})).status).toBe(200);
    expect((await signed(after, NEW_SECRET, PING_PATH, {})).status).toBe(200);
    const stale = await signed(after, OLD_SECRET, PING_PATH, {});
    expect(stale.status).toBe(401);
    // Unauthenticated callers learn nothing more than that (the reason is logged).
    expect(((await stale.json()) as { error: string }).error).toBe("unauthorized");
  });

  it("opens a context sealed with the previous secret during the window, and refuses it after", async () => {
    await createTenant("rotation.example", "sip:192.0.2.80:5060");
    // A REGISTER decided by a worker that still had only the old secret: its context is sealed with it.
    const ev = registerEvent({ user: "9371", domain: "rotation.example", contacts: ["sip:9371@192.0.2.81:5070"], callId: "rotation-1" });
    const decision = (await (await signed(before, OLD_SECRET, "/v1/request", ev)).json()) as AnyDecision;
    expect(decision.action).toBe("relay");
    const contact = decision.targets?.[0]?.contacts?.[0];
    expect(contact).toBeDefined();
    const granted = responseEvent(200, decision.context ?? "", [{ uri: upstreamUri(contact!), expires: 60 }]);
    // The 200 comes back after the gateways moved to the new secret.
    expect((await signed(windowEnv, NEW_SECRET, "/v1/response", granted)).status).toBe(200);
    const refused = await signed(after, NEW_SECRET, "/v1/response", granted);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toMatch(/context is invalid/);
  });

  it("refuses a previous secret shorter than 16 characters", async () => {
    const res = await signed({ ...windowEnv, GATEWAY_SECRET_PREVIOUS: "short" }, NEW_SECRET, PING_PATH, {});
    expect(res.status).toBe(500);
  });
});

describe("admin token rotation", () => {
  it("accepts either token during the window, only the current one after", async () => {
    expect((await adminGet(before, OLD_TOKEN)).status).toBe(200);
    expect((await adminGet(before, NEW_TOKEN)).status).toBe(401);
    expect((await adminGet(windowEnv, OLD_TOKEN)).status).toBe(200);
    expect((await adminGet(windowEnv, NEW_TOKEN)).status).toBe(200);
    expect((await adminGet(after, NEW_TOKEN)).status).toBe(200);
    expect((await adminGet(after, OLD_TOKEN)).status).toBe(401);
  });

  it("an empty ADMIN_TOKEN_PREVIOUS ends the window", async () => {
    expect((await adminGet({ ...after, ADMIN_TOKEN_PREVIOUS: "" }, OLD_TOKEN)).status).toBe(401);
  });

  it("keeps an admin page session issued under the previous token during the window, not after", async () => {
    const login = await app.fetch(
      new Request("https://admin.example/admin/ui/login", {
        method: "POST",
        body: new URLSearchParams({ token: OLD_TOKEN }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://admin.example" },
        redirect: "manual",
      }),
      before,
    );
    expect(login.status).toBe(303);
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
    const page = (bindings: Env) => app.fetch(new Request("https://admin.example/admin/ui", { headers: { cookie }, redirect: "manual" }), bindings);
    expect((await page(windowEnv)).status).toBe(200);
    expect((await page(after)).status).toBe(303);
  });
});
