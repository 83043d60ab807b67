import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../edge-gateway/src/observability/logger";

type Line = Record<string, unknown>;

function collecting(level: "debug" | "info" | "warn" | "error", options: Parameters<typeof createLogger>[2] = {}) {
  const lines: Line[] = [];
  const log = createLogger(level, (l) => lines.push(JSON.parse(l) as Line), options);
  return { log, lines };
}

describe("logger (pino)", () => {
  it("writes one JSON object per line: level name, ISO time, fields, message; below the threshold nothing", () => {
    const { log, lines } = collecting("info");
    log.debug("hidden");
    log.info("gateway listening", { phones: "127.0.0.1:5060" });
    log.error("boom");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: "info", msg: "gateway listening", phones: "127.0.0.1:5060" });
    expect(Date.parse(String(lines[0]!.t))).not.toBeNaN();
    expect(lines[1]).toMatchObject({ level: "error", msg: "boom" });
  });

  it("a message kind repeated per datagram is cut to a burst and a steady rate, then summarised with the count", async () => {
    let t = 0;
    const { log, lines } = collecting("info", { burst: 20, perSecond: 5, now: () => t });
    // A flood: 10 000 "bad message" lines within one second.
    for (let i = 0; i < 10_000; i++) {
      t = i / 10;
      log.info("bad message", { i });
    }
    // Another kind is not starved by the first.
    log.warn("worker unavailable");
    const bad = lines.filter((l) => l.msg === "bad message");
    // The burst, then 5 per second over the second the flood lasted.
    expect(bad.length).toBeGreaterThanOrEqual(20);
    expect(bad.length).toBeLessThanOrEqual(26);
    expect(lines.some((l) => l.msg === "worker unavailable")).toBe(true);
    await log.flush();
    const summary = lines.find((l) => l.msg === "log lines suppressed");
    expect(summary).toMatchObject({ level: "warn", suppressed: 10_000 - bad.length, kinds: { "info bad message": 10_000 - bad.length } });
  });

  it("after a quiet spell the kind has its burst again", () => {
    let t = 0;
    const { log, lines } = collecting("info", { burst: 3, perSecond: 1, now: () => t });
    for (let i = 0; i < 10; i++) log.info("x");
    expect(lines).toHaveLength(3);
    t = 10_000;
    for (let i = 0; i < 10; i++) log.info("x");
    expect(lines).toHaveLength(6);
  });

  it("the default destination is asynchronous (sonic-boom, sync: false) and flush() drains it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "edge-logger-"));
    try {
      const file = join(dir, "gw.log");
      const log = createLogger("info", undefined, { dest: file, burst: 100_000 });
      const started = performance.now();
      for (let i = 0; i < 20_000; i++) log.info("line", { i });
      const elapsed = performance.now() - started;
      await log.flush();
      const written = (await readFile(file, "utf8")).trim().split("\n");
      expect(written).toHaveLength(20_000);
      expect(JSON.parse(written[19_999]!)).toMatchObject({ msg: "line", i: 19_999 });
      // No write waited on the disk: 20 000 lines are queued in well under a second.
      expect(elapsed).toBeLessThan(2000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
