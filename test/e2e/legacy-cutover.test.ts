// The cut-over from the legacy endpoint_locations table (docs/migration.md): `edgectl legacy import, export,
// compare, mirror` against a real MariaDB (our own child process, test/support/mariadb.ts) and a real admin
// API + libSQL (the local stack); an imported binding is then used by the routing for a real sipp phone.
// Addresses: this file owns 127.0.23.x (see test/e2e/README.md): gateway .1:5060, tenant PBXes .11/.12,
// phone .21:5070 (NAT-private contact .121), MariaDB .41, a dead MySQL port on .42.
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatDatetime } from "../../cli/legacy/rows";
import { runLegacyCommandLine } from "../../cli/legacy/run";
import { runCli } from "../cli/cli-harness";
import { ENDPOINT_LOCATIONS_DDL, startMariaDb, type MariaDb } from "../support/mariadb";
import { REPO_ROOT, scenarioPath } from "../support/paths";
import { createTempDir, freeTcpPort, removeTempDir, stopAllStartedProcesses, TIMED_OUT, waitAtMost } from "../support/processes";
import { runSipp, startSippUas } from "../support/sipp";
import { startTestStack, type TestStack } from "../support/stack";

const A = "tenant-a.example";
const B = "tenant-b.example";
const GW = { ip: "127.0.23.1", port: 5060 };
const PBX_A = "127.0.23.11";
const PHONE = { ip: "127.0.23.21", port: 5070, contact: "127.0.23.121:5070" };
const DB_HOST = "127.0.23.41";
const USER = "legacy";
// A password with characters a URL must encode: it is checked for, raw and encoded, in every output.
const PASSWORD = "Leg-Pa55:w0rd/x";
const ENCODED = encodeURIComponent(PASSWORD);

