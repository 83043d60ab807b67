// edgectl against the real admin API of a running stack, with a binding made by a real sipp phone through
// the gateway and the Kamailio registrar, in both runtimes (the node runtime serves the same admin API
// from the gateway's process). Addresses: this file owns 127.0.13.x (see test/e2e/README.md).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, TENANT_A_DOMAIN as A, type Upstream } from "../support/kamailio-upstream";
import { REPO_ROOT } from "../support/paths";
import { createTempDir, removeTempDir, stopAllStartedProcesses } from "../support/processes";
import { registerWithDigest } from "../support/sipp";
import { RUNTIMES, startTestStack, type TestStack } from "../support/stack";

let work: string;
let upstream: Upstream;
let stack: TestStack;

async function edgectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(REPO_ROOT, "bin", "edgectl.js"), ...args], {
      env: { ...process.env, EDGE_ADMIN_URL: stack.workerUrl, EDGE_ADMIN_TOKEN: stack.adminToken },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

describe.each(RUNTIMES)("%s runtime", (runtime) => {
  beforeAll(async () => {
    work = await createTempDir(`cli-${runtime}`);
    upstream = await startUpstream({ addrA: "127.0.13.11", addrB: "127.0.13.12", port: 5080 });
    stack = await startTestStack(work, { ip: "127.0.13.1", port: 5060 }, { runtime });
  });

  afterAll(async () => {
    await stack?.close();
    await upstream?.stop();
    await stopAllStartedProcesses();
    await removeTempDir(work);
  });

  describe("edgectl against the running system", () => {
    it("adds, lists and refuses a duplicate tenant with exit code 4", async () => {
      const add = await edgectl("tenant", "add", A, "--destination", `sip:${upstream.addrA}:${upstream.port}`);
      expect(add.code).toBe(0);
      const list = await edgectl("tenant", "list", "--json");
      expect(list.code).toBe(0);
      const tenants = JSON.parse(list.stdout) as { domain: string; destinations: { uri: string }[] }[];
      expect(tenants.find((t) => t.domain === A)?.destinations.map((d) => d.uri)).toEqual([`sip:${upstream.addrA}:${upstream.port}`]);
      expect((await edgectl("tenant", "add", A, "--destination", "sip:127.0.13.99")).code).toBe(4);
    });

    it("refuses bad input locally with exit code 2", async () => {
      const r = await edgectl("tenant", "add", "not a domain", "--destination", "sip:127.0.13.11");
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^edgectl: /);
      expect((await edgectl("location", "rm", "no-at-sign")).code).toBe(2);
    });

    it("lists a binding a phone registered, with the fields an operator needs, and removes it", async () => {
      await registerWithDigest({ target: "127.0.13.1:5060", phone: { ip: "127.0.13.21", port: 5070, contact: "127.0.13.121:5070" }, domain: A, password: "secret", workDir: work });
      const list = await edgectl("location", "list", "--domain", A, "--json");
      expect(list.code).toBe(0);
      const rows = JSON.parse(list.stdout) as Record<string, unknown>[];
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        username: "201",
        domain: A,
        contact: "sip:201@127.0.13.121:5070",
        received: "sip:127.0.13.21:5070",
        user_agent: "sipp-phone",
        cseq: 2,
      });
      expect(typeof rows[0]!["expires"]).toBe("number");
      expect(typeof rows[0]!["callid"]).toBe("string");
      const table = await edgectl("location", "list");
      expect(table.stdout).toMatch(/201\s+tenant-a\.example\s+sip:201@127\.0\.13\.121:5070/);
      expect((await edgectl("location", "rm", `201@${A}`)).code).toBe(0);
      expect((await edgectl("location", "rm", `201@${A}`)).code).toBe(3);
      expect(await stack.bindings(`201@${A}`)).toEqual([]);
    });

    it("removes a tenant, and a second removal is not found (exit code 3)", async () => {
      expect((await edgectl("tenant", "rm", A)).code).toBe(0);
      expect((await edgectl("tenant", "rm", A)).code).toBe(3);
    });

    it("reports health", async () => {
      const r = await edgectl("health");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/ok/);
    });
  });
});
