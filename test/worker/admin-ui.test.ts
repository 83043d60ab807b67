// The admin page under the Workers runtime: authentication (login form, signed expiring session cookie),
// CSRF on every state-changing form, security headers, and the page's content from the real store.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../worker/src/app";
import { CONTENT_SECURITY_POLICY } from "../../worker/src/admin-ui/admin-ui-routes";
import { csrfToken, issueSession, SESSION_COOKIE, SESSION_LIFETIME_S, sessionKey } from "../../worker/src/admin-ui/session";
import { ADMIN_TOKEN, bindingsOf, createTenant, decide, decideResponse, registerEvent, responseEvent, self, upstreamUri } from "./support";

const ORIGIN = "https://admin.example";
const UI = `${ORIGIN}/admin/ui`;

function get(url: string, cookie?: string, origin = ORIGIN): Promise<Response> {
  const headers: Record<string, string> = {};
  if (cookie) headers["cookie"] = cookie;
  return self.fetch(new Request(url.startsWith("http") ? url : `${origin}${url}`, { headers, redirect: "manual" }));
}

function post(url: string, form: Record<string, string>, cookie?: string, headers: Record<string, string> = {}): Promise<Response> {
  const full = url.startsWith("http") ? url : `${ORIGIN}${url}`;
  const h: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", origin: new URL(full).origin, ...headers };
  if (cookie) h["cookie"] = cookie;
  return self.fetch(new Request(full, { method: "POST", body: new URLSearchParams(form).toString(), headers: h, redirect: "manual" }));
}

/** Logs in through the form; returns the `name=value` cookie pair. */
async function login(origin = ORIGIN): Promise<string> {
  const res = await post(`${origin}/admin/ui/login`, { token: ADMIN_TOKEN });
  expect(res.status).toBe(303);
  const set = res.headers.get("set-cookie") ?? "";
  const pair = set.split(";")[0] ?? "";
  expect(pair.startsWith(`${SESSION_COOKIE}=`)).toBe(true);
  return pair;
}

/** The CSRF token the page put in its forms. */
function csrfOf(html: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(html);
  if (!m?.[1]) throw new Error("no csrf field in the page");
  return m[1];
}

/** A cookie pair signed with the worker's key (or another token's), for an arbitrary issue time. */
async function craftedCookie(issuedAt: number, token = ADMIN_TOKEN, lifetime = SESSION_LIFETIME_S): Promise<string> {
  const { value } = await issueSession(await sessionKey(token), issuedAt, lifetime);
  return `${SESSION_COOKIE}=${value}`;
}

/** Registers `user@domain` through the worker's real REGISTER path (decision, then the registrar's 200). */
async function register(user: string, domain: string, contact: string, userAgent: string): Promise<void> {
  const d = await decide(registerEvent({ user, domain, contacts: [contact], expires: 300, userAgent, source: { ip: "198.51.100.7", port: 40312 }, callId: `ui-${user}-${contact}` }));
  const contacts = d.targets?.[0]?.contacts ?? [];
  await decideResponse(responseEvent(200, d.context ?? "", contacts.map((c) => ({ uri: upstreamUri(c), expires: 300 }))));
}

const T = "ui-tenant.example";
await createTenant(T, "sip:127.0.0.211:5080");
await register("301", T, "sip:301@192.0.2.31:5070", "UI Phone <one>");
await register("302", T, "sip:302@192.0.2.32:5070", "UI Phone two");

