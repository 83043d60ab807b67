// `edgectl legacy ...` in-process through the CLI harness: command-line checks, help, and what the CSV
// commands send to and print from the admin API (answers built here; the real API and MariaDB are in
// test/e2e/legacy-cutover.test.ts).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonResponse, runCli, type RecordedRequest } from "./cli-harness";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "edgectl-legacy-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const future = (s: number) => new Date((Math.floor(Date.now() / 1000) + s) * 1000).toISOString().slice(0, 19).replace("T", " ");

/** An admin API with one tenant, answering imports with `outcome` and pages with `bindings`. */
function api(bindings: unknown[] = [], outcome = "inserted") {
  return (req: RecordedRequest): Response => {
    const { pathname } = new URL(req.url);
    if (pathname === "/admin/v1/tenants") return jsonResponse(200, { tenants: [{ domain: "tenant-a.example", setid: 1, attrs: "", acceptSubdomain: false, destinations: [] }] });
    if (pathname === "/admin/v1/legacy/import") {
      const { rows } = req.body as { rows: unknown[] };
      return jsonResponse(200, { now: 0, dryRun: false, results: rows.map(() => ({ outcome })) });
    }
    if (pathname === "/admin/v1/legacy/bindings") return jsonResponse(200, { now: 0, bindings, next: null });
    return jsonResponse(404, { error: "not found" });
  };
}

