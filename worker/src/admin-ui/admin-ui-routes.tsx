/**
 * The admin web page under /admin/ui (docs/admin-ui.md): login with the admin token (a POSTed form, never a
 * URL), a stateless signed session cookie, tenants with their destinations, bindings per tenant with a
 * search by extension, removal of a binding behind a confirmation step, and the gateway's rollback-trigger
 * figures. Every state-changing request is a POST that needs the session's CSRF token and a same-origin
 * Origin / Sec-Fetch-Site; every answer carries a Content-Security-Policy that allows no script.
 * It reads and writes through the same store methods as the admin API.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { csrf as originCheck } from "hono/csrf";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import type { JSX } from "hono/jsx/jsx-runtime";
import { acceptedAdminTokens, ConfigError, isAdminToken, type Env } from "../config/env";
import { getServices, getSharedServices, jsonLog } from "../services";
import { StoreError } from "../store/store";
import { readGatewayMetrics } from "./gateway-metrics";
import { csrfToken, csrfTokenMatches, issueSession, SESSION_COOKIE, SESSION_LIFETIME_S, sessionKey, verifySession, type Session } from "./session";
import { FAVICON_SVG, STYLE_SHEET } from "./style";
import { ConfirmRemovePage, DashboardPage, LoginPage, MessagePage, queryString, UI_BASE, type BindingQuery } from "./views";

/** The worker's bindings plus the page's own optional ones. */
export type AdminUiEnv = Env & {
  /** The gateway's Prometheus endpoint, e.g. `http://127.0.0.1:9090/metrics`; unset: figures not available. */
  GATEWAY_METRICS_URL?: string;
  /** Optional bearer token for that endpoint (a metrics URL behind an authenticating proxy). */
  GATEWAY_METRICS_TOKEN?: string;
};

interface SessionVars {
  session: Session;
  csrf: string;
}

/** One Hono environment for the whole page; `session` and `csrf` are set only behind requireSession. */
type UiHonoEnv = { Bindings: AdminUiEnv; Variables: SessionVars };
type Ctx = Context<UiHonoEnv>;

/** Bindings listed on one page at most. */
export const BINDINGS_PAGE_LIMIT = 500;

/** No script, no inline style, no framing, forms only to this origin. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const nowS = (): number => Math.floor(Date.now() / 1000);

/** 127.0.0.0/8, ::1 and localhost: where plain http is allowed for a local run (`npm start`). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === "localhost" || h === "[::1]" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Whether the session cookie gets `Secure`: always over https; over plain http only a loopback host is
 * served at all (a local run), without `Secure` since the browser would not send it back over http.
 * Elsewhere plain http is refused: the token must not cross a network in clear.
 */
function transport(c: Ctx): "secure" | "loopback-http" | "refused" {
  const url = new URL(c.req.url);
  if (url.protocol === "https:") return "secure";
  return isLoopbackHost(url.hostname) ? "loopback-http" : "refused";
}

async function html(c: Ctx, node: JSX.Element, status: 200 | 400 | 401 | 403 | 404 | 413 | 500 | 503 = 200): Promise<Response> {
  return c.html(`<!DOCTYPE html>${await node.toString()}`, status);
}

function query(c: Ctx): BindingQuery {
  return readQuery((k) => c.req.query(k));
}

function readQuery(get: (key: string) => unknown): BindingQuery {
  const ext = get("ext");
  const tenant = get("tenant");
  const clean = (v: unknown, max: number): string | undefined => {
    if (typeof v !== "string") return undefined;
    const t = v.trim();
    // Control characters are in no SIP user part or host name.
    return t === "" || t.length > max || /\p{Cc}/u.test(t) ? undefined : t;
  };
  return { ext: clean(ext, 128), tenant: clean(tenant, 253)?.toLowerCase() };
}

async function currentSession(c: Ctx): Promise<Session | undefined> {
  const { config } = getSharedServices(c.env);
  const cookie = getCookie(c, SESSION_COOKIE);
  // During an ADMIN_TOKEN rotation window a session issued under the previous token still holds.
  for (const token of acceptedAdminTokens(config)) {
    const session = await verifySession(await sessionKey(token), cookie, nowS());
    if (session) return session;
  }
  return undefined;
}

/** GET pages: no valid session -> the login page (303). POST: no valid session -> 401. */
const requireSession = createMiddleware<UiHonoEnv>(async (c, next) => {
  const session = await currentSession(c);
  if (!session) {
    if (c.req.method === "GET" || c.req.method === "HEAD") return c.redirect(`${UI_BASE}/login`, 303);
    return html(
      c,
      <MessagePage title="Not logged in" message="Your session has expired or is not valid. Log in again." link={{ href: `${UI_BASE}/login`, text: "Log in" }} />,
      401,
    );
  }
  const { config } = getSharedServices(c.env);
  c.set("session", session);
  c.set("csrf", await csrfToken(await sessionKey(config.adminToken), session));
  await next();
  return undefined;
});

