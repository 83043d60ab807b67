// The admin page in a real browser (Debian's chromium driven by playwright-core) against the real stack:
// store endpoint, worker in Miniflare, gateway with its metrics endpoint, the Kamailio stand-in registrar,
// and sipp phones that register through the gateway. Everything is done with the keyboard: log in, search
// an extension, remove one binding behind the confirmation step (checked gone through the admin API), log
// out. Any console error, failed request or unexpected HTTP error fails the test.
// Addresses: this file owns 127.0.26.x (see test/e2e/README.md); the gateway's metrics on 127.0.26.1 as well.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, TENANT_A_DOMAIN as A, TENANT_B_DOMAIN as B, type Upstream } from "../support/kamailio-upstream";
import { focused, startBrowser, tabTo, type TestBrowser } from "../support/browser";
import { createTempDir, freeTcpPort, removeTempDir, stopAllStartedProcesses } from "../support/processes";
import { registerWithDigest } from "../support/sipp";
import { startTestStack, type TestStack } from "../support/stack";

const GW = { ip: "127.0.26.1", port: 5060 };

let work: string;
let shots: string;
let upstream: Upstream;
let stack: TestStack;
let browser: TestBrowser;

/** A sipp phone registers `ext@domain` through the gateway (digest with the stand-in registrar). */
async function register(ext: string, domain: string, phoneIp: string, contactIp: string): Promise<void> {
  await registerWithDigest({ target: `${GW.ip}:${GW.port}`, phone: { ip: phoneIp, port: 5070, contact: `${contactIp}:5070` }, domain, password: "secret", user: ext, workDir: work });
}

beforeAll(async () => {
  work = await createTempDir("admin-page");
  // Kept after the run (unlike `work`), so that the printed screenshot paths can be opened.
  shots = await mkdtemp(join(tmpdir(), "edge-admin-page-screenshots-"));
  upstream = await startUpstream({ addrA: "127.0.26.11", addrB: "127.0.26.12", port: 5080 });
  // The metrics endpoint on this file's own address: its URL is given to the worker before the gateway binds it.
  const metricsPort = await freeTcpPort(GW.ip);
  stack = await startTestStack(work, GW, {
    metricsPort,
    metricsIp: GW.ip,
    workerVars: { TENANT_CACHE_TTL_MS: "0", GATEWAY_METRICS_URL: `http://${GW.ip}:${metricsPort}/metrics` },
  });
  await stack.addTenant(A, `sip:${upstream.addrA}:${upstream.port}`);
  await stack.addTenant(B, `sip:${upstream.addrB}:${upstream.port}`);
  // The same extension in two tenants, and a second extension: the search must tell them apart.
  await register("201", A, "127.0.26.21", "127.0.26.121");
  await register("201", B, "127.0.26.22", "127.0.26.122");
  await register("202", A, "127.0.26.23", "127.0.26.123");
  browser = await startBrowser();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await upstream?.stop();
  await stopAllStartedProcesses();
  await removeTempDir(work);
});

