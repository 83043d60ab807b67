/**
 * Assembles a running gateway from a config: UDP listeners, the worker client, the proxy core, and the
 * local /metrics + /health + /ready HTTP endpoint. `drain()` is the graceful shutdown (lifecycle.ts),
 * `close()` stops everything it started.
 */
import { createServer, type Server } from "node:http";
import { DEFAULT_SHUTDOWN_GRACE_MS, type GatewayConfig } from "./config";
import { drain, type DrainResult, type Ping, type Readiness, workerHttpPing, WorkerProbe } from "./lifecycle";
import { DEFAULT_FLOOD_CONFIG, IngressGuard } from "./ingress/ingress-guard";
import { createLogger, type FlushableLogger, type Logger } from "./observability/logger";
import { Metrics } from "./observability/metrics";
import { observeWorker } from "./observability/worker-health";
import { Prober } from "./probe/prober";
import { ProxyCore } from "./proxy/proxy-core";
import { RealClock } from "./transaction/clock";
import { QueueDelayProbe } from "./transport/queue-delay";
import { listenUdp, type UdpListener } from "./transport/udp-transport";
import { createWorkerClient, type WorkerClient } from "./worker-client/worker-client";

/** How often overload control samples the receive queue and the event loop (proxy/overload.ts, LoadShedder). */
const LOAD_SAMPLE_MS = 100;
/** How often a probe datagram measures each listener's receive queue (transport/queue-delay.ts). */
const QUEUE_PROBE_MS = 50;

/**
 * Feeds overload control, every LOAD_SAMPLE_MS, the receive queues' delay (the longest of the listeners') and
 * the event loop's utilization over the interval; returns the stop function.
 */
function steerLoad(core: ProxyCore, metrics: Metrics, probes: readonly QueueDelayProbe[]): () => Promise<void> {
  let last = performance.eventLoopUtilization();
  let utilization = 0;
  let lastAt = performance.now();
  // The longest delay of the listeners', and whether each is of its queue as it is now.
  const sampleDelay = (): { ms: number; current: boolean; probeMs: number } => {
    let ms = 0;
    let probeMs = 0;
    let current = probes.length > 0;
    for (const p of probes) {
      const d = p.delay();
      ms = Math.max(ms, d.ms);
      probeMs = Math.max(probeMs, d.probeMs);
      current &&= d.current;
    }
    return { ms, current, probeMs };
  };
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    utilization = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    const at = performance.now();
    // A sample much later than its interval follows a pause of the loop (a full GC, a long task).
    const late = at - lastAt - LOAD_SAMPLE_MS;
    lastAt = at;
    const queue = sampleDelay();
    core.overload.load.sample(queue.ms, utilization, late, queue.current ? queue.probeMs : undefined);
  }, LOAD_SAMPLE_MS);
  timer.unref();
  metrics.gauge("edge_gateway_event_loop_utilization", () => utilization);
  metrics.gauge("edge_gateway_receive_queue_delay_seconds", () => sampleDelay().ms / 1000);
  metrics.gauge("edge_gateway_receive_queue_probes_lost_total", () => probes.reduce((n, p) => n + p.lost, 0));
  metrics.gauge("edge_gateway_load_refused_share", () => core.overload.load.refusedShare);
  return async () => {
    clearInterval(timer);
    await Promise.all(probes.map((p) => p.close()));
  };
}

export interface Gateway {
  readonly phones: UdpListener;
  readonly pbx: UdpListener;
  readonly metrics: Metrics;
  /** The flood limit and scanner screen in front of the proxy core. */
  readonly ingress: IngressGuard;
  /** Address of the metrics endpoint, when enabled. */
  readonly metricsUrl: string | undefined;
  /** The dispatcher prober, when probing is configured and the worker client offers it. */
  readonly prober: Prober | undefined;
  /** What /ready says: sockets bound, worker reached once, not draining. */
  readiness(): Readiness;
  /**
   * Graceful shutdown: new out-of-dialog requests get 503 + Retry-After from now on; waits until every
   * transaction has its final response, at most `boundMs` (config.shutdownGraceMs), ends the rest with
   * one, lingers 2*T1 for their ACKs. Call `close()` after it.
   */
  drain(boundMs?: number): Promise<DrainResult>;
  close(): Promise<void>;
}

/**
 * Where the decisions come from: by default the worker over HTTP at `config.workerUrl` (EDGE_RUNTIME=workers);
 * the Node runtime passes its in-process client (node-runtime/), the same seam.
 */
export interface DecisionSource {
  readonly client: WorkerClient;
  /** For the start-up log line. */
  readonly label: string;
  /** The readiness check of this source (lifecycle.ts Ping); default: the worker's signed `/v1/ping`. */
  readonly ping?: Ping;
  /** The source's own counters and gauges for /metrics, by metric name (the node runtime's store). */
  readonly gauges?: Readonly<Record<string, () => number>>;
}

