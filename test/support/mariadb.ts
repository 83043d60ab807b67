// A throw-away MariaDB server for tests: its own data directory (mariadb-install-db), its own Unix socket,
// TCP on a loopback address and a free port, started as our child process and stopped by its PID. Root logs
// in over the socket without a password (to set the test up); the tests' own users have passwords and come
// in over TCP, as edgectl does. Never a system service; nothing outside `workDir` is written.
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import type { Connection } from "mysql2/promise";
import mysql from "mysql2/promise";
import { findExecutable, formatExit, freeTcpPort, startProcess, type ManagedProcess } from "./processes";

export interface MariaDb {
  readonly host: string;
  readonly port: number;
  readonly socket: string;
  readonly process: ManagedProcess;
  /** `mysql://user:password@host:port/database`, the password percent-encoded. */
  url(user: string, password: string, database: string): string;
  /** Runs statements as root over the socket (`database` selected when given). */
  sql(statement: string, params?: unknown[], database?: string): Promise<unknown>;
  /** Rows of a query as root. */
  rows<T>(statement: string, params?: unknown[], database?: string): Promise<T[]>;
  stop(): Promise<void>;
}

/** Starts MariaDB with its data under `workDir/mariadb`, TCP on `host` (a loopback address). */
export async function startMariaDb(options: { host: string; workDir: string }): Promise<MariaDb> {
  const mariadbd = findExecutable("mariadbd", "mariadb-server");
  const installDb = findExecutable("mariadb-install-db", "mariadb-server");
  const dir = path.join(options.workDir, "mariadb");
  const dataDir = path.join(dir, "data");
  await mkdir(dir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  // mariadbd refuses to run as root unless told to; the files are then root's too.
  const user = asRoot ? ["--user=root"] : [];
  await promisify(execFile)(
    installDb,
    [
      "--no-defaults",
      `--datadir=${dataDir}`,
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
      "--skip-name-resolve",
      // Passed on to the bootstrap server: a 26 MB data directory instead of 114 MB, written faster.
      "--innodb-log-file-size=8M",
      "--innodb-buffer-pool-size=16M",
      "--skip-log-bin",
      "--performance-schema=OFF",
      ...user,
    ],
    { timeout: 60_000 },
  );
  const port = await freeTcpPort(options.host);
  const socket = path.join(dir, "sock");
  const proc = startProcess({
    name: "mariadbd",
    command: mariadbd,
    args: [
      "--no-defaults",
      `--datadir=${dataDir}`,
      `--socket=${socket}`,
      `--port=${port}`,
      `--bind-address=${options.host}`,
      `--pid-file=${path.join(dir, "mariadbd.pid")}`,
      "--skip-name-resolve",
      "--skip-log-bin",
      "--innodb-buffer-pool-size=16M",
      "--innodb-log-file-size=8M",
      "--max-connections=40",
      "--performance-schema=OFF",
      ...user,
    ],
    logDir: dir,
  });

  let root: Connection | undefined;
  const deadline = Date.now() + 30_000;
  while (!root) {
    try {
      root = await mysql.createConnection({ socketPath: socket, user: "root", password: "", multipleStatements: false });
    } catch (err) {
      if (!proc.running) throw new Error(`mariadbd exited (${formatExit(proc.exit)}) before accepting connections\n${await proc.output()}`);
      if (Date.now() > deadline) throw new Error(`mariadbd did not accept connections within 30 s: ${String(err)}\n${await proc.output()}`);
      await delay(100);
    }
  }
  const admin = root;

  return {
    host: options.host,
    port,
    socket,
    process: proc,
    url: (user, password, database) =>
      `mysql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${options.host}:${port}/${encodeURIComponent(database)}`,
    async sql(statement, params = [], database) {
      if (database) await admin.query(`USE \`${database}\``);
      const [result] = await admin.query(statement, params);
      return result;
    },
    async rows<T>(statement: string, params: unknown[] = [], database?: string) {
      if (database) await admin.query(`USE \`${database}\``);
      const [result] = await admin.query(statement, params);
      return result as T[];
    },
    async stop() {
      await admin.end().catch(() => undefined);
      await proc.stop({ graceMs: 10_000 });
    },
  };
}

/** The legacy table, as the OpenSIPS setup created it. */
export const ENDPOINT_LOCATIONS_DDL = [
  `CREATE TABLE endpoint_locations (
    aor VARCHAR(255) PRIMARY KEY,
    contact_ip VARCHAR(45) NOT NULL,
    contact_port VARCHAR(10) NOT NULL,
    contact_uri VARCHAR(255) NOT NULL,
    expires DATETIME NOT NULL
  ) ENGINE=InnoDB`,
  "CREATE INDEX idx_endpoint_locations_expires ON endpoint_locations(expires)",
];