/** A POSTed form with the session's CSRF token; 403 without it. */
async function checkedForm(c: Ctx): Promise<Record<string, unknown>> {
  const form = await c.req.parseBody().catch(() => {
    throw new HTTPException(400, { message: "The form could not be read." });
  });
  const { config } = getSharedServices(c.env);
  if (!(await csrfTokenMatches(await sessionKey(config.adminToken), c.get("session"), form["csrf"]))) {
    throw new HTTPException(403, { message: "The form's security token is missing or does not belong to this session. Reload the page and try again." });
  }
  return form;
}

/** Routes under /admin/ui. */
export function createAdminUiRoutes(): Hono<UiHonoEnv> {
  const ui = new Hono<UiHonoEnv>();

  ui.use("*", async (c, next) => {
    await next();
    c.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    c.header("X-Frame-Options", "DENY");
    c.header("Cross-Origin-Opener-Policy", "same-origin");
    if (!c.res.headers.has("Cache-Control")) c.header("Cache-Control", "no-store");
  });
  // The overview lives at /admin/ui; /admin/ui/ (as people type it) is sent there.
  ui.use("*", async (c, next) => {
    if (c.req.method === "GET" && c.req.path === `${UI_BASE}/`) return c.redirect(UI_BASE + new URL(c.req.url).search, 301);
    await next();
    return undefined;
  });
  // State-changing requests: small bodies only, and from this origin only (Origin or Sec-Fetch-Site), on top
  // of SameSite=Strict and the per-session CSRF token.
  ui.on("POST", "*", bodyLimit({ maxSize: 8 * 1024, onError: () => { throw new HTTPException(413, { message: "The form is too large." }); } }));
  ui.on("POST", "*", originCheck());

  ui.get("/style.css", (c) => {
    c.header("Cache-Control", "public, max-age=3600");
    return c.body(STYLE_SHEET, 200, { "Content-Type": "text/css; charset=utf-8" });
  });
  ui.get("/favicon.svg", (c) => {
    c.header("Cache-Control", "public, max-age=86400");
    return c.body(FAVICON_SVG, 200, { "Content-Type": "image/svg+xml" });
  });

  ui.get("/login", async (c) => {
    if (transport(c) === "refused") return html(c, <LoginPage error="This page must be opened over https." />, 403);
    if (await currentSession(c)) return c.redirect(UI_BASE, 303);
    return html(c, <LoginPage info={c.req.query("out") !== undefined ? "You are logged out." : undefined} />);
  });

  ui.post("/login", async (c) => {
    const how = transport(c);
    if (how === "refused") return html(c, <LoginPage error="This page must be opened over https." />, 403);
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const token = form["token"];
    const { config } = getSharedServices(c.env);
    const ip = c.req.header("cf-connecting-ip") ?? null;
    const valid = typeof token === "string" && token !== "" && (await isAdminToken(config, token));
    if (!valid) {
      // Never the submitted value: it may be a real token with a typo.
      jsonLog({ msg: "admin ui login refused", ip });
      return html(c, <LoginPage error="That token is not valid." />, 401);
    }
    const { value } = await issueSession(await sessionKey(config.adminToken), nowS());
    setCookie(c, SESSION_COOKIE, value, {
      path: UI_BASE,
      httpOnly: true,
      secure: how === "secure",
      sameSite: "Strict",
      maxAge: SESSION_LIFETIME_S,
    });
    jsonLog({ msg: "admin ui login", ip });
    return c.redirect(UI_BASE, 303);
  });

  ui.post("/logout", async (c) => {
    const session = await currentSession(c);
    if (session) {
      const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
      const { config } = getSharedServices(c.env);
      if (!(await csrfTokenMatches(await sessionKey(config.adminToken), session, form["csrf"]))) {
        throw new HTTPException(403, { message: "The form's security token is missing or does not belong to this session." });
      }
    }
    deleteCookie(c, SESSION_COOKIE, { path: UI_BASE, secure: transport(c) === "secure", httpOnly: true, sameSite: "Strict" });
    return c.redirect(`${UI_BASE}/login?out`, 303);
  });

  const authed = new Hono<UiHonoEnv>();
  authed.use("*", requireSession);

  const dashboard = async (c: Ctx): Promise<Response> => {
    const q = query(c);
    const { store } = getServices(c.env);
    const [tenants, rows, metrics] = await Promise.all([
      store.loadTenants(),
      store.listBindings({ domain: q.tenant, username: q.ext, limit: BINDINGS_PAGE_LIMIT + 1 }),
      readGatewayMetrics(c.env.GATEWAY_METRICS_URL, c.env.GATEWAY_METRICS_TOKEN),
    ]);
    const removed = c.req.query("removed");
    const gone = c.req.query("gone");
    return html(
      c,
      <DashboardPage
        csrf={c.get("csrf")}
        tenants={tenants}
        bindings={rows.slice(0, BINDINGS_PAGE_LIMIT)}
        truncated={rows.length > BINDINGS_PAGE_LIMIT}
        limit={BINDINGS_PAGE_LIMIT}
        query={q}
        metrics={metrics}
        notice={removed !== undefined && /^\d{1,15}$/.test(removed) ? `Binding ${removed} removed.` : undefined}
        error={gone !== undefined && /^\d{1,15}$/.test(gone) ? `Binding ${gone} was already gone.` : undefined}
        now={nowS()}
      />,
    );
  };
  authed.get("/", dashboard);

  authed.get("/bindings/:id/remove", async (c) => {
    const id = bindingId(c.req.param("id"));
    const binding = await getServices(c.env).store.getBinding(id);
    const q = query(c);
    if (!binding) {
      return html(
        c,
        <MessagePage title="No such binding" message={`Binding ${id} does not exist (it may have been removed or expired).`} csrf={c.get("csrf")} link={{ href: `${UI_BASE}${queryString(q)}`, text: "Back to the bindings" }} />,
        404,
      );
    }
    return html(c, <ConfirmRemovePage binding={binding} csrf={c.get("csrf")} now={nowS()} query={q} />);
  });

  authed.post("/bindings/:id/remove", async (c) => {
    const id = bindingId(c.req.param("id"));
    const form = await checkedForm(c);
    const q = readQuery((k) => form[k]);
    const s = getServices(c.env);
    // A removal leaves a tombstone, as the admin API's does, so that a late 2xx cannot bring the binding back.
    const deleted = await s.store.deleteBinding(id, Math.floor(Date.now() / 1000) + s.config.tombstoneTtlS);
    jsonLog({ msg: "admin ui binding removal", id, deleted, ip: c.req.header("cf-connecting-ip") ?? null });
    const back = new URLSearchParams(queryString(q));
    back.set(deleted ? "removed" : "gone", String(id));
    return c.redirect(`${UI_BASE}?${back.toString()}`, 303);
  });

  // Mounted after the public routes (style, icon, login, logout): Hono runs matching handlers in the order
  // they were registered, so those answer before requireSession, a "*" middleware here, is reached.
  ui.route("/", authed);

  // Registered last: only what no route above answered (and, behind requireSession, only when logged in).
  // The app's own notFound (JSON) would otherwise answer, since a mounted app's notFound is not used.
  ui.all("*", (c) =>
    html(c, <MessagePage title="Not found" message="There is no such page." link={{ href: UI_BASE, text: "Back to the overview" }} />, 404),
  );
  ui.onError((err, c) => {
    if (err instanceof HTTPException) {
      const status = ([400, 401, 403, 404, 413].includes(err.status) ? err.status : 400) as 400 | 401 | 403 | 404 | 413;
      const message = err.message || (status === 403 ? "This request did not come from this site's own forms." : "The request was refused.");
      return html(c, <MessagePage title="Request refused" message={message} link={{ href: UI_BASE, text: "Back to the overview" }} />, status);
    }
    if (err instanceof StoreError) {
      jsonLog({ msg: "store error", error: err.message });
      return html(c, <MessagePage title="Store unavailable" message={`The store did not answer (${err.operation}). Try again shortly.`} link={{ href: UI_BASE, text: "Reload" }} />, 503);
    }
    if (err instanceof ConfigError) {
      jsonLog({ msg: "configuration error", error: err.message });
      return html(c, <MessagePage title="Misconfigured" message={`The worker is misconfigured: ${err.message}`} link={{ href: UI_BASE, text: "Reload" }} />, 500);
    }
    jsonLog({ msg: "unexpected error", error: err instanceof Error ? err.stack : String(err) });
    return html(c, <MessagePage title="Internal error" message="Something went wrong on our side." link={{ href: UI_BASE, text: "Back to the overview" }} />, 500);
  });
  return ui;
}

function bindingId(raw: string): number {
  if (!/^\d{1,15}$/.test(raw)) throw new HTTPException(400, { message: "A binding id is a positive integer." });
  return Number(raw);
}
