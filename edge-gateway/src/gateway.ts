/**
 * Assembles a running gateway from a config: UDP listeners, the worker client, the proxy core, and the
 * local /metrics + /health HTTP endpoint. `close()` stops everything it started.
 */
import { createServer, type Server } from "node:http";
import type { GatewayConfig } from "./config";
import { DEFAULT_FLOOD_CONFIG, IngressGuard } from "./ingress/ingress-guard";
import { createLogger, type FlushableLogger, type Logger } from "./observability/logger";
import { Metrics } from "./observability/metrics";
import { observeWorker } from "./observability/worker-health";
import { ProxyCore } from "./proxy/proxy-core";
import { listenUdp, type UdpListener } from "./transport/udp-transport";
import { createWorkerClient } from "./worker-client/worker-client";

export interface Gateway {
  readonly phones: UdpListener;
  readonly pbx: UdpListener;
  readonly metrics: Metrics;
  /** The flood limit and scanner screen in front of the proxy core. */
  readonly ingress: IngressGuard;
  /** Address of the metrics endpoint, when enabled. */
  readonly metricsUrl: string | undefined;
  close(): Promise<void>;
}

/** Starts a gateway. */
export async function startGateway(config: GatewayConfig, logger?: Logger): Promise<Gateway> {
  // A logger made here is flushed on close; a caller's logger is the caller's.
  const ownLog: FlushableLogger | undefined = logger ? undefined : createLogger(config.logLevel);
  const log: Logger = logger ?? ownLog!;
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
  let core: ProxyCore | undefined;
  let guard: IngressGuard | undefined;
  // The flood limit runs before the parser: a blocked source costs a Map lookup per datagram, nothing more.
  const onDatagram: Parameters<typeof listenUdp>[1] = (bytes, source, listener) => {
    if (guard?.admit(source, listener)) core?.onDatagram(bytes, source, listener);
  };
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
  const ingress = new IngressGuard({
    config: config.flood ?? DEFAULT_FLOOD_CONFIG,
    metrics,
    log,
    // The Asterisk boxes' own socket is never limited (a tenant's PBX is not a flood source to us).
    exemptListeners: pbx === phones ? [] : [pbx],
  });
  guard = ingress;
  // Relay decisions towards the PBX side teach the guard the tenants' Asterisk addresses.
  const worker = ingress.learnFrom(observed.client);
  core = new ProxyCore({
    phones,
    pbx,
    worker,
    log,
    metrics,
    secret: config.gatewaySecret,
    retryAfterS: config.retryAfterS,
    limits: {
      ...(config.maxTransactions !== undefined ? { maxTransactions: config.maxTransactions } : {}),
      ...(config.maxPendingDecisions !== undefined ? { maxPendingDecisions: config.maxPendingDecisions } : {}),
    },
    screen: (req, source, listener) => ingress.screen(req, source, listener),
    timers: { t1: config.t1, t2: config.t2, t4: config.t4, timerC: config.timerC },
  });

  let http: Server | undefined;
  let metricsUrl: string | undefined;
  if (config.metricsListen) {
    http = createServer((req, res) => {
      if (req.url === "/metrics") {
        metrics.render().then(
          (text) => res.writeHead(200, { "content-type": metrics.contentType }).end(text),
          (err: unknown) => {
            log.error("metrics rendering failed", { error: String(err) });
            res.writeHead(500).end();
          },
        );
      } else if (req.url === "/health") {
        // Degraded (503) once worker calls keep failing (worker-health.ts: a run of failures or a failure
        // ratio, never a single failed call), until they succeed again: new requests are answered 503.
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
    ingress,
    metricsUrl,
    async close() {
      core?.close();
      await phones.close();
      if (pbx !== phones) await pbx.close();
      await worker.close();
      if (http) await new Promise<void>((resolve) => http!.close(() => resolve()));
      await ownLog?.flush();
    },
  };
}
