// Proves that the worker bundles for every deployed environment, offline: `wrangler deploy --dry-run`
// into a temporary folder, then checks the bundle is there. Run by CI (`npm run deploy:check`).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const ENVIRONMENTS = ["staging", "production"] as const;
const out = mkdtempSync(path.join(os.tmpdir(), "edge-deploy-check-"));
let failed = 0;
try {
  for (const env of ENVIRONMENTS) {
    const dir = path.join(out, env);
    const r = spawnSync("npx", ["wrangler", "deploy", "--dry-run", "--env", env, "--outdir", dir], {
      encoding: "utf8",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_SEND_ERROR_REPORTS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
      timeout: 120_000,
    });
    const bundle = path.join(dir, "index.js");
    if (r.status !== 0 || !existsSync(bundle)) {
      failed += 1;
      console.error(`deploy-check: ${env}: wrangler exited ${r.status}\n${r.stdout}\n${r.stderr}`);
      continue;
    }
    console.log(`deploy-check: ${env}: bundle ${(statSync(bundle).size / 1024).toFixed(0)} KiB`);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
process.exit(failed === 0 ? 0 : 1);
