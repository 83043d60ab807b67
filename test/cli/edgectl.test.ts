import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/edgectl";
import { BINDING_201, jsonResponse, runCli, TENANT_A } from "./cli-harness";

function expectOneLineError(stderr: string, text: string) {
  expect(stderr).toMatch(/^edgectl: [^\n]+\n$/);
  expect(stderr).toContain(text);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe("usage errors", () => {
  it.each([
    [[], "missing command"],
    [["frob"], "unknown command 'frob'"],
    [["tenant"], "needs a subcommand"],
    [["tenant", "list", "--bogus"], "unknown option '--bogus'"],
    [["tenant", "list", "--json=1"], "takes no value"],
    [["tenant", "list", "--aor", "201@t.example"], "does not apply to 'tenant list'"],
    [["tenant", "add", "tenant-a.example"], "needs --destination"],
    [["tenant", "add", "bad_domain", "--destination", "sip:10.0.0.1"], "domain 'bad_domain' is not a hostname"],
    [["tenant", "add", "tenant-a.example", "--destination", "sip:10.0.0.1:0"], "port 0 is not in 1..65535"],
    [["tenant", "add", "tenant-a.example", "--destination", "sip:999.0.0.1"], "not an IPv4 address"],
    [["tenant", "add", "tenant-a.example", "--destination", "sip:[::g]"], "not an IPv6 address"],
    [["tenant", "add", "tenant-a.example", "--destination", "http://10.0.0.1"], "must be a sip: or sips: URI"],
    [["tenant", "show"], "needs <domain>"],
    [["tenant", "show", "a", "b"], "unexpected argument 'b'"],
    [["tenant", "rm", "-x"], "unknown option '-x'"],
    [["location", "list", "--domain", "bad_domain"], "--domain"],
    [["location", "list", "--aor", "201"], "--aor: '201' is not user@domain"],
    [["location", "list", "--limit", "5000"], "--limit '5000'"],
    [["location", "rm", "201"], "'201' is not user@domain"],
    [["location", "rm"], "needs <user@domain>"],
    [["health", "--url"], "option '--url' needs a value"],
    [["health", "--url", "ftp://admin.test"], "--url: 'ftp://admin.test' is not an http: or https: URL"],
    [["health", "--url", "not a url"], "--url: 'not a url' is not a URL"],
    [["health", "--url", "http://user:pw@admin.test"], "must not carry credentials"],
    [["health", "--token="], "--token: token is empty"],
    [["help", "frob"], "unknown command 'frob'"],
  ])("exits 2 for %j with a one-line reason, sending nothing", async (argv, reason) => {
    const result = await runCli(argv);
    expect(result.code).toBe(2);
    expect(result.requests).toEqual([]);
    expect(result.stdout).toBe("");
    expectOneLineError(result.stderr, reason);
  });

  it("exits 2 for an unusable EDGE_ADMIN_URL, naming the variable", async () => {
    const result = await runCli(["health"], { env: { EDGE_ADMIN_URL: "admin.test:8787" } });
    expect(result.code).toBe(2);
    expect(result.requests).toEqual([]);
    expectOneLineError(result.stderr, "EDGE_ADMIN_URL:");
  });

  it("points a command's usage error at that command's help", async () => {
    const result = await runCli(["tenant", "add", "tenant-a.example"]);
    expect(result.stderr).toContain("(see 'edgectl help tenant add')");
  });

  it("escapes control characters echoed back from the command line", async () => {
    const result = await runCli(["tenant", "show", "a\u001b[2Jb"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("a\\x1b[2Jb");
  });
});

describe("help", () => {
  it.each([[["help"]], [["--help"]], [["-h"]], [["tenant", "list", "-h", "--url", "http://x"]]])(
    "prints help for %j on stdout and exits 0 without a request",
    async (argv) => {
      const result = await runCli(argv);
      expect(result.code).toBe(0);
      expect(result.requests).toEqual([]);
      expect(result.stderr).toBe("");
      expect(result.stdout.length).toBeGreaterThan(0);
    },
  );

  it("documents every command, the environment and all exit codes", async () => {
    const { stdout } = await runCli(["help"]);
    for (const command of ["tenant add", "tenant list", "tenant show", "tenant rm", "location list", "location rm", "health"]) {
      expect(stdout).toContain(command);
    }
    expect(stdout).toContain("EDGE_ADMIN_URL");
    expect(stdout).toContain("EDGE_ADMIN_TOKEN");
    for (const code of ["0", "1", "2", "3", "4", "5", "6"]) expect(stdout).toMatch(new RegExp(`^  ${code}  \\S`, "m"));
  });

  it("shows a command's usage and options, even when its arguments are missing", async () => {
    const { code, stdout } = await runCli(["tenant", "add", "--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("Usage: edgectl tenant add <domain> --destination <sip-uri>... [--require-port] [--allow-unusual-domain] [--json]");
    expect(stdout).toContain("--token <token>");
  });

  it("lists a group's commands", async () => {
    const { stdout } = await runCli(["help", "location"]);
    expect(stdout).toContain("location list");
    expect(stdout).toContain("location rm <user@domain>");
    expect(stdout).not.toContain("tenant add");
  });
});

describe("connection settings", () => {
  const ok = jsonResponse(200, { status: "ok", store: "ok" });

  it("defaults to the local run's worker and token", async () => {
    const { requests } = await runCli(["health"], { answer: ok });
    expect(requests[0]?.url).toBe("http://127.0.0.1:8787/admin/v1/health");
    expect(requests[0]?.headers.authorization).toBe("Bearer dev-admin-token");
  });

  it("takes EDGE_ADMIN_URL and EDGE_ADMIN_TOKEN from the environment, an empty one counting as unset", async () => {
    const env = { EDGE_ADMIN_URL: "https://edge.test/", EDGE_ADMIN_TOKEN: "" };
    const { requests } = await runCli(["health"], { answer: ok, env });
    expect(requests[0]?.url).toBe("https://edge.test/admin/v1/health");
    expect(requests[0]?.headers.authorization).toBe("Bearer dev-admin-token");
  });

  it("lets --url and --token override the environment", async () => {
    const env = { EDGE_ADMIN_URL: "https://edge.test", EDGE_ADMIN_TOKEN: "from-env" };
    const { requests } = await runCli(["--url", "http://other.test:9000", "health", "--token", "from-flag"], { answer: ok, env });
    expect(requests[0]?.url).toBe("http://other.test:9000/admin/v1/health");
    expect(requests[0]?.headers.authorization).toBe("Bearer from-flag");
  });

  it("bounds every request with an abort signal", async () => {
    const { requests } = await runCli(["health"], { answer: ok });
    expect(requests[0]?.signal).toBeInstanceOf(AbortSignal);
  });
});

describe("tenant commands", () => {
  it("adds a tenant, sending the domain and destinations, and prints it", async () => {
    const result = await runCli(
      ["tenant", "add", "tenant-a.example", "--destination", "sip:127.0.0.11:5080", "--destination", "sip:10.0.0.2:5060"],
      { answer: jsonResponse(201, { tenant: TENANT_A }) },
    );
    expect(result.code).toBe(0);
    expect(result.requests).toHaveLength(1);
    expect(result.requests[0]).toMatchObject({
      method: "POST",
      url: "http://127.0.0.1:8787/admin/v1/tenants",
      body: { domain: "tenant-a.example", destinations: ["sip:127.0.0.11:5080", "sip:10.0.0.2:5060"] },
    });
    expect(result.stdout).toMatch(/^added tenant tenant-a\.example\ndomain: +tenant-a\.example\n/);
    expect(result.stdout).toContain("sip:10.0.0.2:5060    0      2       1         ip     -       backup");
  });

  it("adds a tenant whose destinations require their port, and sets it on one destination later", async () => {
    const add = await runCli(
      ["tenant", "add", "tenant-c.example", "--destination", "sip:10.0.0.5:5090", "--require-port"],
      { answer: jsonResponse(201, { tenant: TENANT_A }) },
    );
    expect(add.requests[0]?.body).toEqual({ domain: "tenant-c.example", destinations: [{ uri: "sip:10.0.0.5:5090", requirePort: true }] });
    const set = await runCli(["tenant", "require-port", "tenant-c.example", "7", "on"], {
      answer: jsonResponse(200, { destination: { ...TENANT_A.destinations[0], id: 7, uri: "sip:10.0.0.5:5090", requirePort: true } }),
    });
    expect(set.code).toBe(0);
    expect(set.requests[0]).toMatchObject({ method: "PATCH", url: "http://127.0.0.1:8787/admin/v1/tenants/tenant-c.example/destinations/7", body: { requirePort: true } });
    expect(set.stdout).toBe("destination 7 of tenant-c.example (sip:10.0.0.5:5090) is matched by IP and port\n");
    // The API refuses what would make a source ambiguous: exit 4 with its reason.
    const refused = await runCli(["tenant", "require-port", "tenant-c.example", "7", "off"], {
      answer: jsonResponse(409, { error: "destination sip:10.0.0.5:5090 shares its IP with tenant x.example's sip:10.0.0.5:5080" }),
    });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/shares its IP with tenant x\.example/);
  });

  it("prints the created tenant as JSON with --json", async () => {
    const result = await runCli(["tenant", "add", "tenant-a.example", "--destination", "sip:127.0.0.11:5080", "--json"], {
      answer: jsonResponse(201, { tenant: TENANT_A }),
    });
    expect(JSON.parse(result.stdout)).toEqual(TENANT_A);
  });

  it("lists tenants as a table, or as the API's array with --json", async () => {
    const answer = () => jsonResponse(200, { tenants: [TENANT_A] });
    const table = await runCli(["tenant", "list"], { answer });
    expect(table.code).toBe(0);
    expect(table.requests[0]).toMatchObject({ method: "GET", url: "http://127.0.0.1:8787/admin/v1/tenants" });
    expect(table.stdout).toBe(
      "DOMAIN            SETID  SUBDOMAINS  DESTINATIONS\ntenant-a.example  1      no          sip:127.0.0.11:5080,sip:10.0.0.2:5060\n",
    );
    const json = await runCli(["tenant", "list", "--json"], { answer });
    expect(JSON.parse(json.stdout)).toEqual([TENANT_A]);
  });

  it("says so on stderr when there are no tenants, leaving stdout empty", async () => {
    const result = await runCli(["tenant", "list"], { answer: jsonResponse(200, { tenants: [] }) });
    expect(result).toMatchObject({ code: 0, stdout: "", stderr: "no tenants\n" });
    const json = await runCli(["tenant", "list", "--json"], { answer: jsonResponse(200, { tenants: [] }) });
    expect(json.stdout).toBe("[]\n");
  });

  it("shows one tenant", async () => {
    const result = await runCli(["tenant", "show", "tenant-a.example"], { answer: jsonResponse(200, { tenant: TENANT_A }) });
    expect(result.requests[0]?.url).toBe("http://127.0.0.1:8787/admin/v1/tenants/tenant-a.example");
    expect(result.stdout).toContain("setid:      1\n");
    expect(result.stdout).toContain("ID  URI");
  });

  it("removes a tenant and reports the bindings that went with it", async () => {
    const answer = () => jsonResponse(200, { deleted: "tenant-a.example", bindingsRemoved: 3 });
    const result = await runCli(["tenant", "rm", "tenant-a.example"], { answer });
    expect(result.requests[0]).toMatchObject({ method: "DELETE", url: "http://127.0.0.1:8787/admin/v1/tenants/tenant-a.example" });
    expect(result).toMatchObject({ code: 0, stdout: "deleted tenant tenant-a.example (3 bindings removed)\n" });
    const json = await runCli(["tenant", "rm", "tenant-a.example", "--json"], { answer });
    expect(JSON.parse(json.stdout)).toEqual({ deleted: "tenant-a.example", bindingsRemoved: 3 });
  });
});

describe("location commands", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("lists bindings as a table with the time remaining", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime((1795000000 - 192) * 1000);
    const result = await runCli(["location", "list"], { answer: jsonResponse(200, { bindings: [BINDING_201] }) });
    expect(result.code).toBe(0);
    expect(result.requests[0]?.url).toBe("http://127.0.0.1:8787/admin/v1/bindings");
    expect(result.stdout).toBe(
      [
        "USERNAME  DOMAIN            CONTACT                  RECEIVED                EXPIRES     REMAINING  USER_AGENT   CALLID     CSEQ",
        "201       tenant-a.example  sip:201@192.0.2.10:5070  sip:198.51.100.7:40312  1795000000  in 3m12s   Yealink T46  abc@phone  2",
        "",
      ].join("\n"),
    );
  });

  it("passes --domain, --aor and --limit as query parameters", async () => {
    const result = await runCli(["location", "list", "--domain", "tenant-a.example", "--aor", "201@tenant-a.example", "--limit", "10"], {
      answer: jsonResponse(200, { bindings: [] }),
    });
    expect(result.requests[0]?.url).toBe(
      "http://127.0.0.1:8787/admin/v1/bindings?domain=tenant-a.example&aor=201%40tenant-a.example&limit=10",
    );
    expect(result).toMatchObject({ code: 0, stdout: "", stderr: "no bindings\n" });
  });

  it("prints the raw bindings with snake_case keys with --json", async () => {
    const result = await runCli(["location", "list", "--json"], { answer: jsonResponse(200, { bindings: [BINDING_201] }) });
    const printed = JSON.parse(result.stdout) as Record<string, unknown>[];
    expect(printed).toHaveLength(1);
    expect(printed[0]).toEqual({
      username: "201",
      domain: "tenant-a.example",
      contact: "sip:201@192.0.2.10:5070",
      received: "sip:198.51.100.7:40312",
      expires: 1795000000,
      user_agent: "Yealink T46",
      callid: "abc@phone",
      cseq: 2,
      id: 17,
      path: null,
      q: 1,
      last_modified: 1794999700,
      socket: "udp:127.0.0.1:5060",
      methods: "INVITE,ACK,BYE,CANCEL,OPTIONS",
      sip_instance: null,
      flags: 0,
      cflags: "",
      attr: null,
    });
  });

  it("removes every binding of an address-of-record", async () => {
    const result = await runCli(["location", "rm", "201@tenant-a.example"], { answer: jsonResponse(200, { deleted: 2 }) });
    expect(result.requests[0]).toMatchObject({
      method: "DELETE",
      url: "http://127.0.0.1:8787/admin/v1/aors/201%40tenant-a.example",
    });
    expect(result).toMatchObject({ code: 0, stdout: "deleted 2 bindings of 201@tenant-a.example\n" });
  });
});

describe("health", () => {
  it("exits 0 and prints the status when the API and store answer", async () => {
    const result = await runCli(["health"], { answer: jsonResponse(200, { status: "ok", store: "ok" }) });
    expect(result).toMatchObject({ code: 0, stdout: "status: ok\nstore:  ok\n", stderr: "" });
  });

  it("exits 1 and says why when the API reports its store degraded (503)", async () => {
    const answer = () => jsonResponse(503, { status: "degraded", store: "connection refused" });
    const result = await runCli(["health"], { answer });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("status: degraded\nstore:  connection refused\n");
    expectOneLineError(result.stderr, "the admin API is degraded: store connection refused");
    const json = await runCli(["health", "--json"], { answer });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ status: "degraded", store: "connection refused" });
  });
});