describe("admin page: authentication", () => {
  it("sends a request without a session to the login page, whose form POSTs the token (never in a URL)", async () => {
    const res = await get("/admin/ui");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin/ui/login");
    const page = await get("/admin/ui/login");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/^<!DOCTYPE html><html lang="en">/);
    expect(html).toMatch(/<title>Log in · edge-registrar admin<\/title>/);
    expect(html).toMatch(/<form method="post" action="\/admin\/ui\/login">/);
    expect(html).toMatch(/<label for="token">Admin token<\/label>/);
    expect(html).toMatch(/<input id="token" name="token" type="password"/);
    expect(html).not.toMatch(/<script|\sstyle=|\son[a-z]+=/i);
  });

  it("answers 401 to a POST without a session", async () => {
    const res = await post("/admin/ui/bindings/1/remove", { csrf: "x" });
    expect(res.status).toBe(401);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("refuses a wrong, empty or missing token with 401 and no cookie", async () => {
    for (const form of [{ token: ADMIN_TOKEN + "x" }, { token: ADMIN_TOKEN.slice(0, -1) }, { token: "" }, {} as Record<string, string>]) {
      const res = await post("/admin/ui/login", form);
      expect(res.status).toBe(401);
      expect(res.headers.get("set-cookie")).toBeNull();
      expect(await res.text()).toMatch(/That token is not valid/);
    }
  });

  it("sets an HttpOnly, Secure, SameSite=Strict session cookie scoped to the page, and redirects without the token", async () => {
    const res = await post("/admin/ui/login", { token: ADMIN_TOKEN });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin/ui");
    const set = res.headers.get("set-cookie") ?? "";
    expect(set).toMatch(new RegExp(`^${SESSION_COOKIE}=v1\\.\\d+\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}; `));
    expect(set).toMatch(/; Max-Age=28800/);
    expect(set).toMatch(/; Path=\/admin\/ui/);
    expect(set).toMatch(/; HttpOnly/);
    expect(set).toMatch(/; Secure/);
    expect(set).toMatch(/; SameSite=Strict/);
    expect(set).not.toContain(ADMIN_TOKEN);
    const page = await get("/admin/ui", set.split(";")[0]);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<h2 id="tenants-h">Tenants<\/h2>/);
  });

  it("over plain http serves only a loopback host, with a cookie that is not Secure there", async () => {
    const remote = await post("http://admin.example/admin/ui/login", { token: ADMIN_TOKEN });
    expect(remote.status).toBe(403);
    expect(remote.headers.get("set-cookie")).toBeNull();
    expect((await get("http://admin.example/admin/ui/login")).status).toBe(403);
    for (const host of ["127.0.0.1:8787", "localhost:8787", "[::1]:8787"]) {
      const res = await post(`http://${host}/admin/ui/login`, { token: ADMIN_TOKEN });
      expect(res.status).toBe(303);
      const set = res.headers.get("set-cookie") ?? "";
      expect(set).toMatch(/; HttpOnly/);
      expect(set).toMatch(/; SameSite=Strict/);
      expect(set).not.toMatch(/; Secure/);
    }
  });

  it("refuses forged, tampered, expired and over-long cookies", async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = await login();
    const [, value = ""] = good.split("=");
    const [v, exp = "", id = "", sig = ""] = value.split(".");
    const flip = (s: string): string => (s[0] === "A" ? "B" : "A") + s.slice(1);
    const refused = [
      `${SESSION_COOKIE}=${v}.${Number(exp) + 60}.${id}.${sig}`, // expiry pushed out, old signature
      `${SESSION_COOKIE}=${v}.${exp}.${flip(id)}.${sig}`, // another session id
      `${SESSION_COOKIE}=${v}.${exp}.${id}.${flip(sig)}`, // signature changed
      `${SESSION_COOKIE}=${v}.${exp}.${id}`, // no signature
      `${SESSION_COOKIE}=v2.${exp}.${id}.${sig}`,
      `${SESSION_COOKIE}=garbage`,
      await craftedCookie(now, "another-admin-token"), // signed under another token: rotating the token ends sessions
      await craftedCookie(now - SESSION_LIFETIME_S - 1), // expired a second ago
      await craftedCookie(now - 10, ADMIN_TOKEN, 5), // a short session that ran out
      await craftedCookie(now, ADMIN_TOKEN, SESSION_LIFETIME_S + 3600), // validly signed but longer than any session
    ];
    for (const cookie of refused) {
      const res = await get("/admin/ui", cookie);
      expect(res.status, cookie).toBe(303);
      expect(res.headers.get("location")).toBe("/admin/ui/login");
    }
    expect((await get("/admin/ui", good)).status).toBe(200);
    expect((await get("/admin/ui", await craftedCookie(now - SESSION_LIFETIME_S + 60))).status).toBe(200);
  });

  it("logs out only with the session's CSRF token, and clears the cookie", async () => {
    const cookie = await login();
    const csrf = csrfOf(await (await get("/admin/ui", cookie)).text());
    expect((await post("/admin/ui/logout", {}, cookie)).status).toBe(403);
    const out = await post("/admin/ui/logout", { csrf }, cookie);
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe("/admin/ui/login?out");
    expect(out.headers.get("set-cookie")).toMatch(new RegExp(`^${SESSION_COOKIE}=; Max-Age=0; Path=/admin/ui`));
  });
});

