// The worker's log sink (worker/src/services.ts jsonLog): one JSON line per event; the routine outcome of a
// decision (level "debug") goes to console.debug, which Workers Logs and wrangler tail file at debug level.
import { afterEach, describe, expect, it, vi } from "vitest";
import { jsonLog } from "../../../worker/src/services";

afterEach(() => vi.restoreAllMocks());

describe("jsonLog", () => {
  it("writes a debug event with console.debug and any other with console.log, as one JSON line with its time", () => {
    const debug = vi.spyOn(console, "debug").mockImplementation(() => undefined);
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    jsonLog({ level: "debug", msg: "register saved", aor: "201@tenant-a.example" });
    jsonLog({ msg: "store error", error: "down" });
    expect(debug).toHaveBeenCalledTimes(1);
    expect(log).toHaveBeenCalledTimes(1);
    const routine = JSON.parse(String(debug.mock.calls[0]![0])) as Record<string, unknown>;
    expect(routine).toMatchObject({ level: "debug", msg: "register saved", aor: "201@tenant-a.example" });
    expect(Date.parse(String(routine.t))).not.toBeNaN();
    expect(JSON.parse(String(log.mock.calls[0]![0]))).toMatchObject({ msg: "store error", error: "down" });
  });
});
