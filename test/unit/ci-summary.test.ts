import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

// scripts/test-summary.mjs is what CI prints last: a suite that failed to start must never read as green.
const script = path.resolve(import.meta.dirname, "../../scripts/test-summary.mjs");
const dir = mkdtempSync(path.join(os.tmpdir(), "ci-summary-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function summarise(report: unknown): { line: string; code: number } {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(report));
  try {
    const out = execFileSync(process.execPath, [script, file], { encoding: "utf8" });
    return { line: out.trim().split("\n").at(-1) ?? "", code: 0 };
  } catch (err) {
    const e = err as { stdout: string; status: number };
    return { line: e.stdout.trim().split("\n").at(-1) ?? "", code: e.status };
  }
}

const passed = (title: string) => ({ title, fullName: title, status: "passed" });

describe("CI test summary", () => {
  it("prints the passed count and exits 0 when every test ran and passed", () => {
    const r = summarise({ success: true, testResults: [{ name: "a.test.ts", status: "passed", assertionResults: [passed("x"), passed("y")] }] });
    expect(r).toEqual({ line: "2 passed, 0 failed", code: 0 });
  });

  it("counts skipped tests of a file whose beforeAll threw as failed, and the file once", () => {
    const r = summarise({
      success: false,
      testResults: [
        { name: "ok.test.ts", status: "passed", assertionResults: [passed("x")] },
        {
          name: "e2e.test.ts",
          status: "failed",
          message: "stand-in registrar config not found",
          assertionResults: [
            { title: "a", fullName: "a", status: "skipped" },
            { title: "b", fullName: "b", status: "skipped" },
          ],
        },
      ],
    });
    expect(r).toEqual({ line: "1 passed, 2 failed", code: 1 });
  });

  it("counts a file that failed to import (no tests at all) as a failure", () => {
    const r = summarise({ success: false, testResults: [{ name: "broken.test.ts", status: "failed", message: "SyntaxError", assertionResults: [] }] });
    expect(r).toEqual({ line: "0 passed, 1 failed", code: 1 });
  });

  it("counts todo and failed tests, and fails when the report is missing", () => {
    const r = summarise({
      success: false,
      testResults: [{ name: "t.test.ts", status: "failed", assertionResults: [passed("p"), { title: "f", status: "failed" }, { title: "t", status: "todo" }] }],
    });
    expect(r).toEqual({ line: "1 passed, 2 failed", code: 1 });
    const missing = (() => {
      try {
        execFileSync(process.execPath, [script, path.join(dir, "nope.json")], { encoding: "utf8" });
        return { code: 0, line: "" };
      } catch (err) {
        const e = err as { stdout: string; status: number };
        return { code: e.status, line: e.stdout.trim().split("\n").at(-1) };
      }
    })();
    expect(missing).toEqual({ code: 1, line: "0 passed, 1 failed" });
  });
});
