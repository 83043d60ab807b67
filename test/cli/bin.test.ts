// The executable as an operator runs it: a child `node bin/edgectl.js`, tsx registered by the shim.
import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../../bin/edgectl.js", import.meta.url));

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runBin(args: readonly string[], env: Record<string, string> = {}): Promise<ChildResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A TCP port that was free a moment ago and has nobody listening now. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("bin/edgectl.js", () => {
  it("prints help and exits 0", async () => {
    const result = await runBin(["--help"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Usage: edgectl <command>");
    expect(result.stdout).toContain("Exit codes:");
  }, 30_000);

  it("exits 2 on a usage error without a stack trace", async () => {
    const result = await runBin(["tenant", "add", "bad_domain", "--destination", "sip:10.0.0.1"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^edgectl: domain 'bad_domain' is not a hostname[^\n]*\n$/);
  }, 30_000);

  it("exits 5 when nothing listens at the admin URL", async () => {
    const port = await closedPort();
    const result = await runBin(["health"], { EDGE_ADMIN_URL: `http://127.0.0.1:${port}` });
    expect(result.code).toBe(5);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(`edgectl: cannot reach the admin API at http://127.0.0.1:${port}: connection refused\n`);
  }, 30_000);
});
