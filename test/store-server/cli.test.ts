import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { createClient } from "@libsql/client/web";
import { describe, expect, it } from "vitest";
import { parseStoreCliConfig } from "../../store-server/src/cli-config";

describe("parseStoreCliConfig", () => {
  it("takes flags over the environment", () => {
    const config = parseStoreCliConfig(["--file", "a.db", "--port", "9000", "--token", "t"], {
      LIBSQL_FILE: "env.db",
      STORE_PORT: "1",
      STORE_HOST: "0.0.0.0",
      STORE_TOKEN: "envtoken",
    });
    expect(config).toEqual({ file: "a.db", host: "0.0.0.0", port: 9000, authToken: "t", idleTimeoutMs: undefined });
  });

  it("falls back to the environment and defaults", () => {
    expect(parseStoreCliConfig([], { LIBSQL_FILE: "env.db" })).toEqual({
      file: "env.db",
      host: "127.0.0.1",
      port: 8080,
      authToken: undefined,
      idleTimeoutMs: undefined,
    });
  });

  it("rejects a missing file, a bad port and unknown flags", () => {
    expect(() => parseStoreCliConfig([], {})).toThrow(/--file/);
    expect(() => parseStoreCliConfig(["--file", "x", "--port", "http"], {})).toThrow(/port/);
    expect(() => parseStoreCliConfig(["--file", "x", "--port", "70000"], {})).toThrow(/port/);
    expect(() => parseStoreCliConfig(["--file", "x", "--bogus"], {})).toThrow();
  });
});

describe("store-server CLI", () => {
  it("prints one JSON line with the URL, serves, and exits 0 on SIGTERM", async () => {
    const dir = await mkdtemp(join(tmpdir(), "store-server-cli-"));
    const root = resolve(import.meta.dirname, "../..");
    const child = spawn(process.execPath, ["--import", "tsx", "store-server/src/main.ts", "--file", join(dir, "nested", "dev.db"), "--port", "0", "--token", "tok"], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const lines = createInterface({ input: child.stdout });
      const first = await new Promise<string>((resolveLine, rejectLine) => {
        lines.once("line", resolveLine);
        child.once("exit", (code) => rejectLine(new Error(`exited early with ${code}`)));
      });
      const announced = JSON.parse(first) as { event: string; url: string };
      expect(announced.event).toBe("listening");
      expect(announced.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      const client = createClient({ url: announced.url, authToken: "tok" });
      await client.execute("CREATE TABLE t (x)");
      expect((await client.execute("SELECT count(*) AS n FROM t")).rows[0]!["n"]).toBe(0);
      client.close();

      const exited = new Promise<number | null>((resolveExit) => child.once("exit", (code) => resolveExit(code)));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true, maxRetries: 5 }); // the checkpoint thread may still be closing its files
    }
  }, 30_000);
});
