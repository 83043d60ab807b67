// Run by `npm test` before vitest: the end-to-end tests need sipp, kamailio and kamcmd (the stand-in tenant
// registrar), baresip (interop), chromium (the admin page in a real browser, driven by playwright-core;
// Debian's build, never a browser download), and mariadbd + mariadb-install-db (a throw-away legacy MySQL
// for the endpoint_locations cut-over; the tests start their own server, never the system service). A
// missing tool is installed with apt-get when running as root;
// otherwise the script fails and prints the command to run. It never skips silently.
import { spawnSync } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import path from "node:path";

/** Executables the test suite needs, with the Debian package that provides each. */
const REQUIRED: ReadonlyArray<{ readonly bin: string; readonly pkg: string }> = [
  { bin: "sipp", pkg: "sip-tester" },
  { bin: "kamailio", pkg: "kamailio" },
  { bin: "kamcmd", pkg: "kamailio" },
  { bin: "baresip", pkg: "baresip-core" },
  { bin: "chromium", pkg: "chromium" },
  { bin: "mariadbd", pkg: "mariadb-server" },
  { bin: "mariadb-install-db", pkg: "mariadb-server" },
];
const PACKAGES = ["sip-tester", "kamailio", "baresip-core", "chromium", "mariadb-server"];
const INSTALL_COMMAND = `sudo apt-get update && sudo apt-get install -y ${PACKAGES.join(" ")}`;

// Debian puts kamailio, kamcmd and mariadbd in /usr/sbin, which is not on a non-root user's PATH.
const SEARCH_DIRS = [
  ...(process.env.PATH ?? "").split(path.delimiter).filter(Boolean),
  "/usr/local/sbin",
  "/usr/sbin",
  "/sbin",
];

function locate(bin: string): string | undefined {
  for (const dir of SEARCH_DIRS) {
    const candidate = path.join(dir, bin);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function missingTools(): typeof REQUIRED {
  return REQUIRED.filter((tool) => locate(tool.bin) === undefined);
}

/** Runs a command with inherited stdio (output streams through); exits the script when it fails. */
function run(command: string, args: readonly string[]): void {
  console.log(`ensure-test-deps: $ ${command} ${args.join(" ")}`);
  const result = spawnSync(command, args, {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (result.error) {
    console.error(`ensure-test-deps: could not run ${command}: ${result.error.message}`);
    process.exit(1);
  }
  if (result.status !== 0) {
    console.error(`ensure-test-deps: ${command} ${args.join(" ")} failed (${result.signal ?? `exit ${result.status}`})`);
    process.exit(result.status ?? 1);
  }
}

function describe(tools: typeof REQUIRED): string {
  return tools.map((t) => `${t.bin} (package ${t.pkg})`).join(", ");
}

let missing = missingTools();
if (missing.length > 0) {
  console.error(`ensure-test-deps: missing ${describe(missing)}`);
  if (process.getuid?.() !== 0) {
    console.error("ensure-test-deps: the end-to-end tests need them; install with:");
    console.error(`  ${INSTALL_COMMAND}`);
    process.exit(1);
  }
  run("apt-get", ["update"]);
  run("apt-get", ["install", "-y", ...PACKAGES]);
  missing = missingTools();
  if (missing.length > 0) {
    console.error(`ensure-test-deps: still missing after apt-get install: ${describe(missing)}`);
    process.exit(1);
  }
}
console.log(`ensure-test-deps: ok: ${REQUIRED.map((t) => `${t.bin}=${locate(t.bin)}`).join(" ")}`);
