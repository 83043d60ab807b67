// Where the Debian packages the tests drive keep their loadable modules, found at run time from the
// installed programs themselves, so that nothing assumes one architecture's library layout.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

let kamailioModules: string | undefined;
let baresipModules: string | undefined;

/** Kamailio's module directory, as the binary was built to load from (`kamailio -I`: "Default paths to modules"). */
export function kamailioModulesDir(kamailio = "kamailio"): string {
  if (kamailioModules !== undefined) return kamailioModules;
  const info = execFileSync(kamailio, ["-I"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const line = /Default paths to modules:\s*(\S+)/.exec(info);
  const dir = line?.[1]?.split(":").find((d) => existsSync(path.join(d, "sl.so")));
  if (dir === undefined) throw new Error(`cannot tell where kamailio's modules are: \`${kamailio} -I\` names no directory holding sl.so`);
  kamailioModules = dir;
  return dir;
}

/** True when Kamailio has `module` (for example "db_sqlite.so") in its module directory. */
export function kamailioHasModule(module: string, kamailio = "kamailio"): boolean {
  return existsSync(path.join(kamailioModulesDir(kamailio), module));
}

/**
 * baresip's module directory: the one the installed package ships account.so in (dpkg's file list), else
 * the usual prefixes. baresip has no flag that prints its built-in path, so the package is asked.
 */
export function baresipModulesDir(): string {
  if (baresipModules !== undefined) return baresipModules;
  const candidates: string[] = [];
  for (const pkg of ["baresip-core", "baresip"]) {
    try {
      const files = execFileSync("dpkg-query", ["-L", pkg], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      for (const f of files.split("\n")) if (f.endsWith("/account.so")) candidates.push(path.dirname(f));
    } catch {
      // not installed under that name, or not a dpkg system
    }
  }
  candidates.push("/usr/lib/baresip/modules", "/usr/local/lib/baresip/modules", "/usr/lib64/baresip/modules");
  const dir = candidates.find((d) => existsSync(path.join(d, "account.so")));
  if (dir === undefined) throw new Error("cannot find baresip's modules (account.so): is baresip-core installed?");
  baresipModules = dir;
  return dir;
}
