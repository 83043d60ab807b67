// `npm start` as the README's quick start gives it (scripts/dev.ts), in both runtimes: it starts, prints
// where everything listens, seeds the two demo tenants, answers a phone's keep-alive OPTIONS on SIP_LISTEN,
// serves the admin API with the printed token, and stops on SIGTERM (Ctrl-C) with nothing of its own left running. The node
// runtime runs twice: on its default file, embedded in its store thread, and with LIBSQL_URL naming the store
// instead, as in production.
// Addresses: this file owns 127.0.33.x (see test/e2e/README.md); HTTP ports are free ones of 127.0.0.1.
import { createSocket } from "node:dgram";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/paths";
import {
  createTempDir,
  removeTempDir,
  startProcess,
  stopAllStartedProcesses,
  TIMED_OUT,
  waitAtMost,
  type ManagedProcess,
  type ProcessExit,
} from "../support/processes";

const PHONE = "127.0.33.21";

let work: string;

beforeAll(async () => {
  work = await createTempDir("quick-start");
});

afterAll(async () => {
  await stopAllStartedProcesses();
  await removeTempDir(work);
});

/** Starts `npm start`'s script with `env` and waits for its printout; returns the process and the printout. */
async function npmStart(name: string, env: Record<string, string>): Promise<{ proc: ManagedProcess; printout: string }> {
  const proc = startProcess({
    name,
    command: process.execPath,
    args: ["--import", "tsx", join(REPO_ROOT, "scripts", "dev.ts")],
    cwd: REPO_ROOT,
    logDir: work,
    // Ports 0: free ones (the printout says which); LIBSQL_FILE in this test's own directory.
    env: { ...process.env, WORKER_PORT: "0", STORE_PORT: "0", METRICS_PORT: "0", LOG_LEVEL: "warn", ...env },
  });
  const deadline = Date.now() + 150_000;
  for (;;) {
    const out = readFileSync(proc.stdoutPath, "utf8");
    if (out.includes("edge-registrar is running") && out.includes("demo tenants")) return { proc, printout: out };
    if (!proc.running) throw new Error(`npm start exited early: ${await proc.output()}`);
    if (Date.now() > deadline) throw new Error(`npm start printed no summary in time: ${await proc.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Ctrl-C's equivalent: SIGTERM to the process alone; resolves with its exit once it and every process of its
 * group (workerd, in the workers runtime) are gone, or fails after `ms`.
 */
async function interrupt(proc: ManagedProcess, ms = 20_000): Promise<ProcessExit> {
  process.kill(proc.pid, "SIGTERM");
  const exit = await waitAtMost(proc.exited, ms);
  if (exit === TIMED_OUT) throw new Error(`npm start did not exit within ${ms} ms of SIGTERM: ${await proc.output()}`);
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      process.kill(-proc.pid, 0);
    } catch {
      return exit;
    }
    if (Date.now() > deadline) throw new Error("npm start left processes of its group running after it exited");
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The value printed after `label` on its line of the printout. */
function printed(printout: string, label: string): string {
  const line = printout.split("\n").find((l) => l.trimStart().startsWith(label));
  if (!line) throw new Error(`no "${label}" line in: ${printout}`);
  return line.trimStart().slice(label.length).trim();
}

/** A phone's keep-alive OPTIONS to the gateway itself; resolves with the first line of the answer. */
async function keepAlive(gateway: string, branch: string): Promise<string> {
  const [ip = "", port = ""] = gateway.split(":");
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(5070, PHONE, resolve));
  try {
    const answer = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from ${gateway}`)), 5000);
      socket.once("message", (msg) => {
        clearTimeout(timer);
        resolve(msg.toString("utf8").split("\r\n")[0] ?? "");
      });
    });
    const request = [
      `OPTIONS sip:${ip}:${port} SIP/2.0`,
      `Via: SIP/2.0/UDP ${PHONE}:5070;rport;branch=z9hG4bK-${branch}`,
      "Max-Forwards: 70",
      `From: <sip:201@tenant-a.example>;tag=${branch}`,
      `To: <sip:${ip}:${port}>`,
      `Call-ID: ${branch}@${PHONE}`,
      "CSeq: 1 OPTIONS",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    socket.send(request, Number(port), ip);
    return await answer;
  } finally {
    socket.close();
  }
}

