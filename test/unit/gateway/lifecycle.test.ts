// The gateway's lifecycle pieces in isolation: the drain's bound and the worker probe behind /ready
// (signed like every worker call, retried until the first 200).
import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { importHmacKey, verifyRequest } from "../../../contract/signing";
import { PING_PATH } from "../../../contract/v1";
import { drain, type Drainable, workerHttpPing, WorkerProbe } from "../../../edge-gateway/src/lifecycle";
import type { Logger } from "../../../edge-gateway/src/observability/logger";

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

class FakeCore implements Drainable {
  draining = false;
  ended = 0;
  constructor(public unanswered: number) {}
  startDraining(): void {
    this.draining = true;
  }
  unansweredCount(): number {
    return this.unanswered;
  }
  endUnanswered(): number {
    const n = this.unanswered;
    this.ended += n;
    this.unanswered = 0;
    return n;
  }
}

describe("drain", () => {
  it("returns as soon as nothing is unanswered, ending nothing", async () => {
    const core = new FakeCore(2);
    setTimeout(() => (core.unanswered = 0), 100);
    const result = await drain(core, 5000, 10, quiet, 10);
    expect(core.draining).toBe(true);
    expect(result.ended).toBe(0);
    expect(result.waitedMs).toBeLessThan(1000);
  });

  it("ends what is left at the bound, then lingers", async () => {
    const core = new FakeCore(3);
    const start = Date.now();
    const result = await drain(core, 200, 100, quiet, 10);
    expect(result).toMatchObject({ ended: 3 });
    expect(result.waitedMs).toBeGreaterThanOrEqual(200);
    expect(Date.now() - start).toBeGreaterThanOrEqual(300);
  });
});

describe("WorkerProbe", () => {
  let server: Server | undefined;
  let probe: WorkerProbe | undefined;
  afterEach(async () => {
    probe?.stop();
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
  });

  it("signs POST /v1/ping with the gateway secret and retries until the worker answers 200", async () => {
    const SECRET = "probe-test-secret-0123456789";
    const key = await importHmacKey(SECRET);
    const seen: number[] = [];
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        void (async () => {
          const headers = { get: (n: string) => (req.headers[n] as string | undefined) ?? null };
          const ok = (await verifyRequest(key, req.url ?? "", body, headers, Date.now(), 30)).ok;
          // The store is "down" for the first two probes.
          const status = !ok || req.url !== `/edge${PING_PATH}` ? 401 : seen.length < 2 ? 503 : 200;
          seen.push(status);
          res.writeHead(status).end(status === 200 ? '{"ok":true}' : "{}");
        })();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const url = `http://127.0.0.1:${port}/edge`;
    probe = new WorkerProbe({ ping: workerHttpPing(url, SECRET, 1000), target: url, intervalMs: 20, maxIntervalMs: 40, log: quiet });
    expect(probe.reached).toBe(false);
    probe.start();
    const deadline = Date.now() + 5000;
    while (!probe.reached && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(probe.reached).toBe(true);
    expect(seen).toEqual([503, 503, 200]);
  });

  it("a wrong secret is a failure (401), retried, never ready", async () => {
    server = createServer((_req, res) => res.writeHead(401).end("{}"));
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    expect(await workerHttpPing(`http://127.0.0.1:${port}`, "probe-test-secret-0123456789", 1000)()).toBe("HTTP 401");
  });

  it("a successful real worker call counts: markReached stops the probing", () => {
    probe = new WorkerProbe({ ping: () => Promise.resolve("never asked"), target: "in process", log: quiet });
    probe.markReached();
    expect(probe.reached).toBe(true);
  });
});