/** Starts a gateway. */
export async function startGateway(config: GatewayConfig, logger?: Logger, decisions?: DecisionSource): Promise<Gateway> {
  // A logger made here is flushed on close; a caller's logger is the caller's.
  const ownLog: FlushableLogger | undefined = logger ? undefined : createLogger(config.logLevel);
  const log: Logger = logger ?? ownLog!;
  const metrics = new Metrics();
  for (const [name, read] of Object.entries(decisions?.gauges ?? {})) metrics.gauge(name, read);
  const rawWorker =
    decisions?.client ??
    createWorkerClient({
      url: config.workerUrl,
      secret: config.gatewaySecret,
      timeoutMs: config.workerTimeoutMs,
      connections: config.workerConnections,
    });
  const observed = observeWorker(rawWorker, metrics);
  let core: ProxyCore | undefined;
  let guard: IngressGuard | undefined;
  let prober: Prober | undefined;
  // First the queue probes' own datagrams (overload control's measure; from the probe socket's address only).
  // Then responses to the prober's OPTIONS (matched by their random branch), only on the socket the probes
  // go out from (the Asterisk side). Then the flood limit, before the parser: a blocked source costs a Map
  // lookup per datagram, nothing more.
  let probes: QueueDelayProbe[] = [];
  const onDatagram: Parameters<typeof listenUdp>[1] = (bytes, source, listener) => {
    for (const p of probes) if (p.intercept(bytes, source, listener.local)) return;
    if (listener === prober?.listener && prober.intercept(bytes, source, listener)) return;
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
    ...(config.gatewaySecretPrevious !== undefined ? { previousSecret: config.gatewaySecretPrevious } : {}),
    retryAfterS: config.retryAfterS,
    limits: {
      ...(config.maxTransactions !== undefined ? { maxTransactions: config.maxTransactions } : {}),
      ...(config.maxPendingDecisions !== undefined ? { maxPendingDecisions: config.maxPendingDecisions } : {}),
      ...(config.maxDecisionWaitMs !== undefined ? { maxDecisionWaitMs: config.maxDecisionWaitMs } : {}),
      ...(config.maxQueueDelayMs !== undefined ? { maxQueueDelayMs: config.maxQueueDelayMs } : {}),
    },
    screen: (req, source, listener) => ingress.screen(req, source, listener),
    parseLimits: config.parseLimits,
    timers: { t1: config.t1, t2: config.t2, t4: config.t4, timerC: config.timerC },
  });
  if (config.maxQueueDelayMs !== 0) {
    probes = await Promise.all((pbx === phones ? [phones] : [phones, pbx]).map((l) => QueueDelayProbe.start(l.local, QUEUE_PROBE_MS)));
  }
  const stopLoadSampling = steerLoad(core, metrics, probes);
  const { probeTargets, reportDestinationStates } = rawWorker;
  if (config.probe && probeTargets && reportDestinationStates) {
    prober = new Prober({
      listener: pbx,
      worker: { probeTargets, reportDestinationStates },
      settings: config.probe,
      clock: new RealClock(),
      log,
      metrics,
      t1: config.t1,
      t2: config.t2,
    });
    prober.start();
  }

  // Readiness: the worker (and its store) reached once. The Node runtime pings its own store instead.
  const probe = new WorkerProbe({
    ping: decisions?.ping ?? workerHttpPing(config.workerUrl, config.gatewaySecret, config.workerTimeoutMs),
    target: decisions?.label ?? config.workerUrl,
    log,
  });
  probe.start();
  let draining = false;
  let closed = false;
  const readiness = (): Readiness => {
    // A real worker call that succeeded counts as much as the probe.
    if (!probe.reached && observed.health().lastOkAgoMs !== undefined) probe.markReached();
    const sockets = !closed;
    return { ready: sockets && probe.reached && !draining, sockets, worker: probe.reached, draining };
  };

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
      } else if (req.url === "/ready") {
        // For a load balancer or an orchestrator: 503 before the worker was reached once, and while draining.
        const r = readiness();
        res.writeHead(r.ready ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify({ status: r.ready ? "ready" : "not_ready", ...r }));
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
    worker: decisions?.label ?? config.workerUrl,
    metrics: metricsUrl,
  });

  return {
    phones,
    pbx,
    metrics,
    ingress,
    metricsUrl,
    prober,
    readiness,
    async drain(boundMs = config.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS) {
      draining = true;
      return drain(core!, boundMs, 2 * config.t1, log);
    },
    async close() {
      closed = true;
      probe.stop();
      await stopLoadSampling();
      prober?.close();
      core?.close();
      await phones.close();
      if (pbx !== phones) await pbx.close();
      await worker.close();
      if (http) await new Promise<void>((resolve) => http!.close(() => resolve()));
      await ownLog?.flush();
    },
  };
}