/** The demo tenants the admin API lists, with the token and URL the printout gave (the worker's, or the node runtime's own). */
async function tenants(printout: string, label: "worker" | "admin API"): Promise<string[]> {
  const api = printed(printout, label);
  const url = api.split(/\s+/)[0] ?? "";
  const token = /admin token: ([^;)]+)/.exec(api)?.[1] ?? "";
  const res = await fetch(`${url}/admin/v1/tenants`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { tenants: { domain: string }[] };
  return body.tenants.map((t) => t.domain).sort();
}

describe("npm start (the README's quick start)", () => {
  it("the default, workers runtime: prints where it listens, seeds the demo tenants, answers a keep-alive, stops on SIGTERM", async () => {
    const db = join(work, "workers", "dev.db");
    const { proc, printout } = await npmStart("npm-start-workers", { SIP_LISTEN: "127.0.33.1:5060", LIBSQL_FILE: db });
    expect(printout).toContain("workers runtime");
    expect(printed(printout, "SIP (phones)")).toBe("udp:127.0.33.1:5060");
    expect(printed(printout, "store")).toContain(`libSQL file ${db}`);
    expect(existsSync(db)).toBe(true);
    expect(await tenants(printout, "worker")).toEqual(["tenant-a.example", "tenant-b.example"]);
    expect(await keepAlive("127.0.33.1:5060", "qs-workers")).toBe("SIP/2.0 200 OK");
    // Miniflare's own exit hook answers SIGTERM first, with workerd stopped and the conventional 128 + 15.
    const exit = await interrupt(proc);
    expect([0, 143]).toContain(exit.code);
  }, 200_000);

  it("EDGE_RUNTIME=node with LIBSQL_URL: the store it names, the same tenants and keep-alive, a clean stop", async () => {
    const shared = join(work, "node", "shared.db");
    const { proc, printout } = await npmStart("npm-start-node", {
      EDGE_RUNTIME: "node",
      SIP_LISTEN: "127.0.33.2:5060",
      LIBSQL_FILE: join(work, "node", "unused.db"),
      LIBSQL_URL: `file:${shared}`,
    });
    expect(printout).toContain("node runtime");
    expect(printed(printout, "SIP (phones)")).toBe("udp:127.0.33.2:5060");
    expect(printed(printout, "store")).toBe(`file:${shared}   (LIBSQL_URL)`);
    // The file LIBSQL_URL names holds the data; the default file was never made.
    expect(existsSync(shared)).toBe(true);
    expect(existsSync(join(work, "node", "unused.db"))).toBe(false);
    expect(await tenants(printout, "admin API")).toEqual(["tenant-a.example", "tenant-b.example"]);
    expect(await keepAlive("127.0.33.2:5060", "qs-node")).toBe("SIP/2.0 200 OK");
    const exit = await interrupt(proc);
    expect(exit.code).toBe(0);
  }, 200_000);

  it("EDGE_RUNTIME=node on the default file (as a newcomer runs it; LIBSQL_FILE only moves it here): embedded in the store thread", async () => {
    const db = join(work, "node-default", "dev.db");
    const { proc, printout } = await npmStart("npm-start-node-default", { EDGE_RUNTIME: "node", SIP_LISTEN: "127.0.33.3:5060", LIBSQL_FILE: db });
    expect(printout).toContain("node runtime");
    expect(printed(printout, "SIP (phones)")).toBe("udp:127.0.33.3:5060");
    expect(printed(printout, "store")).toBe(`file:${db}   (embedded, in the gateway's store thread)`);
    expect(existsSync(db)).toBe(true);
    expect(await tenants(printout, "admin API")).toEqual(["tenant-a.example", "tenant-b.example"]);
    expect(await keepAlive("127.0.33.3:5060", "qs-node-default")).toBe("SIP/2.0 200 OK");
    const exit = await interrupt(proc);
    expect(exit.code).toBe(0);
  }, 200_000);
});
