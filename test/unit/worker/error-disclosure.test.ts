// Before authentication a caller learns nothing about the worker: a misconfigured worker answers a bare 500,
// the variable it lacks is named only in its log.
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../worker/src/app";

afterEach(() => vi.restoreAllMocks());

describe("error text before authentication", () => {
  it("a configuration error is 'internal error' to the caller and named in the log", async () => {
    const logged: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => void logged.push(line));
    const env = { LIBSQL_URL: "http://127.0.0.1:9", GATEWAY_SECRET: "short", ADMIN_TOKEN: "admin-token-0123" };
    const res = await createApp().fetch(new Request("http://worker/v1/request", { method: "POST", body: "{}" }), env);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: "internal error" });
    expect(logged.join("\n")).toMatch(/GATEWAY_SECRET must be set/);
  });
});
