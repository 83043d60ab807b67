// `npm start`: the whole system locally on the embedded default, with two demo tenants. Ctrl-C stops
// everything cleanly. EDGE_RUNTIME=workers (default): libSQL file behind the store endpoint, the worker in
// Miniflare, the gateway. EDGE_RUNTIME=node: the gateway with the decisions in process on the libSQL file.
import { loadEdgeRuntime, loadFloodConfig, parseHostPortArg } from "../edge-gateway/src/config";
import { DEFAULT_PROBE_SETTINGS } from "../edge-gateway/src/probe/probe-settings";
import { startLocalStack } from "./local-stack";

const DEMO_TENANTS = [
  { domain: "tenant-a.example", destinations: ["sip:127.0.0.11:5080"] },
  { domain: "tenant-b.example", destinations: ["sip:127.0.0.12:5080"] },
];

async function seed(workerUrl: string, token: string): Promise<void> {
  for (const t of DEMO_TENANTS) {
    const res = await fetch(`${workerUrl}/admin/v1/tenants`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(t),
    });
    if (res.status !== 201 && res.status !== 409) throw new Error(`seeding ${t.domain}: HTTP ${res.status} ${await res.text()}`);
  }
}

async function main(): Promise<void> {
  const sip = parseHostPortArg("SIP_LISTEN", process.env.SIP_LISTEN ?? "127.0.0.1:5060", 5060);
  const pbx = process.env.SIP_LISTEN_PBX ? parseHostPortArg("SIP_LISTEN_PBX", process.env.SIP_LISTEN_PBX, 5060) : undefined;
  const runtime = loadEdgeRuntime([], process.env);
  const dbFile = process.env.LIBSQL_FILE ?? ".data/dev.db";
  // The node runtime takes LIBSQL_URL as in production: another store than the local file (sqld, Turso, the
  // store endpoint of another stack, a `file:` several gateways share), migrated beforehand unless `file:`.
  // The workers runtime serves LIBSQL_FILE through its local store endpoint; it says so rather than ignore it.
  const libsqlUrl = process.env.LIBSQL_URL;
  if (libsqlUrl && runtime !== "node") {
    console.warn(`npm start: LIBSQL_URL is for EDGE_RUNTIME=node; the workers runtime stores locally in LIBSQL_FILE (${dbFile})`);
  }
  const stack = await startLocalStack({
    runtime,
    dbFile,
    ...(libsqlUrl && runtime === "node" ? { libsql: { url: libsqlUrl, authToken: process.env.LIBSQL_AUTH_TOKEN } } : {}),
    sipListen: sip,
    sipListenPbx: pbx,
    workerPort: Number(process.env.WORKER_PORT ?? 8787),
    storePort: Number(process.env.STORE_PORT ?? 8080),
    metricsPort: Number(process.env.METRICS_PORT ?? 9060),
    logLevel: (process.env.LOG_LEVEL as "info" | undefined) ?? "info",
    // FLOOD_LIMIT, FLOOD_EXEMPT, UA_DENY ... as for the gateway alone (docs/security.md).
    flood: loadFloodConfig(process.env),
    // Probes the destinations an operator turned probing on for (`edgectl destination probe <uri> on`).
    probe: { ...DEFAULT_PROBE_SETTINGS, gatewayId: "local" },
  });
  await seed(stack.workerUrl, stack.adminToken);
  const sweep = setInterval(() => void stack.runScheduled().catch(() => undefined), 60_000);
  const store =
    runtime !== "node"
      ? `  store           ${stack.storeUrl}   (libSQL file ${dbFile})`
      : libsqlUrl
        ? `  store           ${stack.storeUrl}   (LIBSQL_URL${libsqlUrl.startsWith("file:") ? "" : "; migrated beforehand: npm run db:migrate"})`
        : `  store           ${stack.storeUrl}   (embedded, in the gateway's store thread)`;
  console.log(
    [
      "",
      `edge-registrar is running, ${runtime} runtime (Ctrl-C to stop)`,
      `  SIP (phones)    udp:${stack.gateway.phones.local.ip}:${stack.gateway.phones.local.port}`,
      ...(pbx ? [`  SIP (Asterisk)  udp:${stack.gateway.pbx.local.ip}:${stack.gateway.pbx.local.port}`] : []),
      runtime === "node"
        ? `  admin API       ${stack.workerUrl}   (admin token: ${stack.adminToken}; decisions in the gateway's process)`
        : `  worker          ${stack.workerUrl}   (admin token: ${stack.adminToken})`,
      `  admin page      ${stack.workerUrl}/admin/ui   (log in with the admin token)`,
      store,
      `  metrics         ${stack.gateway.metricsUrl ?? "off"}/metrics`,
      `  demo tenants    ${DEMO_TENANTS.map((t) => `${t.domain} -> ${t.destinations.join(",")}`).join("; ")}`,
      "  try             ./bin/edgectl.js tenant list ; ./bin/edgectl.js location list ; ./bin/edgectl.js destination list",
      "",
    ].join("\n"),
  );
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    clearInterval(sweep);
    void stack.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err: unknown) => {
  console.error(`npm start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
