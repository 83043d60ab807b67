// startGateway's wiring of the flood guard and /health, over real UDP sockets on 127.0.0.1 with ephemeral
// ports, in front of a worker URL nobody listens on (every worker call fails at once: the gateway answers 503).
import dgram from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import type { GatewayConfig } from "../../../edge-gateway/src/config";
import { startGateway, type Gateway } from "../../../edge-gateway/src/gateway";
import { DEFAULT_FLOOD_CONFIG } from "../../../edge-gateway/src/ingress/ingress-guard";
import { createLogger } from "../../../edge-gateway/src/observability/logger";
import { createWorkerClient } from "../../../edge-gateway/src/worker-client/worker-client";

const CONFIG: GatewayConfig = {
  listen: { ip: "127.0.0.1", port: 0, advertisedHost: undefined },
  listenPbx: { ip: "127.0.0.1", port: 0, advertisedHost: undefined },
  // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
  workerUrl: "http://127.0.0.1:9",
  gatewaySecret: "unit-test-secret-0123456789",
  workerTimeoutMs: 500,
  workerConnections: 4,
  retryAfterS: 5,
  metricsListen: { ip: "127.0.0.1", port: 0 },
  logLevel: "error",
  t1: 500,
  t2: 4000,
  t4: 5000,
  timerC: 181_000,
  flood: { ...DEFAULT_FLOOD_CONFIG, density: 10 },
};

let gateway: Gateway | undefined;
const sockets: dgram.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await gateway?.close();
  gateway = undefined;
});

function options(n: number): string {
  return [
    `OPTIONS sip:100@127.0.0.1 SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:9999;branch=z9hG4bK-gw-${n}-${Math.random().toString(36).slice(2)};rport`,
    "Max-Forwards: 70",
    `From: <sip:100@127.0.0.1>;tag=g${n}`,
    "To: <sip:100@127.0.0.1>",
    `Call-ID: gw-${n}-${Math.random().toString(36).slice(2)}@test`,
    `CSeq: ${n} OPTIONS`,
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

/** Sends `n` OPTIONS to `port` from one socket; resolves with the number of final answers after a quiet spell. */
async function flood(port: number, n: number): Promise<number> {
  const s = dgram.createSocket("udp4");
  sockets.push(s);
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  let answers = 0;
  // Final answers only (a 100 Trying, should the worker be slow, is not one).
  s.on("message", (m) => {
    if (!m.toString("latin1").startsWith("SIP/2.0 100 ")) answers++;
  });
  for (let i = 0; i < n; i++) s.send(options(i), port, "127.0.0.1");
  await new Promise((r) => setTimeout(r, 1500));
  return answers;
}

async function health(): Promise<{ status: number; body: { status: string } }> {
  const res = await fetch(`${gateway!.metricsUrl!}/health`);
  return { status: res.status, body: (await res.json()) as { status: string } };
}

describe("startGateway: the flood guard in front of the proxy core", () => {
  it("limits a source on the phones' socket, never on the Asterisk boxes' own socket", async () => {
    gateway = await startGateway(CONFIG, createLogger("error", () => undefined));
    // Every admitted OPTIONS gets one answer (503: the worker is unreachable).
    expect(await flood(gateway.phones.local.port, 50)).toBe(10);
    expect(await flood(gateway.pbx.local.port, 50)).toBe(50);
    const text = await (await fetch(`${gateway.metricsUrl!}/metrics`)).text();
    expect(text).toMatch(/^edge_gateway_ingress_dropped_total\{reason="rate"\} 40$/m);
    expect(text).toMatch(/^edge_gateway_ingress_blocked_sources 1$/m);
  }, 20_000);

  it("/health stays ok on one failed worker call and turns degraded after three in a row", async () => {
    gateway = await startGateway({ ...CONFIG, flood: { ...DEFAULT_FLOOD_CONFIG, limit: false } }, createLogger("error", () => undefined));
    expect((await health()).status).toBe(200);
    expect(await flood(gateway.phones.local.port, 1)).toBe(1);
    expect(await health()).toMatchObject({ status: 200, body: { status: "ok" } });
    expect(await flood(gateway.phones.local.port, 2)).toBe(2);
    expect(await health()).toMatchObject({ status: 503, body: { status: "degraded" } });
  }, 20_000);

  it("a gateway with its own (pino, asynchronous) logger closes cleanly, flushing it", async () => {
    gateway = await startGateway({ ...CONFIG, logLevel: "error" });
    await gateway.close();
    gateway = undefined;
  });
});

describe("startGateway: the receive-queue probes of overload control", () => {
  it("measure each listener's queue from the start, never reach the SIP stack, and are switched off with the bound", async () => {
    gateway = await startGateway(CONFIG, createLogger("error", () => undefined));
    await new Promise((r) => setTimeout(r, 300));
    const text = await (await fetch(`${gateway.metricsUrl!}/metrics`)).text();
    const delay = Number(/^edge_gateway_receive_queue_delay_seconds (\S+)$/m.exec(text)?.[1]);
    // An idle gateway reads its probes at once: a few ms at most.
    expect(delay).toBeGreaterThanOrEqual(0);
    expect(delay).toBeLessThan(0.05);
    expect(text).toMatch(/^edge_gateway_receive_queue_probes_lost_total 0$/m);
    expect(text).toMatch(/^edge_gateway_load_refused_share 0$/m);
    // Probe datagrams are taken before the flood guard and the parser: none is counted as SIP input.
    expect(text).not.toMatch(/^edge_gateway_bad_messages_total/m);
    expect(text).not.toMatch(/^edge_gateway_received_total\{/m);
    await gateway.close();
    gateway = await startGateway({ ...CONFIG, maxQueueDelayMs: 0 }, createLogger("error", () => undefined));
    const off = await (await fetch(`${gateway.metricsUrl!}/metrics`)).text();
    expect(off).toMatch(/^edge_gateway_receive_queue_delay_seconds 0$/m);
  });
});

describe("startGateway: a decision source's own gauges", () => {
  it("are read into /metrics at each scrape (the node runtime's store commit groups)", async () => {
    let groups = 3;
    gateway = await startGateway(CONFIG, createLogger("error", () => undefined), {
      client: createWorkerClient({ url: CONFIG.workerUrl, secret: CONFIG.gatewaySecret, timeoutMs: CONFIG.workerTimeoutMs }),
      label: "test source",
      gauges: { edge_store_commit_groups_total: () => groups },
    });
    expect(await (await fetch(`${gateway.metricsUrl!}/metrics`)).text()).toMatch(/^edge_store_commit_groups_total 3$/m);
    groups = 5;
    expect(await (await fetch(`${gateway.metricsUrl!}/metrics`)).text()).toMatch(/^edge_store_commit_groups_total 5$/m);
  });
});
