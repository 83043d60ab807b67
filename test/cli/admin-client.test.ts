import { describe, expect, it } from "vitest";
import { AdminApiError, AdminUnreachableError, createAdminClient } from "../../cli/admin-client";
import type { FetchLike } from "../../cli/admin-client";
import { BINDING_201, jsonResponse, TENANT_A } from "./cli-harness";

interface Sent {
  url: string;
  init: RequestInit;
}

function clientAnswering(answer: Response | ((sent: Sent) => Response | Promise<Response>), baseUrl = "http://admin.test:8787") {
  const sent: Sent[] = [];
  const fetch: FetchLike = async (url, init) => {
    sent.push({ url, init });
    return answer instanceof Response ? answer : answer({ url, init });
  };
  return { client: createAdminClient({ baseUrl, token: "secret", fetch }), sent };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("admin client requests", () => {
  it("sends the bearer token and asks for JSON on every route", async () => {
    const { client, sent } = clientAnswering(jsonResponse(200, { tenants: [] }));
    await client.listTenants();
    expect(sent[0]?.url).toBe("http://admin.test:8787/admin/v1/tenants");
    expect(sent[0]?.init).toMatchObject({
      method: "GET",
      headers: { authorization: "Bearer secret", accept: "application/json" },
      redirect: "manual",
    });
    expect(sent[0]?.init.signal).toBeInstanceOf(AbortSignal);
  });

  it("posts a new tenant as JSON and returns the created tenant", async () => {
    const { client, sent } = clientAnswering(jsonResponse(201, { tenant: TENANT_A }));
    const tenant = await client.createTenant({
      domain: "tenant-a.example",
      destinations: ["sip:127.0.0.11:5080", { uri: "sip:10.0.0.2:5060", weight: 1, priority: 0 }],
    });
    expect(tenant).toEqual(TENANT_A);
    expect(sent[0]?.init.method).toBe("POST");
    expect(sent[0]?.init.headers).toMatchObject({ "content-type": "application/json" });
    expect(JSON.parse(String(sent[0]?.init.body))).toEqual({
      domain: "tenant-a.example",
      destinations: ["sip:127.0.0.11:5080", { uri: "sip:10.0.0.2:5060", weight: 1, priority: 0 }],
    });
  });

  it("encodes path segments and query parameters", async () => {
    const { client, sent } = clientAnswering(({ url }) =>
      url.includes("/bindings?") ? jsonResponse(200, { bindings: [BINDING_201] }) : jsonResponse(200, { deleted: 2 }),
    );
    await client.deleteAor("201@tenant-a.example");
    await client.listBindings({ domain: "tenant-a.example", aor: "201@tenant-a.example", limit: 5 });
    expect(sent.map((s) => s.url)).toEqual([
      "http://admin.test:8787/admin/v1/aors/201%40tenant-a.example",
      "http://admin.test:8787/admin/v1/bindings?domain=tenant-a.example&aor=201%40tenant-a.example&limit=5",
    ]);
  });

  it("keeps a path prefix of the base URL", async () => {
    const { client, sent } = clientAnswering(jsonResponse(200, { status: "ok", store: "ok" }), "https://ops.test/edge/");
    await client.health();
    expect(sent[0]?.url).toBe("https://ops.test/edge/admin/v1/health");
  });

  it("covers every route of the admin API", async () => {
    const { client, sent } = clientAnswering(({ url, init }) => {
      if (url.endsWith("/tenants/tenant-a.example") && init.method === "DELETE") {
        return jsonResponse(200, { deleted: "tenant-a.example", bindingsRemoved: 3 });
      }
      if (url.endsWith("/tenants/tenant-a.example")) return jsonResponse(200, { tenant: TENANT_A });
      if (url.endsWith("/bindings/17") && init.method === "GET") return jsonResponse(200, { binding: BINDING_201 });
      if (url.endsWith("/bindings")) return jsonResponse(200, { bindings: [] });
      return jsonResponse(200, { deleted: 1 });
    });
    expect(await client.getTenant("tenant-a.example")).toEqual(TENANT_A);
    expect(await client.deleteTenant("tenant-a.example")).toEqual({ deleted: "tenant-a.example", bindingsRemoved: 3 });
    expect(await client.listBindings()).toEqual([]);
    expect(await client.getBinding(17)).toEqual(BINDING_201);
    expect(await client.deleteBinding(17)).toEqual({ deleted: 1 });
    expect(sent.map((s) => `${s.init.method} ${s.url.replace("http://admin.test:8787", "")}`)).toEqual([
      "GET /admin/v1/tenants/tenant-a.example",
      "DELETE /admin/v1/tenants/tenant-a.example",
      "GET /admin/v1/bindings",
      "GET /admin/v1/bindings/17",
      "DELETE /admin/v1/bindings/17",
    ]);
  });
});

describe("admin client answers", () => {
  it("reports a degraded store (503) as an unhealthy report, not an error", async () => {
    const { client } = clientAnswering(jsonResponse(503, { status: "degraded", store: "connection refused" }));
    expect(await client.health()).toEqual({ healthy: false, status: "degraded", store: "connection refused" });
  });

  it("throws AdminApiError with the status and the body's error as reason", async () => {
    const { client } = clientAnswering(jsonResponse(409, { error: "domain exists" }));
    const error = await rejection(client.createTenant({ domain: "tenant-a.example", destinations: ["sip:10.0.0.1"] }));
    expect(error).toBeInstanceOf(AdminApiError);
    expect(error).toMatchObject({ status: 409, reason: "domain exists", method: "POST", path: "/admin/v1/tenants" });
  });

  it("falls back to the status text when the error body is not JSON", async () => {
    const { client } = clientAnswering(new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" }));
    expect(await rejection(client.listTenants())).toMatchObject({ status: 502, reason: "Bad Gateway" });
  });

  it("refuses to follow a redirect, which would carry the token elsewhere", async () => {
    const { client } = clientAnswering(new Response(null, { status: 301, headers: { location: "https://elsewhere.test/" } }));
    expect(await rejection(client.listTenants())).toMatchObject({
      status: 301,
      reason: "unexpected redirect to https://elsewhere.test/",
    });
  });

  it("refuses a success answer that is not the documented shape", async () => {
    const { client } = clientAnswering(() => jsonResponse(200, { tenants: "nope" }));
    expect(await rejection(client.listTenants())).toMatchObject({
      status: 200,
      reason: "unexpected answer: 'tenants' is not an array of objects",
    });
    const notJson = clientAnswering(new Response("ok", { status: 200 }));
    expect(await rejection(notJson.client.listTenants())).toMatchObject({ reason: "answer is not a JSON object" });
  });

  it("throws AdminUnreachableError naming the cause when the connection fails", async () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8787"), { code: "ECONNREFUSED" });
    const { client } = clientAnswering(() => {
      throw new TypeError("fetch failed", { cause: refused });
    });
    const error = await rejection(client.health());
    expect(error).toBeInstanceOf(AdminUnreachableError);
    expect(error).toMatchObject({ url: "http://admin.test:8787", reason: "connection refused" });
  });

  it("reads the code of an AggregateError from a dual-stack connect", async () => {
    const both = new AggregateError([Object.assign(new Error("x"), { code: "ECONNREFUSED" })], "connect failed");
    const { client } = clientAnswering(() => {
      throw new TypeError("fetch failed", { cause: both });
    });
    expect(await rejection(client.health())).toMatchObject({ reason: "connection refused" });
  });

  it("gives up after the timeout when no answer comes", async () => {
    const fetch: FetchLike = (_url, init) =>
      new Promise((_resolve, reject) => {
        init.signal?.addEventListener("abort", () => reject(init.signal?.reason));
      });
    const client = createAdminClient({ baseUrl: "http://admin.test", token: "t", fetch, timeoutMs: 20 });
    const error = await rejection(client.listTenants());
    expect(error).toBeInstanceOf(AdminUnreachableError);
    expect(error).toMatchObject({ reason: "no answer within 0.02 s" });
  });

  it("bounds the reading of the answer body by the same timeout", async () => {
    const fetch: FetchLike = async (_url, init) => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"tenants":'));
          init.signal?.addEventListener("abort", () => controller.error(init.signal?.reason));
        },
      });
      return new Response(body, { status: 200 });
    };
    const client = createAdminClient({ baseUrl: "http://admin.test", token: "t", fetch, timeoutMs: 20 });
    expect(await rejection(client.listTenants())).toBeInstanceOf(AdminUnreachableError);
  });
});
