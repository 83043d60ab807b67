/**
 * The worker's HTTP surface: `/v1/*` for the gateway (signed), `/admin/v1/*` for operators (bearer token).
 * Errors map to JSON `{error}` with their status; nothing answers without authentication.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { createAdminRoutes } from "./admin/admin-routes";
import { createAdminUiRoutes } from "./admin-ui/admin-ui-routes";
import { ConfigError, type Env } from "./config/env";
import { createGatewayRoutes } from "./gateway/gateway-routes";
import { jsonLog } from "./services";
import { StoreError } from "./store/store";

/** Builds the Hono application. */
export function createApp(): Hono<{ Bindings: Env }> {
  const app = new Hono<{ Bindings: Env }>();
  app.route("/v1", createGatewayRoutes());
  app.route("/admin/v1", createAdminRoutes());
  app.route("/admin/ui", createAdminUiRoutes());
  app.notFound((c) => c.json({ error: "not found" }, 404));
  app.onError((err, c) => {
    if (err instanceof HTTPException) return c.json({ error: err.message }, err.status);
    if (err instanceof StoreError) {
      jsonLog({ msg: "store error", error: err.message });
      return c.json({ error: `store unavailable: ${err.message}` }, 503);
    }
    if (err instanceof ConfigError) {
      jsonLog({ msg: "configuration error", error: err.message });
      // Before authentication a caller learns nothing about the configuration; the log names the variable.
      return c.json({ error: "internal error" }, 500);
    }
    jsonLog({ msg: "unexpected error", error: err instanceof Error ? err.stack : String(err) });
    return c.json({ error: "internal error" }, 500);
  });
  return app;
}
