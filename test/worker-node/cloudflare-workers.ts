// "cloudflare:workers" for the worker suite on Node (vitest.config.ts aliases it here): the same `env` and
// `exports` surface the suite uses under vitest-pool-workers, backed by the Node runtime.
import { createApp } from "../../worker/src/app";
import { env as nodeEnv } from "./runtime";

// worker/src/index.ts's fetch is this app's (index.ts itself is typed against the Workers types).
const app = createApp();

export const env = nodeEnv;

/** The worker's default export, as `exports.default` (its fetch handler, bound to the env). */
export const exports = {
  default: {
    fetch: (req: Request): Promise<Response> => Promise.resolve(app.fetch(req, nodeEnv)),
  },
};
