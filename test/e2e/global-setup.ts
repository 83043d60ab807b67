// Bundles the worker once (as `wrangler deploy` does) before the end-to-end files start their stacks in
// parallel, so that they never race on the bundle.
import { bundleWorker } from "../../scripts/local-stack";

export default async function setup(): Promise<void> {
  await bundleWorker(true);
}
