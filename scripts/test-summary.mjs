// Reads vitest's JSON report and prints one plain line, `N passed, M failed`, for CI. A test that did not
// run counts as failed: skipped or todo tests (a failing beforeAll skips its file's tests), and a file that
// failed without a failed test in it (an import error, a hook that threw) count one failure each, so that a
// suite that failed to start can never look green. Exits 1 when anything failed or the report is missing.
// Plain JavaScript (no tsx): it must run even when the install step broke.
import { readFileSync } from "node:fs";

const file = process.argv[2] ?? ".ci-test-results.json";
let report;
try {
  report = JSON.parse(readFileSync(file, "utf8"));
} catch (err) {
  console.log(`test summary: no readable report at ${file} (${err instanceof Error ? err.message : String(err)})`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

let passed = 0;
const failures = [];
for (const result of report.testResults ?? []) {
  const tests = result.assertionResults ?? [];
  let failedHere = 0;
  for (const t of tests) {
    if (t.status === "passed") passed += 1;
    else {
      failedHere += 1;
      failures.push(`${t.status}: ${result.name} > ${t.fullName ?? t.title}`);
    }
  }
  if (result.status === "failed" && failedHere === 0) {
    const why = String(result.message ?? "").split("\n")[0];
    failures.push(`file failed: ${result.name}${why ? `: ${why}` : ""}`);
  }
}
if ((report.testResults ?? []).length === 0) failures.push("the report lists no test file");
if (report.success === false && failures.length === 0) failures.push("vitest reported failure (see its output above)");

for (const line of failures.slice(0, 50)) console.log(`  ${line}`);
if (failures.length > 50) console.log(`  ... and ${failures.length - 50} more`);
console.log(`${passed} passed, ${failures.length} failed`);
process.exit(failures.length === 0 ? 0 : 1);
