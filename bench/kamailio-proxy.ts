/**
 * The reference proxy-registrar: our own Kamailio config, bench/kamailio/reference-proxy.cfg, started with
 * the flags the Kamailio lab used for its benchmarks (`-DD -E -m 1024 -M 16 -n 4` by default).
 *
 * Everything the config reads at run time is written here into a fresh temp dir (mkdtemp), removed on stop:
 * the dispatcher list (one set per tenant: its PBX, and "tenant=<domain>"), the domain module's tables in
 * db_text (each tenant domain with its dispatcher set as the "ds_set" attribute), the control socket and
 * the run files. Addresses, socket and table locations reach the config as -A defines. Kamailio loads its
 * modules from its own built-in path; the modules the config needs are checked there first.
 */
import { execFile } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  findExecutable,
  startProcess,
  waitForUdpPort,
  waitForUdpPortFree,
  type ManagedProcess,
} from "../test/support/processes";
import { kamailioHasModule, kamailioModulesDir } from "../test/support/system-paths";

const execFileAsync = promisify(execFile);

/** The reference config, in the repository. */
export const REFERENCE_CFG = path.join(path.dirname(fileURLToPath(import.meta.url)), "kamailio", "reference-proxy.cfg");

/** Modules reference-proxy.cfg loads that not every Kamailio install has (all in Debian's base `kamailio`). */
const NEEDED_MODULES = ["tm.so", "registrar.so", "usrloc.so", "nathelper.so", "dispatcher.so", "domain.so", "db_text.so", "ctl.so"];

export interface ReferenceTenant {
  /** The tenant's domain, e.g. tenant-a.example. */
  readonly domain: string;
  /** Its PBX (the stand-in registrar's socket for that domain). */
  readonly pbx: { readonly ip: string; readonly port: number };
}

export interface KamailioProxyOptions {
  /** Where the proxy listens (UDP). */
  readonly listen: { readonly ip: string; readonly port: number };
  /** One dispatcher set per tenant, numbered from 1 in this order. */
  readonly tenants: readonly ReferenceTenant[];
  /** UDP worker processes (-n). */
  readonly children: number;
  /** Shared memory in MB (-m). */
  readonly shmMb: number;
  /** Gets Kamailio's stdout/stderr. */
  readonly logDir: string;
}

export interface KamailioProxy {
  readonly process: ManagedProcess;
  readonly pid: number;
  readonly version: string;
  /** Which config ran and where its tables were, for the report. */
  readonly configNote: string;
  stop(): Promise<void>;
}

/** db_text table: a header of typed columns, then one `:`-separated row per line. */
function dbTextTable(columns: string, rows: readonly (readonly (string | number)[])[]): string {
  return `${columns} \n${rows.map((r) => r.join(":")).join("\n")}\n`;
}

/** Writes the dispatcher list and the domain tables for `tenants` into `dir`; returns their locations. */
async function writeTables(dir: string, tenants: readonly ReferenceTenant[]): Promise<{ dispatcherList: string; domainDb: string }> {
  for (const t of tenants) {
    if (!/^[A-Za-z0-9.-]+$/.test(t.domain)) throw new Error(`tenant domain "${t.domain}" cannot go into a db_text table`);
  }
  const dispatcherList = path.join(dir, "dispatcher.list");
  await writeFile(
    dispatcherList,
    [
      "# setid destination flags priority attrs (written by bench/kamailio-proxy.ts)",
      ...tenants.map((t, i) => `${i + 1} sip:${t.pbx.ip}:${t.pbx.port} 0 0 tenant=${t.domain}`),
      "",
    ].join("\n"),
  );
  const domainDb = path.join(dir, "domain-db");
  await mkdir(domainDb);
  const stamp = Math.floor(Date.now() / 1000);
  // The table versions the domain module of Kamailio 5.x checks at start-up.
  await writeFile(
    path.join(domainDb, "version"),
    dbTextTable("id(int,auto) table_name(string) table_version(int)", [[1, "domain", 2], [2, "domain_attrs", 1]]),
  );
  await writeFile(
    path.join(domainDb, "domain"),
    dbTextTable(
      "id(int,auto) domain(string) did(string,null) last_modified(int)",
      tenants.map((t, i) => [i + 1, t.domain, `tenant${i + 1}`, stamp]),
    ),
  );
  // type 0: an integer attribute, which lookup_domain() hands to the script as an integer AVP.
  await writeFile(
    path.join(domainDb, "domain_attrs"),
    dbTextTable(
      "id(int,auto) did(string) name(string) type(int) value(string) last_modified(int)",
      tenants.map((_, i) => [i + 1, `tenant${i + 1}`, "ds_set", 0, String(i + 1), stamp]),
    ),
  );
  return { dispatcherList, domainDb };
}

/** Starts reference-proxy.cfg on `opts.listen` with one dispatcher set per tenant. */
export async function startKamailioProxy(opts: KamailioProxyOptions): Promise<KamailioProxy> {
  const kamailio = findExecutable("kamailio", "kamailio");
  const missing = NEEDED_MODULES.filter((m) => !kamailioHasModule(m, kamailio));
  if (missing.length > 0) {
    throw new Error(`kamailio lacks ${missing.join(", ")} in ${kamailioModulesDir(kamailio)}: the reference config needs Debian's kamailio package`);
  }
  const { ip, port } = opts.listen;
  await waitForUdpPortFree(ip, port, { timeoutMs: 2000 }).catch(() => {
    throw new Error(`${ip}:${port} is in use (the reference proxy's address): stop what holds it first`);
  });
  const version = (await execFileAsync(kamailio, ["-v"])).stdout.split("\n")[0]?.replace(/^version:\s*/, "").trim() ?? "?";

  // Kept short: the control socket is a Unix socket in here.
  const runDir = await mkdtemp(path.join(os.tmpdir(), "edge-bench-kam-"));
  const removeRunDir = (): Promise<void> => rm(runDir, { recursive: true, force: true });
  let tables: { dispatcherList: string; domainDb: string };
  try {
    tables = await writeTables(runDir, opts.tenants);
  } catch (err) {
    await removeRunDir();
    throw err;
  }

  const proc = startProcess({
    name: "kamailio-proxy",
    command: kamailio,
    args: [
      "-f", REFERENCE_CFG,
      "-DD", "-E",
      "-m", String(opts.shmMb),
      "-M", "16",
      "-n", String(opts.children),
      "-Y", runDir,
      "-P", path.join(runDir, "kamailio.pid"),
      "-A", `REF_ADDR="${ip}"`,
      "-A", `REF_PORT=${port}`,
      "-A", `REF_CTL="unix:${path.join(runDir, "ctl")}"`,
      "-A", `REF_DISPATCHER_LIST="${tables.dispatcherList}"`,
      "-A", `REF_DOMAIN_DB="text://${tables.domainDb}"`,
    ],
    logDir: opts.logDir,
  });
  const stop = async (): Promise<void> => {
    await proc.stop();
    await waitForUdpPortFree(ip, port).catch(() => undefined);
    await removeRunDir();
  };
  try {
    await waitForUdpPort(ip, port, { timeoutMs: 15_000, process: proc });
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  const configNote =
    `${path.relative(process.cwd(), REFERENCE_CFG) || REFERENCE_CFG} on ${ip}:${port}; dispatcher list and domain table ` +
    `(db_text, cached in memory at start-up) written to ${runDir}`;
  return { process: proc, pid: proc.pid, version, configNote, stop };
}
