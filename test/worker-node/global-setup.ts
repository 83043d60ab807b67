// The worker suite on the Node runtime: one temporary folder for the embedded libSQL files of the test
// files (each file opens its own runtime on its own file, see runtime.ts), removed at the end.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), "edge-worker-node-test-"));
  project.provide("nodeStoreDir", dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
