import { createClient } from "@libsql/client/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeRequest, pipeline, startTestStore, type TestStore } from "./helpers";

describe("HTTP surface", () => {
  let store: TestStore;

  beforeAll(async () => {
    store = await startTestStore({ maxBodyBytes: 64 * 1024 });
  });

  afterAll(async () => {
    await store.stop();
  });

  it("answers GET /, /health and /v2", async () => {
    const root = await fetch(`${store.url}/`);
    expect(root.status).toBe(200);
    expect(await root.json()).toMatchObject({ protocols: ["hrana2-http"], engine: { package: "libsql" } });
    const health = await fetch(`${store.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok" });
    expect((await fetch(`${store.url}/v2`)).status).toBe(200);
  });

  it("answers 404 for unknown paths (including /v3-protobuf) and 405 for wrong methods", async () => {
    expect((await fetch(`${store.url}/nope`)).status).toBe(404);
    expect((await fetch(`${store.url}/v3-protobuf`)).status).toBe(404);
    expect((await fetch(`${store.url}/v3/pipeline`, { method: "POST", body: "{}" })).status).toBe(404);
    const wrong = await fetch(`${store.url}/v2/pipeline`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
  });

  it("answers bad JSON with 400 and the reason", async () => {
    const res = await pipeline(store.url, "{not json");
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("BODY_INVALID");
    expect(res.body.message).toMatch(/Invalid JSON/);
    for (const body of ["[]", "null", '{"requests": 5}', '{"baton": 7, "requests": []}']) {
      const bad = await pipeline(store.url, body);
      expect(bad.status, body).toBe(400);
    }
  });

  it("answers a body over the limit with 413", async () => {
    const res = await fetch(`${store.url}/v2/pipeline`, { method: "POST", body: JSON.stringify({ requests: [], pad: "x".repeat(100_000) }) });
    expect(res.status).toBe(413);
  });

  it("fails only the malformed requests of a pipeline", async () => {
    const res = await pipeline(store.url, {
      requests: [
        { type: "bogus" },
        { type: "execute", stmt: { sql: "SELECT ?", args: [{ type: "integer", value: "99999999999999999999" }] } },
        { type: "execute", stmt: { sql: "SELECT ?", args: [{ type: "integer", value: "1.5" }] } },
        { type: "execute", stmt: { sql: "SELECT ?", args: [{ type: "wat" }] } },
        { type: "execute", stmt: { sql: "SELECT ?", args: [{ type: "text", value: "a\u0000b" }] } },
        { type: "execute", stmt: { args: [] } },
        { type: "execute", stmt: { sql: "SELECT 1", sql_id: 1 } },
        { type: "execute", stmt: { sql_id: 12345 } },
        { type: "execute", stmt: { sql: "SELECT 1\u0000; DROP TABLE x" } },
        { type: "batch", batch: { steps: "no" } },
        { type: "execute", stmt: { sql: "SELECT ?, ?", args: [{ type: "float", value: 1.25 }, { type: "blob", base64: "AAEC" }] } },
        "garbage",
        null,
        { type: "close" },
      ],
    });
    expect(res.status).toBe(200);
    const results = res.body.results!;
    expect(results).toHaveLength(14);
    expect(results.map((r) => r.type)).toEqual([
      "error", "error", "error", "error", "error", "error", "error", "error", "error", "error", "ok", "error", "error", "ok",
    ]);
    expect(results[0]!.error!.code).toBe("PROTO_ERROR");
    expect(results[1]!.error!.code).toBe("ARGS_INVALID");
    expect(results[7]!.error!.code).toBe("SQL_NOT_FOUND");
    expect(results[8]!.error!.code).toBe("SQL_INPUT_ERROR");
    const row = (results[10]!.response!["result"] as { rows: unknown[][] }).rows[0];
    expect(row).toEqual([{ type: "float", value: 1.25 }, { type: "blob", base64: "AAEC" }]);
    expect(res.body.baton).toBeNull();
  });

  it("returns a fresh single-use baton and rejects a reused or unknown one with 400", async () => {
    const first = await pipeline(store.url, { requests: [executeRequest("SELECT 1")] });
    expect(first.status).toBe(200);
    const baton = first.body.baton;
    expect(typeof baton).toBe("string");
    expect(first.body.base_url).toBeNull();

    const second = await pipeline(store.url, { baton, requests: [executeRequest("SELECT 2")] });
    expect(second.status).toBe(200);
    expect(second.body.baton).not.toBe(baton);

    const reused = await pipeline(store.url, { baton, requests: [executeRequest("SELECT 3")] });
    expect(reused.status).toBe(400);
    expect(reused.body.code).toBe("BATON_REUSED");

    const unknown = await pipeline(store.url, { baton: "999999.nope", requests: [] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe("BATON_INVALID");

    const closed = await pipeline(store.url, { baton: second.body.baton, requests: [{ type: "close" }, executeRequest("SELECT 4")] });
    expect(closed.body.baton).toBeNull();
    expect(closed.body.results!.map((r) => r.type)).toEqual(["ok", "error"]);
    expect(closed.body.results![1]!.error!.code).toBe("STREAM_CLOSED");
    const afterClose = await pipeline(store.url, { baton: second.body.baton, requests: [] });
    expect(afterClose.status).toBe(400);
  });

  it("stores, uses and closes SQL by id, describes statements and reports autocommit", async () => {
    const res = await pipeline(store.url, {
      requests: [
        { type: "store_sql", sql_id: 1, sql: "SELECT ? AS b, :a AS a" },
        { type: "execute", stmt: { sql_id: 1, args: [{ type: "text", value: "B" }], named_args: [{ name: "a", value: { type: "integer", value: "7" } }] } },
        { type: "store_sql", sql_id: 1, sql: "SELECT 2" },
        { type: "describe", sql_id: 1 },
        { type: "describe", sql: "INSERT INTO t VALUES (?)" },
        { type: "get_autocommit" },
        executeRequest("BEGIN"),
        { type: "get_autocommit" },
        executeRequest("ROLLBACK"),
        { type: "sequence", sql: "SELECT 1; SELECT 2;" },
        { type: "close_sql", sql_id: 1 },
        { type: "execute", stmt: { sql_id: 1 } },
        { type: "close" },
      ],
    });
    const r = res.body.results!;
    expect(r[0]).toMatchObject({ type: "ok", response: { type: "store_sql" } });
    expect((r[1]!.response!["result"] as { rows: unknown[][] }).rows[0]).toEqual([
      { type: "text", value: "B" },
      { type: "integer", value: "7" },
    ]);
    expect(r[2]).toMatchObject({ type: "error", error: { code: "SQL_STORE_TAKEN" } });
    expect(r[3]!.response!["result"]).toMatchObject({
      params: [{ name: null }, { name: ":a" }],
      cols: [{ name: "b" }, { name: "a" }],
      is_explain: false,
      is_readonly: true,
    });
    // Describing a statement over a missing table fails like preparing it would.
    expect(r[4]).toMatchObject({ type: "error", error: { code: "SQLITE_ERROR" } });
    expect(r[5]!.response).toEqual({ type: "get_autocommit", is_autocommit: true });
    expect(r[7]!.response).toEqual({ type: "get_autocommit", is_autocommit: false });
    expect(r[9]).toMatchObject({ type: "ok", response: { type: "sequence" } });
    expect(r[11]).toMatchObject({ type: "error", error: { code: "SQL_NOT_FOUND" } });
  });

  it("keeps serving after hostile inputs", async () => {
    const deep = { type: "batch", batch: { steps: [{ stmt: { sql: "SELECT 1" } }, { condition: JSON.parse("{\"type\":\"not\",\"cond\":".repeat(200) + "{\"type\":\"ok\",\"step\":0}" + "}".repeat(200)), stmt: { sql: "SELECT 2" } }] } };
    const res = await pipeline(store.url, { requests: [deep, executeRequest("SELECT '\ud800' AS lone"), executeRequest("SELECT ?", [{ type: "text", value: "x" }]), { type: "close" }] });
    expect(res.status).toBe(200);
    expect(res.body.results![0]).toMatchObject({ type: "error", error: { code: "PROTO_ERROR" } });
    const health = await fetch(`${store.url}/health`);
    expect(health.status).toBe(200);
  });
});

describe("bearer token", () => {
  let store: TestStore;

  beforeAll(async () => {
    store = await startTestStore({ authToken: "s3cret" });
  });

  afterAll(async () => {
    await store.stop();
  });

  it("rejects a missing or wrong token with 401", async () => {
    expect((await pipeline(store.url, { requests: [] })).status).toBe(401);
    expect((await pipeline(store.url, { requests: [] }, "wrong")).status).toBe(401);
    const anonymous = createClient({ url: store.url });
    await expect(anonymous.execute("SELECT 1")).rejects.toThrow();
    anonymous.close();
    const wrong = createClient({ url: store.url, authToken: "s3cret-not" });
    await expect(wrong.execute("SELECT 1")).rejects.toMatchObject({ code: "AUTH_INVALID" });
    wrong.close();
  });

  it("accepts the right token from the client", async () => {
    const client = createClient({ url: store.url, authToken: "s3cret" });
    const rs = await client.execute("SELECT 41 + 1 AS answer");
    expect(rs.rows[0]!["answer"]).toBe(42);
    client.close();
  });

  it("keeps /health and /v2 open", async () => {
    expect((await fetch(`${store.url}/health`)).status).toBe(200);
    expect((await fetch(`${store.url}/v2`)).status).toBe(200);
  });
});
