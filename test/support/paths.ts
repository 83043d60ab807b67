import path from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of the repository root (this file lives in test/support/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The stand-in tenant PBX (digest registrar for tenant-a.example and tenant-b.example) configuration. */
export const UPSTREAM_CFG = path.join(REPO_ROOT, "test/e2e/kamailio/stand-in-registrar.cfg");

/** Folder of our own sipp scenarios, named after the outcome they assert. */
export const E2E_SCENARIOS_DIR = path.join(REPO_ROOT, "test/e2e/scenarios");

/** Absolute path of one scenario in test/e2e/scenarios (`name` with or without `.xml`). */
export function scenarioPath(name: string): string {
  return path.join(E2E_SCENARIOS_DIR, name.endsWith(".xml") ? name : `${name}.xml`);
}