describe("exit codes of API answers", () => {
  it.each([
    [["tenant", "add", "tenant-a.example", "--destination", "sip:10.0.0.1"], 400, "bad destination URI", 1],
    [["tenant", "list"], 401, "unauthorized", 6],
    [["location", "list"], 403, "forbidden", 6],
    [["tenant", "show", "nope.example"], 404, "tenant not found", 3],
    [["tenant", "rm", "nope.example"], 404, "tenant not found", 3],
    [["location", "rm", "201@tenant-a.example"], 404, "no bindings", 3],
    [["tenant", "add", "tenant-a.example", "--destination", "sip:10.0.0.1"], 409, "domain exists", 4],
    [["tenant", "list"], 500, "store failed", 1],
    [["location", "list"], 503, "store unavailable", 1],
    [["health"], 500, "boom", 1],
  ])("%j answered %i exits %i", async (argv, status, reason, code) => {
    const result = await runCli(argv, { answer: jsonResponse(status, { error: reason }) });
    expect(result.code).toBe(code);
    expect(result.stdout).toBe("");
    expectOneLineError(result.stderr, `${reason} (HTTP ${status})`);
  });

  it("hints at the token on 401", async () => {
    const result = await runCli(["tenant", "list"], { answer: jsonResponse(401, { error: "unauthorized" }) });
    expect(result.stderr).toBe("edgectl: unauthorized (HTTP 401); check EDGE_ADMIN_TOKEN or --token\n");
  });

  it("exits 1 on an error answer that is not JSON, using the status text", async () => {
    const answer = new Response("<h1>oops</h1>", { status: 502, statusText: "Bad Gateway" });
    const result = await runCli(["tenant", "list"], { answer });
    expect(result.code).toBe(1);
    expectOneLineError(result.stderr, "Bad Gateway (HTTP 502)");
  });

  it("exits 1 on a success answer that is not the documented shape", async () => {
    const result = await runCli(["tenant", "list"], { answer: jsonResponse(200, { tenant: [] }) });
    expect(result.code).toBe(1);
    expectOneLineError(result.stderr, "unexpected answer: 'tenants' is not an array of objects");
  });

  it("exits 5 when the connection is refused", async () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8787"), { code: "ECONNREFUSED" });
    const result = await runCli(["tenant", "list"], { answer: new TypeError("fetch failed", { cause }) });
    expect(result.code).toBe(5);
    expect(result.stderr).toBe("edgectl: cannot reach the admin API at http://127.0.0.1:8787: connection refused\n");
  });

  it("exits 5 when no answer comes within the bound", async () => {
    const timeout = new DOMException("The operation was aborted due to timeout", "TimeoutError");
    const result = await runCli(["health"], { answer: timeout });
    expect(result.code).toBe(5);
    expectOneLineError(result.stderr, "no answer within 10 s");
  });

  it("exits 1 with a one-line message when something unexpected fails", async () => {
    let stderr = "";
    const code = await main(["tenant", "list"], {
      stdout: {
        write: () => {
          throw new Error("write EIO");
        },
      },
      stderr: { write: (text: string) => (stderr += text) },
      env: {},
      fetch: async () => jsonResponse(200, { tenants: [TENANT_A] }),
    });
    expect(code).toBe(1);
    expect(stderr).toBe("edgectl: unexpected failure: write EIO\n");
  });
});
