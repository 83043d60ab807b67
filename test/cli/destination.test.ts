// edgectl destination: requests sent, answers printed, local checks. In-process with a recording fetch.
import { describe, expect, it } from "vitest";
import { jsonResponse, runCli } from "./cli-harness";

const A = { id: 1, uri: "sip:127.0.0.11:5080", state: "active", probing: true, domains: ["tenant-a.example"], setid: 1, weight: 1, priority: 0 };
const B = { ...A, id: 2, uri: "sip:127.0.0.13:5080", state: "inactive" };
const C = { ...A, id: 3, uri: "sip:127.0.0.12:5080", state: "disabled", probing: false, domains: ["tenant-b.example"], setid: 2 };

describe("edgectl destination", () => {
  it("list: a table of URI and state", async () => {
    const r = await runCli(["destination", "list"], { answer: jsonResponse(200, { destinations: [A, B, C] }) });
    expect(r.code).toBe(0);
    expect(r.requests[0]).toMatchObject({ method: "GET", url: "http://127.0.0.1:8787/admin/v1/destinations" });
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^URI\s+STATE\s+PROBING\s+DOMAINS/);
    expect(lines[1]).toMatch(/^sip:127\.0\.0\.11:5080\s+active\s+on\s+tenant-a\.example/);
    expect(lines[2]).toMatch(/^sip:127\.0\.0\.13:5080\s+inactive\s+on/);
    expect(lines[3]).toMatch(/^sip:127\.0\.0\.12:5080\s+disabled\s+off\s+tenant-b\.example/);
  });

  it("list --domain --json: the API's array with uri and state", async () => {
    const r = await runCli(["destination", "list", "--domain", "tenant-a.example", "--json"], {
      answer: jsonResponse(200, { destinations: [A, B] }),
    });
    expect(r.requests[0]!.url).toBe("http://127.0.0.1:8787/admin/v1/destinations?domain=tenant-a.example");
    const out = JSON.parse(r.stdout) as { uri: string; state: string }[];
    expect(out.map((d) => [d.uri, d.state])).toEqual([
      ["sip:127.0.0.11:5080", "active"],
      ["sip:127.0.0.13:5080", "inactive"],
    ]);
  });

  it("disable / enable post the URI (and the domain when given)", async () => {
    const d = await runCli(["destination", "disable", "sip:127.0.0.11:5080"], {
      answer: jsonResponse(200, { destinations: [{ ...A, state: "disabled" }], changed: 1 }),
    });
    expect(d.code).toBe(0);
    expect(d.requests[0]).toMatchObject({ method: "POST", url: "http://127.0.0.1:8787/admin/v1/destinations/disable", body: { uri: "sip:127.0.0.11:5080" } });
    expect(d.stdout).toContain("disabled: sip:127.0.0.11:5080");
    expect(d.stdout).toContain("tenant-a.example): disabled");
    const e = await runCli(["destination", "enable", "sip:127.0.0.11:5080", "--domain", "tenant-a.example"], {
      answer: jsonResponse(200, { destinations: [A], changed: 0 }),
    });
    expect(e.requests[0]).toMatchObject({ url: "http://127.0.0.1:8787/admin/v1/destinations/enable", body: { uri: "sip:127.0.0.11:5080", domain: "tenant-a.example" } });
    expect(e.stdout).toContain("already enabled");
  });

  it("probe on|off", async () => {
    const r = await runCli(["destination", "probe", "sip:127.0.0.11:5080", "off"], { answer: jsonResponse(200, { destinations: [{ ...A, probing: false }] }) });
    expect(r.requests[0]).toMatchObject({ url: "http://127.0.0.1:8787/admin/v1/destinations/probe", body: { uri: "sip:127.0.0.11:5080", probing: false } });
    expect(r.stdout).toBe("probing off: sip:127.0.0.11:5080 (1 destination)\n");
  });

  it("checks locally and maps a 404 to exit 3", async () => {
    expect((await runCli(["destination", "disable"])).code).toBe(2);
    expect((await runCli(["destination", "disable", "not-a-uri"])).code).toBe(2);
    expect((await runCli(["destination", "probe", "sip:127.0.0.11:5080", "maybe"])).stderr).toContain("'maybe' is not on or off");
    expect((await runCli(["destination", "list", "--aor", "1@a.example"])).code).toBe(2);
    const nf = await runCli(["destination", "enable", "sip:127.0.0.99:5080"], { answer: jsonResponse(404, { error: "no destination sip:127.0.0.99:5080" }) });
    expect(nf.code).toBe(3);
    expect(nf.stderr).toBe("edgectl: no destination sip:127.0.0.99:5080 (HTTP 404)\n");
  });

  it("is in the help", async () => {
    const r = await runCli(["help"]);
    expect(r.stdout).toContain("destination list");
    expect(r.stdout).toContain("destination disable <sip-uri>");
    expect((await runCli(["help", "destination"])).stdout).toContain("destination probe <sip-uri> <on|off>");
  });
});