describe("admin page in chromium", () => {
  it("logs in, finds a phone by extension, removes one binding after confirming, and logs out, all by keyboard", async () => {
    const { page, problems } = browser;
    const home = `${stack.workerUrl}/admin/ui`;

    // Not logged in: the login page.
    await page.goto(home);
    expect(new URL(page.url()).pathname).toBe("/admin/ui/login");
    expect(await page.title()).toBe("Log in · edge-registrar admin");
    expect(await page.getAttribute("html", "lang")).toBe("en");

    // Tab from the top: the skip link first, then the token field (labelled), then the button.
    const toToken = await tabTo(page, "#token");
    expect(toToken[0]).toMatchObject({ tag: "a", label: "Skip to main content" });
    expect(await page.getByLabel("Admin token").getAttribute("id")).toBe("token"); // the label names the field
    await page.keyboard.type(stack.adminToken);
    await Promise.all([page.waitForURL(home), page.keyboard.press("Enter")]);
    expect(await page.title()).toBe("Overview · edge-registrar admin");

    // The session cookie: HttpOnly, SameSite=Strict, scoped to the page; not Secure on this loopback http.
    const [cookie, ...others] = await browser.context.cookies(stack.workerUrl + "/admin/ui");
    expect(others).toEqual([]);
    expect(cookie).toMatchObject({ name: "edge_admin_session", path: "/admin/ui", httpOnly: true, sameSite: "Strict", secure: false });

    // Tenants and their destinations' state; the gateway's figures, honest about what it does not count.
    const tenants = page.getByRole("table", { name: "Tenants and the destinations of their dispatcher sets" });
    await expect.poll(() => tenants.getByRole("rowheader").allTextContents()).toEqual([A, B]);
    expect(await tenants.locator("tbody tr").first().locator("td").allTextContents()).toEqual([
      "1",
      `sip:${upstream.addrA}:${upstream.port}`,
      "active",
      "1",
      "0",
    ]);
    const figures = page.locator("dl.figures");
    // Three digest registrations (401, then 200 each): no failure; nothing routed yet; six relays timed.
    expect(await figures.locator("dd").nth(0).textContent()).toBe("0.00 % (0 of 3 registrations; challenges and refusals not counted)");
    expect(await figures.locator("dd").nth(1).textContent()).toBe("not available: no routed requests counted yet");
    expect(await figures.locator("dd").nth(2).textContent()).toMatch(/^\d+\.\d ms \(p99 of 6 relayed requests, arrival to relay\)$/);

    // Search by extension with the keyboard: Tab to the field, type, Enter.
    const toSearch = await tabTo(page, "#ext");
    expect(toSearch.every((s) => s.ringVisible)).toBe(true);
    await page.keyboard.type("201");
    await Promise.all([page.waitForURL(`${home}?ext=201&tenant=`), page.keyboard.press("Enter")]);
    expect(await page.title()).toBe("Extension 201 · edge-registrar admin");
    await expect.poll(() => page.getByRole("status").first().textContent()).toBe("2 bindings of extension 201.");
    const tableA = page.getByRole("table", { name: `Bindings of ${A}` });
    const tableB = page.getByRole("table", { name: `Bindings of ${B}` });
    expect(await tableA.getByRole("columnheader").allTextContents()).toEqual(["AoR", "Contact", "NAT address", "Expires in", "User agent", "Action"]);
    const rowA = tableA.locator("tbody tr");
    expect(await rowA.count()).toBe(1);
    expect(await rowA.getByRole("rowheader").textContent()).toBe(`201@${A}`);
    const cellsA = await rowA.locator("td").allTextContents();
    expect(cellsA.slice(0, 2)).toEqual(["sip:201@127.0.26.121:5070", "sip:127.0.26.21:5070"]);
    expect(cellsA[2]).toMatch(/^(4 min \d+|5 min 0) s$/);
    expect(cellsA[3]).toBe("sipp-phone");
    expect(await tableB.locator("tbody tr").getByRole("rowheader").textContent()).toBe(`201@${B}`);
    expect(await page.getByText(`202@${A}`).count()).toBe(0);
    const before = await page.screenshot({ path: join(shots, "1-search-201.png"), fullPage: true });
    expect(before.length).toBeGreaterThan(1000);
    console.log(`admin page screenshot: ${join(shots, "1-search-201.png")}`);

    // Remove 201@A: Tab to its Remove link, Enter, confirm with the keyboard.
    const [boundA] = await stack.bindings(`201@${A}`);
    if (!boundA) throw new Error("201@A is not registered");
    await tabTo(page, `a[aria-label="Remove binding 201@${A} sip:201@127.0.26.121:5070"]`);
    expect((await focused(page)).ringVisible).toBe(true);
    await Promise.all([page.waitForURL(`${home}/bindings/${boundA.id}/remove?ext=201`), page.keyboard.press("Enter")]);
    expect(await page.title()).toBe("Remove binding? · edge-registrar admin");
    expect(await stack.bindings(`201@${A}`)).toHaveLength(1); // the link alone removes nothing
    await page.screenshot({ path: join(shots, "2-confirm-removal.png"), fullPage: true });
    await tabTo(page, "button.danger");
    await Promise.all([page.waitForURL(`${home}?ext=201&removed=${boundA.id}`), page.keyboard.press("Enter")]);
    expect(await page.getByRole("status").first().textContent()).toBe(`Binding ${boundA.id} removed.`);
    expect(await page.getByRole("table", { name: `Bindings of ${A}` }).count()).toBe(0);
    expect(await tableB.locator("tbody tr").count()).toBe(1);
    // Gone from the store, as the admin API sees it; the other tenant's 201 and the other phone are untouched.
    expect(await stack.bindings(`201@${A}`)).toEqual([]);
    expect(await stack.bindings(`201@${B}`)).toHaveLength(1);
    expect(await stack.bindings(`202@${A}`)).toHaveLength(1);
    await page.screenshot({ path: join(shots, "3-after-removal.png"), fullPage: true });
    console.log(`admin page screenshots: ${shots}`);

    // Log out with the keyboard (the button in the header); the page is then closed to this browser.
    await tabTo(page, "header button");
    await Promise.all([page.waitForURL(`${home}/login?out`), page.keyboard.press("Enter")]);
    expect(await page.getByRole("status").textContent()).toBe("You are logged out.");
    expect(await browser.context.cookies(home)).toEqual([]);
    await page.goto(`${home}?ext=202`);
    expect(new URL(page.url()).pathname).toBe("/admin/ui/login");

    // The token never travelled in a URL, and nothing went wrong in the page.
    expect(browser.urls.filter((u) => u.includes(stack.adminToken))).toEqual([]);
    expect(problems).toEqual([]);
  });

  it("refuses a wrong token without a session, and says so on the page", async () => {
    const { page, problems } = browser;
    browser.expectStatus(401);
    await page.goto(`${stack.workerUrl}/admin/ui/login`);
    await page.getByLabel("Admin token").fill(stack.adminToken + "-wrong");
    await Promise.all([page.waitForLoadState(), page.getByRole("button", { name: "Log in" }).click()]);
    expect(await page.getByRole("alert").textContent()).toBe("That token is not valid.");
    expect(await browser.context.cookies(stack.workerUrl + "/admin/ui")).toEqual([]);
    // The refused login's 401 was expected; Chromium reports it on the console too, as a failed resource.
    expect(problems.filter((p) => !/status of 401/.test(p))).toEqual([]);
  });
});
