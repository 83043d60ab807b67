/** The Worker entry: HTTP via Hono, and the cron trigger that sweeps expired bindings. */
import { createApp } from "./app";
import type { Env } from "./config/env";
import { sweepExpired } from "./cron/sweep-expired";
import { getServices } from "./services";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    const s = getServices(env);
    const run = sweepExpired(s.store, Math.floor(Date.now() / 1000), s.config.sweepBatch, s.config.sweepMaxBatches).then(
      (r) => s.log({ msg: "expired bindings swept", ...r }),
    );
    ctx.waitUntil(run);
    await run;
  },
} satisfies ExportedHandler<Env>;