describe("admin page: CSRF", () => {
  it("removes a binding only with the session's own CSRF token and a same-origin request", async () => {
    const [b] = await bindingsOf(`302@${T}`);
    if (!b) throw new Error("no binding registered");
    const cookie = await login();
    const other = await login();
    const otherCsrf = csrfOf(await (await get("/admin/ui", other)).text());
    const confirm = await get(`/admin/ui/bindings/${b.id}/remove`, cookie);
    expect(confirm.status).toBe(200);
    const csrf = csrfOf(await confirm.text());
    expect(csrf).not.toBe(otherCsrf);

    const path = `/admin/ui/bindings/${b.id}/remove`;
    expect((await post(path, {}, cookie)).status).toBe(403); // no token
    expect((await post(path, { csrf: "" }, cookie)).status).toBe(403);
    expect((await post(path, { csrf: otherCsrf }, cookie)).status).toBe(403); // another session's token
    expect((await post(path, { csrf: csrf.slice(0, -2) + "AA" }, cookie)).status).toBe(403);
    // A valid token from another site's page (SameSite aside): refused by the origin check.
    expect((await post(path, { csrf }, cookie, { origin: "https://evil.example" })).status).toBe(403);
    expect((await post(path, { csrf }, cookie, { origin: "https://evil.example", "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect(await bindingsOf(`302@${T}`)).toHaveLength(1);

    const ok = await post(path, { csrf, ext: "302" }, cookie);
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe(`/admin/ui?ext=302&removed=${b.id}`);
    expect(await bindingsOf(`302@${T}`)).toEqual([]);
    const again = await post(path, { csrf }, cookie);
    expect(again.headers.get("location")).toBe(`/admin/ui?gone=${b.id}`);
  });

  it("refuses a login POSTed from another site", async () => {
    const res = await post("/admin/ui/login", { token: ADMIN_TOKEN }, undefined, { origin: "https://evil.example" });
    expect(res.status).toBe(403);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("derives the CSRF token from the session, so a forged token for a forged session does not help", async () => {
    const key = await sessionKey("another-admin-token");
    const { value, session } = await issueSession(key, Math.floor(Date.now() / 1000));
    const csrf = await csrfToken(key, session);
    const res = await post("/admin/ui/bindings/1/remove", { csrf }, `${SESSION_COOKIE}=${value}`);
    expect(res.status).toBe(401);
  });
});

describe("admin page: content", () => {
  it("shows tenants with their destinations' state, and bindings with AoR, contact, NAT address, expiry and user agent", async () => {
    const cookie = await login();
    const res = await get("/admin/ui", cookie);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    const html = await res.text();
    expect(html).not.toMatch(/<script|\sstyle=|\son[a-z]+=/i);
    expect(html).toContain(`<th scope="rowgroup" rowspan="1">${T}</th>`);
    expect(html).toMatch(/<td class="mono">sip:127\.0\.0\.211:5080<\/td><td><span class="state state-active">active<\/span>/);
    expect(html).toContain(`<th scope="row" class="mono">301@${T}</th><td class="mono">sip:301@192.0.2.31:5070</td><td class="mono">sip:198.51.100.7:40312</td>`);
    expect(html).toMatch(/<td>(4 min \d+|5 min 0) s<\/td><td>UI Phone &lt;one&gt;<\/td>/);
    expect(html).toContain("Not available: no gateway metrics URL is configured");
  });

  it("finds bindings by extension, across tenants or in one", async () => {
    const cookie = await login();
    const html = await (await get("/admin/ui?ext=301", cookie)).text();
    expect(html).toContain("1 binding of extension 301.");
    expect(html).toContain(`301@${T}`);
    expect(html).not.toContain(`<th scope="row" class="mono">302@`);
    expect(html).toContain('<input id="ext" name="ext" type="search" value="301"');
    const none = await (await get(`/admin/ui?ext=301&tenant=reg-a.example`, cookie)).text();
    expect(none).toContain("0 bindings of extension 301 in reg-a.example.");
  });

  it("sends /admin/ui/ and a logged-in login page to the overview, and answers unknown pages with an HTML 404", async () => {
    const cookie = await login();
    const slash = await get("/admin/ui/?ext=301", cookie);
    expect(slash.status).toBe(301);
    expect(slash.headers.get("location")).toBe("/admin/ui?ext=301");
    const again = await get("/admin/ui/login", cookie);
    expect(again.status).toBe(303);
    expect(again.headers.get("location")).toBe("/admin/ui");
    const missing = await get("/admin/ui/nothing-here", cookie);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toMatch(/^text\/html/);
    expect(missing.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
  });

  it("answers a missing binding's confirmation page with 404, and a bad id with 400", async () => {
    const cookie = await login();
    expect((await get("/admin/ui/bindings/999999999/remove", cookie)).status).toBe(404);
    expect((await get("/admin/ui/bindings/abc/remove", cookie)).status).toBe(400);
  });

  it("says when the gateway's metrics do not answer (app.request with GATEWAY_METRICS_URL on a closed port)", async () => {
    const cookie = await login();
    const app = createApp();
    const res = await app.request(UI, { headers: { cookie } }, { ...env, GATEWAY_METRICS_URL: "http://127.0.0.1:9/metrics" });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/Not available: the gateway&#39;s metrics did not answer \((connection failed|HTTP \d+|no answer within 1500 ms)\)/);
  });
});
