/**
 * The reference proxy-registrar: the shared lab's kamailio.cfg, used in place and started the way the lab's
 * lib.sh start_proxy does it (same flags, 4 UDP workers by default). The config hard-codes its runtime files
 * under /tmp/kamlab (sqlite domain table, dispatcher list, control socket), so they are made there as lib.sh
 * makes them: mkdb.sh writes the domain DB, dispatcher.list is copied beside it. Nothing goes into the repo.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { SHARED_KAMAILIO_DIR } from "../test/support/paths";
import {
  findExecutable,
  startProcess,
  waitForUdpPort,
  waitForUdpPortFree,
  type ManagedProcess,
} from "../test/support/processes";

const execFileAsync = promisify(execFile);

/** Where kamailio.cfg expects its files. */
export const KAMLAB_DIR = "/tmp/kamlab";
/** The lab proxy's fixed socket (kamailio.cfg `listen=`). */
export const KAMAILIO_PROXY = { ip: "127.0.0.1", port: 5060 } as const;

export interface KamailioProxy {
  readonly process: ManagedProcess;
  readonly pid: number;
  readonly version: string;
  /** How the reference config was run: the shared file as is, or its db_text variant (see below). */
  readonly configNote: string;
  stop(): Promise<void>;
}

const MODULES_DIR = "/usr/lib/x86_64-linux-gnu/kamailio/modules";

/**
 * kamailio.cfg keeps the domain table (domain -> dispatcher set) in sqlite, which needs Debian's
 * kamailio-sqlite-modules (db_sqlite.so, and mkdb.sh's create scripts). Where that package is missing, the
 * same config is run with the domain table served by db_text (part of the kamailio package): the module
 * line and the DB URL are the only changes, the table holds the rows mkdb.sh inserts, and the domain module
 * caches the table in memory at start-up, so the routing script and its per-request work are unchanged.
 * The variant is written to /tmp/kamlab, never into the repo, and reported.
 */
async function dbTextVariant(cfgText: string): Promise<string> {
  const dbDir = path.join(KAMLAB_DIR, "dbtext");
  await mkdir(dbDir, { recursive: true });
  const t = 1_900_000_000;
  await writeFile(path.join(dbDir, "version"), "id(int,auto) table_name(string) table_version(int) \n1:domain:2\n2:domain_attrs:1\n");
  await writeFile(
    path.join(dbDir, "domain"),
    `id(int,auto) domain(string) did(string,null) last_modified(int) \n1:tenant-a.example:tenant-a:${t}\n2:tenant-b.example:tenant-b:${t}\n`,
  );
  await writeFile(
    path.join(dbDir, "domain_attrs"),
    `id(int,auto) did(string) name(string) type(int) value(string) last_modified(int) \n1:tenant-a:ds_set:0:1:${t}\n2:tenant-b:ds_set:0:2:${t}\n`,
  );
  const swaps: [string, string][] = [
    ['loadmodule "db_sqlite.so"', 'loadmodule "db_text.so"'],
    ['#!define DBURL "sqlite:///tmp/kamlab/proxy.db"', `#!define DBURL "text://${dbDir}"`],
  ];
  let out = cfgText;
  for (const [from, to] of swaps) {
    if (out.split(from).length !== 2) throw new Error(`kamailio.cfg changed: "${from}" not found exactly once; cannot make the db_text variant`);
    out = out.replace(from, to);
  }
  const file = path.join(KAMLAB_DIR, "kamailio-dbtext.cfg");
  await writeFile(file, out);
  return file;
}

/** Starts kamailio.cfg on 127.0.0.1:5060; `logDir` gets its stdout/stderr. */
export async function startKamailioProxy(opts: { children: number; shmMb: number; logDir: string }): Promise<KamailioProxy> {
  const kamailio = findExecutable("kamailio", "kamailio");
  const cfg = path.join(SHARED_KAMAILIO_DIR, "kamailio.cfg");
  if (!existsSync(cfg)) throw new Error(`reference config not found: ${cfg}`);
  await waitForUdpPortFree(KAMAILIO_PROXY.ip, KAMAILIO_PROXY.port, { timeoutMs: 2000 }).catch(() => {
    throw new Error(`${KAMAILIO_PROXY.ip}:${KAMAILIO_PROXY.port} is in use (the lab's proxy address): stop what holds it first`);
  });
  const createdLab = !existsSync(KAMLAB_DIR);
  const cleanLab = async (): Promise<void> => {
    if (createdLab) await rm(KAMLAB_DIR, { recursive: true, force: true });
  };
  let runCfg = cfg;
  let configNote = `${cfg} as is`;
  try {
    await mkdir(path.join(KAMLAB_DIR, "proxy_run"), { recursive: true });
    await copyFile(path.join(SHARED_KAMAILIO_DIR, "dispatcher.list"), path.join(KAMLAB_DIR, "dispatcher.list"));
    if (existsSync(path.join(MODULES_DIR, "db_sqlite.so"))) {
      await execFileAsync(path.join(SHARED_KAMAILIO_DIR, "mkdb.sh"), [path.join(KAMLAB_DIR, "proxy.db")]);
    } else {
      runCfg = await dbTextVariant(await readFile(cfg, "utf8"));
      configNote =
        `${cfg} with its domain table in db_text instead of sqlite (kamailio-sqlite-modules is not installed here): ` +
        `${runCfg}; routing script unchanged, the table is cached in memory either way`;
    }
  } catch (err) {
    await cleanLab();
    throw err;
  }
  const version = (await execFileAsync(kamailio, ["-v"])).stdout.split("\n")[0]?.replace(/^version:\s*/, "").trim() ?? "?";

  const proc = startProcess({
    name: "kamailio-proxy",
    command: kamailio,
    args: [
      "-f", runCfg,
      "-DD", "-E",
      "-m", String(opts.shmMb),
      "-M", "16",
      "-n", String(opts.children),
      "-Y", path.join(KAMLAB_DIR, "proxy_run"),
      "-P", path.join(KAMLAB_DIR, "proxy.pid"),
    ],
    logDir: opts.logDir,
  });
  const stop = async (): Promise<void> => {
    await proc.stop();
    await waitForUdpPortFree(KAMAILIO_PROXY.ip, KAMAILIO_PROXY.port).catch(() => undefined);
    await cleanLab();
  };
  try {
    await waitForUdpPort(KAMAILIO_PROXY.ip, KAMAILIO_PROXY.port, { timeoutMs: 15_000, process: proc });
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { process: proc, pid: proc.pid, version, configNote, stop };
}