describe("edgectl legacy: command line", () => {
  it.each([
    [["legacy"], /'legacy' needs a subcommand: import, export, compare, mirror/],
    [["legacy", "frob"], /unknown command 'legacy frob'/],
    [["legacy", "import"], /'legacy import' needs --mysql <url> or --csv <file>/],
    [["legacy", "import", "--csv", "a.csv", "--mysql", "mysql://u:pw@h/d"], /either --mysql or --csv, not both/],
    [["legacy", "mirror", "--csv", "a.csv"], /option '--csv' does not apply to 'legacy mirror'/],
    [["legacy", "export", "--csv", "a.csv", "--dry-run"], /option '--dry-run' does not apply to 'legacy export'/],
    [["legacy", "mirror", "--mysql", "mysql://u:pw@h/d", "--interval", "0"], /--interval '0' is not a whole number of seconds in 1\.\.3600/],
    [["legacy", "import", "--mysql", "mysql://u:pw@h"], /must name the database/],
    [["legacy", "import", "--mysql", "postgres://u:pw@h/d"], /must be a mysql:\/\/ or mariadb:\/\/ URL/],
    [["legacy", "import", "mysql://u:pw@h/d"], /unexpected argument 'mysql:\/\/u:\*\*\*@h\/d'/],
  ])("%j is a usage error (exit 2), nothing sent, no password shown", async (argv, message) => {
    const r = await runCli(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toContain(":pw@");
    expect(r.requests).toEqual([]);
  });

  it("finds the legacy command with options before it, and not in an option's value", async () => {
    const before = await runCli(["--url", "http://127.0.0.1:1", "--json", "legacy", "import"]);
    expect(before.stderr).toMatch(/'legacy import' needs --mysql <url> or --csv <file>/);
    const value = await runCli(["tenant", "show", "--domain", "legacy"]);
    expect(value.stderr).toMatch(/option '--domain' does not apply to 'tenant show'/);
  });

  it("lists the legacy commands and exit codes 7 and 8 in the general help, and has its own help", async () => {
    const general = await runCli(["help"]);
    expect(general.stdout).toMatch(/legacy import\s+import the legacy endpoint_locations rows as bindings/);
    expect(general.stdout).toMatch(/\n\s+7\s+a check found a problem: rollback-check fired a trigger, legacy compare found differences/);
    expect(general.stdout).toMatch(/\n\s+8\s+legacy source failed/);
    const group = await runCli(["help", "legacy"]);
    expect(group.stdout).toMatch(/legacy mirror\s+keep the legacy table equal/);
    const one = await runCli(["legacy", "import", "--help"]);
    expect(one.stdout).toMatch(/^Usage: edgectl legacy import \(--mysql <url> \| --csv <file>\) \[--dry-run\] \[--json\]/);
    expect((await runCli(["help", "legacy", "mirror"])).stdout).toMatch(/SIGTERM: the current pass finishes/);
  });
});

describe("edgectl legacy with a CSV file", () => {
  it("imports in batches of at most 200 rows and prints the counts", async () => {
    const file = path.join(dir, "many.csv");
    const lines = Array.from({ length: 450 }, (_, i) => `${1000 + i}@tenant-a.example,192.0.2.1,5060,sip:${1000 + i}@192.0.2.1,${future(600)}`);
    await writeFile(file, `aor,contact_ip,contact_port,contact_uri,expires\n${lines.join("\n")}\n`);
    const r = await runCli(["legacy", "import", "--csv", file], { answer: api() });
    expect(r.code).toBe(0);
    const batches = r.requests.filter((q) => q.url.endsWith("/legacy/import")).map((q) => (q.body as { rows: unknown[]; dryRun: boolean }));
    expect(batches.map((b) => b.rows.length)).toEqual([200, 200, 50]);
    expect(batches.every((b) => b.dryRun === false)).toBe(true);
    expect(r.stdout).toMatch(/rows read:\s+450\ninserted:\s+450\n/);
    const dry = await runCli(["legacy", "import", "--csv", file, "--dry-run"], { answer: api() });
    expect(dry.requests.filter((q) => q.url.endsWith("/legacy/import")).every((q) => (q.body as { dryRun: boolean }).dryRun)).toBe(true);
    expect(dry.stdout).toMatch(/dry run: nothing written/);
  });

  it("an import that fails after some batches says how far it got, and that running it again is safe", async () => {
    const file = path.join(dir, "partial.csv");
    const lines = Array.from({ length: 450 }, (_, i) => `${2000 + i}@tenant-a.example,192.0.2.1,5060,sip:${2000 + i}@192.0.2.1,${future(600)}`);
    await writeFile(file, `aor,contact_ip,contact_port,contact_uri,expires\n${lines.join("\n")}\n`);
    let imports = 0;
    const flaky = (req: RecordedRequest) =>
      req.url.endsWith("/legacy/import") && ++imports === 2 ? jsonResponse(503, { error: "store unavailable: down" }) : api()(req);
    const r = await runCli(["legacy", "import", "--csv", file], { answer: flaky });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "edgectl: 200 of 450 rows were imported before this failure; running the import again is safe\n" +
        "edgectl: store unavailable: down (HTTP 503)\n",
    );
  });

  it("export names each AoR with several bindings and the one kept", async () => {
    const file = path.join(dir, "out.csv");
    const exp = Math.floor(Date.now() / 1000) + 600;
    const b = (id: number, contact: string, q: number) => ({ id, username: "201", domain: "tenant-a.example", contact, received: null, expires: exp, q });
    const r = await runCli(["legacy", "export", "--csv", file], { answer: api([b(1, "sip:201@192.0.2.1", 0.5), b(2, "sip:201@192.0.2.2", 1)]) });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("export to " + file + ": 1 AoR from 2 live bindings");
    expect(r.stdout).toMatch(/several bindings for 201@tenant-a\.example: kept sip:201@192\.0\.2\.2 \(q 1, expires .*\); left out sip:201@192\.0\.2\.1/);
    expect((await readFile(file, "utf8")).split("\n")[1]).toMatch(/^201@tenant-a\.example,192\.0\.2\.2,5060,sip:201@192\.0\.2\.2,/);
  });

  it("a missing file is a legacy source failure (exit 8)", async () => {
    const r = await runCli(["legacy", "compare", "--csv", path.join(dir, "nope.csv")], { answer: api() });
    expect(r.code).toBe(8);
    expect(r.stderr).toMatch(/cannot read .*nope\.csv: no such file/);
  });
});
