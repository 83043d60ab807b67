/**
 * Assembles a running gateway from a config: UDP listeners, the worker client, the proxy core, and the
 * local /metrics + /health HTTP endpoint. `close()` stops everything it started.
 */
import { createServer, type Server } from "node:http";
import type { GatewayConfig } from "./config";
import { createLogger, type Logger } from "./observability/logger";
import { Metrics } from "./observability/metrics";
import { observeWorker } from "./observability/worker-health";
import { ProxyCore } from "./proxy/proxy-core";
import { listenUdp, type UdpListener } from "./transport/udp-transport";
import { createWorkerClient } from "./worker-client/worker-client";

export interface Gateway {
  readonly phones: UdpListener;
  readonly pbx: UdpListener;
  readonly metrics: Metrics;
  /** Address of the metrics endpoint, when enabled. */
  readonly metricsUrl: string | undefined;
  close(): Promise<void>;
}

/** Starts a gateway. */
export async function startGateway(config: GatewayConfig, logger?: Logger): Promise<Gateway> {
  const log = logger ?? createLogger(config.logLevel);
  const metrics = new Metrics();
  const observed = observeWorker(
    createWorkerClient({
      url: config.workerUrl,
      secret: config.gatewaySecret,
      timeoutMs: config.workerTimeoutMs,
      connections: config.workerConnections,
    }),
    metrics,
  );
  const worker = observed.client;
  let core: ProxyCore | undefined;
  const onDatagram: Parameters<typeof listenUdp>[1] = (bytes, source, listener) => core?.onDatagram(bytes, source, listener);
  const onError = (err: Error) => log.warn("udp socket error", { error: err.message });
  const phones = await listenUdp(
    { ip: config.listen.ip, port: config.listen.port, advertisedHost: config.listen.advertisedHost },
    onDatagram,
    onError,
  );
  const pbx = config.listenPbx
    ? await listenUdp(
        { ip: config.listenPbx.ip, port: config.listenPbx.port, advertisedHost: config.listenPbx.advertisedHost },
        onDatagram,
        onError,
      )
    : phones;
  core = new ProxyCore({
    phones,
    pbx,
    worker,
    log,
    metrics,
    retryAfterS: config.retryAfterS,
    parseLimits: config.parseLimits,
    timers: { t1: config.t1, t2: config.t2, t4: config.t4, timerC: config.timerC },
  });

  let http: Server | undefined;
  let metricsUrl: string | undefined;
  if (config.metricsListen) {
    http = createServer((req, res) => {
      if (req.url === "/metrics") {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(metrics.render());
      } else if (req.url === "/health") {
        // Degraded (503) while the most recent worker call failed: new requests are being answered 503.
        const worker = observed.health();
        res
          .writeHead(worker.status === "ok" ? 200 : 503, { "content-type": "application/json" })
          .end(JSON.stringify({ status: worker.status, worker }));
      } else {
        res.writeHead(404).end();
      }
    });
    const { ip, port } = config.metricsListen;
    await new Promise<void>((resolve, reject) => {
      http!.once("error", reject);
      http!.listen(port, ip, () => resolve());
    });
    const addr = http.address();
    if (addr && typeof addr === "object") metricsUrl = `http://${ip.includes(":") ? `[${ip}]` : ip}:${addr.port}`;
  }

  log.info("gateway listening", {
    phones: `${phones.local.ip}:${phones.local.port}`,
    pbx: `${pbx.local.ip}:${pbx.local.port}`,
    worker: config.workerUrl,
    metrics: metricsUrl,
  });

  return {
    phones,
    pbx,
    metrics,
    metricsUrl,
    async close() {
      core?.close();
      await phones.close();
      if (pbx !== phones) await pbx.close();
      await worker.close();
      if (http) await new Promise<void>((resolve) => http!.close(() => resolve()));
    },
  };
}
