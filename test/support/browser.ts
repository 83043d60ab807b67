// A real browser for end-to-end tests of the admin page: Debian's chromium (package `chromium`) driven by
// playwright-core, headless, with a fresh profile in a temp dir. Nothing is downloaded: a missing chromium
// fails the test with the apt-get command, as the other system tools do (scripts/ensure-test-deps.ts).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { findExecutable } from "./processes";

export interface TestBrowser {
  readonly context: BrowserContext;
  readonly page: Page;
  /**
   * Everything that went wrong in the page so far: console errors, uncaught page errors, failed requests
   * and HTTP answers >= 400 (with their URL), except statuses the test said it expects.
   */
  readonly problems: string[];
  /** Every URL the browser requested. */
  readonly urls: string[];
  /** HTTP statuses >= 400 that are part of what the test checks (e.g. a refused login). */
  expectStatus(status: number): void;
  close(): Promise<void>;
}

/** The flags the chromium is started with: headless, no sandbox (root), and no network of its own. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** Starts chromium with a fresh profile and one page whose problems are recorded. */
export async function startBrowser(): Promise<TestBrowser> {
  const executablePath = findExecutable("chromium", "chromium");
  const profile = await mkdtemp(join(tmpdir(), "edge-chromium-profile-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: { width: 1280, height: 900 },
      locale: "en-GB",
      timeout: 30_000,
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  const urls: string[] = [];
  const expected = new Set<number>();
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console error: ${msg.text()} (${msg.location().url})`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("request", (req) => urls.push(req.url()));
  page.on("requestfailed", (req) => problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText ?? "?"}`));
  page.on("response", (res) => {
    if (res.status() >= 400 && !expected.has(res.status())) problems.push(`HTTP ${res.status()}: ${res.request().method()} ${res.url()}`);
  });
  return {
    context,
    page,
    problems,
    urls,
    expectStatus: (status) => expected.add(status),
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** What has the keyboard focus: its tag, id, text or accessible label, and whether a focus ring shows. */
export interface FocusInfo {
  readonly tag: string;
  readonly id: string;
  readonly label: string;
  /** The computed outline is at least 2px and not `none` (the page's :focus-visible style). */
  readonly ringVisible: boolean;
}

// The page-side code is given as source text: this project's Node type-check has no DOM library.
const FOCUS_INFO = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return { tag: "body", id: "", label: "", ringVisible: false };
  const style = getComputedStyle(el);
  return {
    tag: el.tagName.toLowerCase(),
    id: el.id,
    label: (el.getAttribute("aria-label") ?? el.textContent ?? "").trim(),
    ringVisible: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
  };
})()`;

export function focused(page: Page): Promise<FocusInfo> {
  return page.evaluate<FocusInfo>(FOCUS_INFO);
}

/** Whether the focused element matches a CSS selector. */
export function focusMatches(page: Page, selector: string): Promise<boolean> {
  return page.evaluate<boolean>(`document.activeElement?.matches(${JSON.stringify(selector)}) ?? false`);
}

/**
 * Presses Tab until the focused element matches `selector` (at most `max` presses); fails when it never
 * does. Returns the focus stops passed on the way, so a test can see the order and that each had a ring.
 */
export async function tabTo(page: Page, selector: string, max = 40): Promise<FocusInfo[]> {
  const stops: FocusInfo[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    stops.push(await focused(page));
    if (await focusMatches(page, selector)) return stops;
  }
  throw new Error(`Tab never reached ${selector}; focus went through: ${stops.map((s) => `${s.tag}#${s.id} "${s.label}"`).join(", ")}`);
}