let work: string;
let db: MariaDb;
let stack: TestStack;
let url: (database: string) => string;
const outputs: string[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** edgectl in-process (the CLI harness), its requests forwarded to the stack's real admin API. */
async function edgectl(...args: string[]): Promise<Run> {
  return edgectlWith({}, ...args);
}

async function edgectlWith(env: Record<string, string>, ...args: string[]): Promise<Run> {
  const r = await runCli(args, {
    env: { EDGE_ADMIN_URL: stack.workerUrl, EDGE_ADMIN_TOKEN: stack.adminToken, ...env },
    answer: (req) =>
      fetch(req.url, {
        method: req.method,
        headers: req.headers,
        ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
      }),
  });
  outputs.push(r.stdout, r.stderr);
  return r;
}

const inMinutes = (m: number): string => formatDatetime(Math.floor(Date.now() / 1000) + m * 60);

interface Row {
  aor: string;
  contact_ip: string;
  contact_port: string;
  contact_uri: string;
  expires: string;
}

async function legacyRows(database: string): Promise<Row[]> {
  return db.rows<Row>("SELECT aor, contact_ip, contact_port, contact_uri, DATE_FORMAT(expires, '%Y-%m-%d %H:%i:%s') AS expires FROM endpoint_locations ORDER BY aor", [], database);
}

async function insertRows(database: string, rows: Row[]): Promise<void> {
  for (const r of rows) {
    await db.sql("INSERT INTO endpoint_locations VALUES (?, ?, ?, ?, ?)", [r.aor, r.contact_ip, r.contact_port, r.contact_uri, r.expires], database);
  }
}

async function createLegacyDb(name: string, ddl: readonly string[] = ENDPOINT_LOCATIONS_DDL): Promise<void> {
  await db.sql(`CREATE DATABASE \`${name}\``);
  for (const statement of ddl) await db.sql(statement, [], name);
  await db.sql(`GRANT ALL ON \`${name}\`.* TO '${USER}'@'%'`);
}

// The legacy table as the OpenSIPS setup left it at the switch.
const LIVE: Row[] = [
  // NATed phone: source address differs from the Contact.
  { aor: `201@${A}`, contact_ip: PHONE.ip, contact_port: "5070", contact_uri: `sip:201@${PHONE.contact}`, expires: inMinutes(60) },
  // Public phone: its source is its Contact.
  { aor: `202@${A}`, contact_ip: "192.0.2.22", contact_port: "5062", contact_uri: "sip:202@192.0.2.22:5062", expires: inMinutes(60) },
  { aor: `301@${B}`, contact_ip: "2001:db8::31", contact_port: "5060", contact_uri: "sip:301@[2001:db8::31]", expires: inMinutes(30) },
];
const FOREIGN: Row = { aor: "401@foreign.example", contact_ip: "192.0.2.41", contact_port: "5060", contact_uri: "sip:401@192.0.2.41", expires: inMinutes(60) };
const GARBAGE: Row = { aor: `garbage@${A}`, contact_ip: "999.1.2.3", contact_port: "70000", contact_uri: "not a uri", expires: inMinutes(60) };
const EXPIRED: Row = { aor: `203@${A}`, contact_ip: "192.0.2.23", contact_port: "5060", contact_uri: "sip:203@192.0.2.23", expires: inMinutes(-5) };

beforeAll(async () => {
  work = await createTempDir("legacy");
  [db, stack] = await Promise.all([startMariaDb({ host: DB_HOST, workDir: work }), startTestStack(work, GW)]);
  url = (database) => db.url(USER, PASSWORD, database);
  await db.sql(`CREATE USER '${USER}'@'%' IDENTIFIED BY '${PASSWORD}'`);
  await createLegacyDb("opensips");
  await insertRows("opensips", [...LIVE, FOREIGN, GARBAGE, EXPIRED]);
  await stack.addTenant(A, `sip:${PBX_A}:5080`);
  await stack.addTenant(B, "sip:127.0.23.12:5080");
}, 120_000);

afterAll(async () => {
  await db?.stop();
  await stack?.close();
  await stopAllStartedProcesses();
  await removeTempDir(work);
});

describe("edgectl legacy against MariaDB and the running system", () => {
  it("a dry run reports what the import would do and writes nothing", async () => {
    const r = await edgectl("legacy", "import", "--mysql", url("opensips"), "--dry-run");
    expect(r.stdout).toMatch(/dry run: nothing written/);
    expect(r.stdout).toMatch(/would insert:?\s+3/);
    expect(r.code).toBe(7);
    expect(await stack.bindings(`201@${A}`)).toEqual([]);
  });

  it("imports the live rows, skips the expired one and refuses the foreign and malformed ones with reasons", async () => {
    const r = await edgectl("legacy", "import", "--mysql", url("opensips"), "--json");
    expect(r.code).toBe(7);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ read: 6, inserted: 3, updated: 0, unchanged: 0, kept: 0, expired: 1, refused: 2 });
    expect(report.source).toBe(`mysql://${USER}:***@${DB_HOST}:${db.port}/opensips`);
    const refused = report.refusedRows as { row: string; reason: string }[];
    expect(refused).toEqual([
      { row: FOREIGN.aor, aor: FOREIGN.aor, reason: "domain foreign.example is no tenant" },
      { row: GARBAGE.aor, aor: GARBAGE.aor, reason: expect.stringMatching(/contact_uri 'not a uri' is not a sip: or sips: URI/) },
    ]);
    const [b201] = await stack.bindings(`201@${A}`);
    expect(b201).toMatchObject({ contact: `sip:201@${PHONE.contact}`, received: `sip:${PHONE.ip}:5070`, callid: "legacy-import@edge-registrar" });
    expect(formatDatetime(b201!.expires)).toBe(LIVE[0]!.expires);
    expect((await stack.bindings(`202@${A}`)).map((b) => [b.contact, b.received])).toEqual([["sip:202@192.0.2.22:5062", null]]);
    expect((await stack.bindings(`301@${B}`)).map((b) => [b.contact, b.received])).toEqual([["sip:301@[2001:db8::31]", null]]);
    expect(await stack.bindings(`203@${A}`)).toEqual([]);
  });

  it("is idempotent: a second import changes nothing", async () => {
    const before = await Promise.all(LIVE.map((r) => stack.bindings(r.aor)));
    const r = await edgectl("legacy", "import", "--mysql", url("opensips"));
    expect(r.stdout).toMatch(/inserted:\s+0\n/);
    expect(r.stdout).toMatch(/unchanged:\s+3\n/);
    expect(r.stdout).toMatch(/refused 401@foreign\.example: domain foreign\.example is no tenant/);
    expect(await Promise.all(LIVE.map((row) => stack.bindings(row.aor)))).toEqual(before);
  });

  it("routes a call from the tenant's Asterisk to the imported binding, at the phone's NAT address", async () => {
    const phone = await startSippUas({
      scenario: scenarioPath("phone-uas-options-200.xml"),
      bindIp: PHONE.ip,
      bindPort: PHONE.port,
      service: "201",
      keys: { contact: PHONE.contact },
      calls: 1,
      timeoutSec: 20,
      workDir: work,
    });
    const ask = await runSipp({
      scenario: scenarioPath("pbx-options-200.xml"),
      target: `${GW.ip}:${GW.port}`,
      bindIp: PBX_A,
      bindPort: 5071,
      service: "201",
      workDir: work,
      timeoutSec: 20,
    });
    expect(ask.log).toEqual([`ANSWERED-BY ${PHONE.ip}:${PHONE.port}`]);
    const done = await waitAtMost(phone.done, 10_000);
    if (done === TIMED_OUT) throw new Error("the phone did not get the OPTIONS");
    expect(done.log).toEqual([`got OPTIONS sip:201@${PHONE.contact}`]);
  });

  it("compares AoR by AoR, and exits 0 once every live AoR is the same", async () => {
    let r = await edgectl("legacy", "compare", "--mysql", url("opensips"), "--json");
    expect(r.code).toBe(7);
    const report = JSON.parse(r.stdout) as { aors: { aor: string; status: string }[]; same: number };
    expect(report.aors.map((c) => `${c.status} ${c.aor}`)).toEqual([
      `same 201@${A}`,
      `same 202@${A}`,
      `same 301@${B}`,
      `only-legacy 401@foreign.example`,
      `only-legacy garbage@${A}`,
    ]);
    await db.sql("DELETE FROM endpoint_locations WHERE aor IN (?, ?)", [FOREIGN.aor, GARBAGE.aor], "opensips");
    // The password from the environment instead of the command line.
    r = await edgectlWith({ EDGE_LEGACY_MYSQL_PASSWORD: PASSWORD }, "legacy", "compare", "--mysql", `mysql://${USER}@${DB_HOST}:${db.port}/opensips`);
    expect(r.stdout).toMatch(/summary: same 3, different 0, only in legacy 0, only here 0, expired legacy rows 1/);
    expect(r.code).toBe(0);
    // The legacy side moves on (the phone came back from another port): different, both shown.
    await db.sql("UPDATE endpoint_locations SET contact_port = '5099' WHERE aor = ?", [`202@${A}`], "opensips");
    r = await edgectl("legacy", "compare", "--mysql", url("opensips"));
    expect(r.code).toBe(7);
    expect(r.stdout).toContain(`different    202@${A}\n  legacy: sip:202@192.0.2.22:5062 via 192.0.2.22:5099`);
    expect(r.stdout).toContain("  here:   sip:202@192.0.2.22:5062 via 192.0.2.22:5062");
    await db.sql("UPDATE endpoint_locations SET contact_port = '5062' WHERE aor = ?", [`202@${A}`], "opensips");
  });

  it("round trip: export into an empty legacy table gives back the same live rows", async () => {
    await createLegacyDb("rollback");
    const r = await edgectl("legacy", "export", "--mysql", url("rollback"));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/inserted:\s+3\n/);
    const live = (await legacyRows("opensips")).filter((row) => row.aor !== EXPIRED.aor);
    expect(await legacyRows("rollback")).toEqual(live);
    // The same export again finds nothing to change.
    const again = await edgectl("legacy", "export", "--mysql", url("rollback"), "--json");
    expect(JSON.parse(again.stdout)).toMatchObject({ inserted: 0, updated: 0, deleted: 0, unchanged: 3 });
  });

  it("writes nothing when the export fails half way: the transaction is rolled back", async () => {
    await createLegacyDb("halfway");
    await insertRows("halfway", [FOREIGN]);
    await db.sql(
      `CREATE TRIGGER refuse_301 BEFORE INSERT ON endpoint_locations FOR EACH ROW
        IF NEW.aor = '301@${B}' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'; END IF`,
      [],
      "halfway",
    );
    const r = await edgectl("legacy", "export", "--mysql", url("halfway"));
    expect(r.code).toBe(8);
    expect(r.stderr).toMatch(/writing failed: refused by the test/);
    expect(await legacyRows("halfway")).toEqual([FOREIGN]);
  });

  it("CSV: export, then import and compare from the file; duplicates and garbage lines are refused", async () => {
    const file = join(work, "rollback.csv");
    expect((await edgectl("legacy", "export", "--csv", file)).code).toBe(0);
    const text = await readFile(file, "utf8");
    const live = (await legacyRows("opensips")).filter((row) => row.aor !== EXPIRED.aor);
    expect(text).toBe(["aor,contact_ip,contact_port,contact_uri,expires", ...live.map((l) => Object.values(l).join(","))].join("\n") + "\n");
    expect((await edgectl("legacy", "compare", "--csv", file)).code).toBe(0);

    const edited = join(work, "edited.csv");
    await writeFile(
      edited,
      text +
        `204@${A},192.0.2.24,5060,sip:204@192.0.2.24,${inMinutes(60)}\n` +
        `205@${A},192.0.2.25,5060,sip:205@192.0.2.25,${inMinutes(60)}\n` +
        `205@${A},192.0.2.26,5060,sip:205@192.0.2.26,${inMinutes(60)}\n` +
        `this line is garbage\n` +
        `${EXPIRED.aor},${EXPIRED.contact_ip},${EXPIRED.contact_port},${EXPIRED.contact_uri},${EXPIRED.expires}\n`,
    );
    const r = await edgectl("legacy", "import", "--csv", edited);
    expect(r.code).toBe(7);
    expect(r.stdout).toMatch(/inserted:\s+1\n/);
    expect(r.stdout).toMatch(/unchanged:\s+3\n/);
    expect(r.stdout).toMatch(/expired:\s+1 \(skipped\)/);
    expect(r.stdout).toContain(`refused line 6 (205@${A}): AoR given 2 times (line 6, line 7)`);
    expect(r.stdout).toContain(`refused line 7 (205@${A}): AoR given 2 times (line 6, line 7)`);
    expect(r.stdout).toContain("refused line 8: 1 fields, expected 5");
    expect((await stack.bindings(`204@${A}`)).map((b) => b.contact)).toEqual([`sip:204@192.0.2.24`]);
    expect(await stack.bindings(`205@${A}`)).toEqual([]);
    // 204 is now registered here only.
    const compared = await edgectl("legacy", "compare", "--mysql", url("opensips"), "--json");
    expect(compared.code).toBe(7);
    expect((JSON.parse(compared.stdout) as { aors: { aor: string; status: string }[] }).aors).toContainEqual(
      expect.objectContaining({ aor: `204@${A}`, status: "only-here" }),
    );

    const wrongHeader = join(work, "wrong.csv");
    await writeFile(wrongHeader, "user,ip,port\n");
    const bad = await edgectl("legacy", "import", "--csv", wrongHeader);
    expect(bad.code).toBe(8);
    expect(bad.stderr).toMatch(/the first line must be the header 'aor,contact_ip,contact_port,contact_uri,expires'/);
  });

  it("mirror keeps the legacy table equal to the bindings until SIGTERM, then exits 0", async () => {
    await createLegacyDb("mirror");
    const child = execFile(process.execPath, [join(REPO_ROOT, "bin", "edgectl.js"), "legacy", "mirror", "--mysql", url("mirror"), "--interval", "1"], {
      env: { ...process.env, EDGE_ADMIN_URL: stack.workerUrl, EDGE_ADMIN_TOKEN: stack.adminToken },
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const until = async (what: string, check: (rows: Row[]) => boolean) => {
        const deadline = Date.now() + 20_000;
        while (!check(await legacyRows("mirror"))) {
          if (Date.now() > deadline) throw new Error(`mirror: ${what} not reached; stdout ${stdout} stderr ${stderr}`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      };
      await until("first pass", (rows) => rows.length === 4);
      expect((await legacyRows("mirror")).map((r) => r.aor)).toEqual([`201@${A}`, `202@${A}`, `204@${A}`, `301@${B}`]);
      // Our side changes: a binding removed, another imported; the next passes follow.
      expect((await edgectl("location", "rm", `204@${A}`)).code).toBe(0);
      const csv = join(work, "one.csv");
      await writeFile(csv, `aor,contact_ip,contact_port,contact_uri,expires\n206@${A},192.0.2.6,5060,sip:206@192.0.2.6,${inMinutes(60)}\n`);
      expect((await edgectl("legacy", "import", "--csv", csv)).code).toBe(0);
      await until("204 removed and 206 added", (rows) => rows.map((r) => r.aor).join() === [`201@${A}`, `202@${A}`, `206@${A}`, `301@${B}`].join());
    } finally {
      child.kill("SIGTERM");
    }
    const code = await waitAtMost(exited, 15_000);
    outputs.push(stdout, stderr);
    expect(code).toBe(0);
    expect(stderr).toMatch(/stopped after \d+ pass/);
    expect(stdout).toMatch(/pass \d+: inserted 4, updated 0, deleted 0/);
  });

  it("mirror retries a pass that failed (the table gone for a while) and stops after its pass when asked", async () => {
    await createLegacyDb("flaky");
    const stop = new AbortController();
    let stdout = "";
    let stderr = "";
    const running = runLegacyCommandLine(["legacy", "mirror", "--mysql", url("flaky"), "--interval", "1"], {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
      env: { EDGE_ADMIN_URL: stack.workerUrl, EDGE_ADMIN_TOKEN: stack.adminToken },
      fetch: (u, init) => fetch(u, init),
      stop: stop.signal,
    });
    const until = async (what: string, check: () => Promise<boolean>) => {
      const deadline = Date.now() + 20_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`mirror: ${what} not reached; stdout ${stdout} stderr ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    try {
      await until("first pass", async () => (await legacyRows("flaky")).length === 4);
      await db.sql("RENAME TABLE endpoint_locations TO parked", [], "flaky");
      await until("a failed pass", async () => /pass \d+ failed, trying again in 1 s: .*endpoint_locations/.test(stderr));
      await db.sql("DELETE FROM parked WHERE aor = ?", [`201@${A}`], "flaky");
      await db.sql("RENAME TABLE parked TO endpoint_locations", [], "flaky");
      await until("the row put back", async () => (await legacyRows("flaky")).length === 4);
    } finally {
      stop.abort();
    }
    expect(await running).toBe(0);
    outputs.push(stdout, stderr);
    expect(stderr).toMatch(/stopped after \d+ passes\n$/);
    expect(stdout).toMatch(/pass \d+: inserted 1, updated 0, deleted 0\n$/);
  });

  it("reports an unreachable server, a refused login, a missing table and a table of another shape (exit 8)", async () => {
    const dead = await freeTcpPort("127.0.23.42");
    const unreachable = await edgectl("legacy", "compare", "--mysql", `mysql://${USER}:${ENCODED}@127.0.23.42:${dead}/opensips`);
    expect(unreachable.code).toBe(8);
    expect(unreachable.stderr).toBe(`edgectl: cannot use MySQL at mysql://${USER}:***@127.0.23.42:${dead}/opensips: connection refused\n`);

    const wrongPassword = await edgectl("legacy", "import", "--mysql", db.url(USER, `${PASSWORD}-wrong`, "opensips"));
    expect(wrongPassword.code).toBe(8);
    expect(wrongPassword.stderr).toMatch(/login refused: Access denied for user 'legacy'/);

    await createLegacyDb("empty", []);
    const missing = await edgectl("legacy", "import", "--mysql", url("empty"));
    expect(missing.code).toBe(8);
    expect(missing.stderr).toMatch(/table endpoint_locations does not exist in database empty/);

    await createLegacyDb("othershape", ["CREATE TABLE endpoint_locations (aor VARCHAR(255) PRIMARY KEY, contact VARCHAR(255), expires INT)"]);
    const shape = await edgectl("legacy", "export", "--mysql", url("othershape"));
    expect(shape.code).toBe(8);
    expect(shape.stderr).toMatch(/has another shape: expected \(aor varchar primary key, contact_ip varchar, .*found \(aor varchar primary key, contact varchar, expires int\)/);
    expect(await db.rows("SELECT * FROM endpoint_locations", [], "othershape")).toEqual([]);

    await createLegacyDb("myisam", [ENDPOINT_LOCATIONS_DDL[0]!.replace("ENGINE=InnoDB", "ENGINE=MyISAM")]);
    const myisam = await edgectl("legacy", "export", "--mysql", url("myisam"));
    expect(myisam.code).toBe(8);
    expect(myisam.stderr).toMatch(/uses the MyISAM engine, which has no transactions/);

    const usage = await edgectl("legacy", "import", "--mysql", `http://${USER}:${ENCODED}@x/db`);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain(`http://${USER}:***@x/db`);
  });

  it("never prints the password, raw or URL-encoded", () => {
    expect(outputs.length).toBeGreaterThan(20);
    for (const text of outputs) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(ENCODED);
    }
    expect(outputs.join("")).toContain(`${USER}:***@`);
  });
});
