import { describe, expect, it } from "vitest";
import {
  bindingToJson,
  cell,
  describeExpiry,
  formatBindingsTable,
  formatDuration,
  formatJson,
  formatTenantDetail,
  formatTenantsTable,
  renderTable,
  sanitize,
  toSnakeCase,
} from "../../cli/format";
import { BINDING_201, TENANT_A } from "./cli-harness";

const NOW = 1795000000 - 192;

describe("tables", () => {
  it("aligns columns two spaces apart with no trailing spaces", () => {
    expect(renderTable(["A", "LONG"], [["xyz", "1"], ["", "22"]])).toBe("A    LONG\nxyz  1\n     22\n");
  });

  it("renders null, undefined and empty cells as '-'", () => {
    expect([cell(null), cell(undefined), cell(""), cell(0), cell(false), cell("x")]).toEqual(["-", "-", "-", "0", "false", "x"]);
  });

  it("lists tenants with their destination URIs", () => {
    const empty = { ...TENANT_A, domain: "b.example", setid: 2, acceptSubdomain: true, destinations: [] };
    expect(formatTenantsTable([TENANT_A, empty])).toBe(
      [
        "DOMAIN            SETID  SUBDOMAINS  DESTINATIONS",
        "tenant-a.example  1      no          sip:127.0.0.11:5080,sip:10.0.0.2:5060",
        "b.example         2      yes         -",
        "",
      ].join("\n"),
    );
  });

  it("shows one tenant's fields and its destinations", () => {
    expect(formatTenantDetail(TENANT_A)).toBe(
      [
        "domain:     tenant-a.example",
        "setid:      1",
        "subdomains: no",
        "attrs:      -",
        "",
        "ID  URI                  STATE  WEIGHT  PRIORITY  MATCH  SOCKET  DESCRIPTION",
        "1   sip:127.0.0.11:5080  0      1       0         ip     -       -",
        "2   sip:10.0.0.2:5060    0      2       1         ip     -       backup",
        "",
      ].join("\n"),
    );
    expect(formatTenantDetail({ ...TENANT_A, destinations: [] })).toContain("\nno destinations\n");
    // A destination matched by IP and port says so.
    const strict = { ...TENANT_A, destinations: [{ ...TENANT_A.destinations[0]!, requirePort: true }] };
    expect(formatTenantDetail(strict)).toContain("0         ip+port  -");
  });

  it("lists bindings with Unix expiry and the time remaining", () => {
    const expired = { ...BINDING_201, username: "202", expires: NOW - 1, received: null, userAgent: null };
    expect(formatBindingsTable([BINDING_201, expired], NOW)).toBe(
      [
        "USERNAME  DOMAIN            CONTACT                  RECEIVED                EXPIRES     REMAINING  USER_AGENT   CALLID     CSEQ",
        "201       tenant-a.example  sip:201@192.0.2.10:5070  sip:198.51.100.7:40312  1795000000  in 3m12s   Yealink T46  abc@phone  2",
        "202       tenant-a.example  sip:201@192.0.2.10:5070  -                       1794999807  expired    -            abc@phone  2",
        "",
      ].join("\n"),
    );
  });

  it("escapes control characters a crafted User-Agent could use against the operator's terminal", () => {
    const hostile = { ...BINDING_201, userAgent: "evil\u001b]0;pwned\u0007\u009b2J\nnext" };
    const table = formatBindingsTable([hostile], NOW);
    expect(table).toContain("evil\\x1b]0;pwned\\x07\\x9b2J\\x0anext");
    expect(table).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(table.split("\n")).toHaveLength(3);
    expect(sanitize("tab\there")).toBe("tab\\x09here");
  });
});

describe("time remaining", () => {
  it.each([
    [45, "45s"],
    [192, "3m12s"],
    [3600, "1h0m0s"],
    [3725, "1h2m5s"],
    [90061, "1d1h1m1s"],
    [0, "0s"],
  ])("formats %i seconds as %s", (seconds, text) => expect(formatDuration(seconds)).toBe(text));

  it("says 'expired' once the expiry is now or past", () => {
    expect(describeExpiry(NOW + 1, NOW)).toBe("in 1s");
    expect(describeExpiry(NOW, NOW)).toBe("expired");
    expect(describeExpiry(NOW - 3600, NOW)).toBe("expired");
    expect(describeExpiry(null, NOW)).toBe("-");
  });
});

describe("JSON", () => {
  it("gives bindings snake_case keys, the commonly read ones first, keeping every other field", () => {
    const json = bindingToJson(BINDING_201);
    expect(Object.keys(json)).toEqual([
      "username",
      "domain",
      "contact",
      "received",
      "expires",
      "user_agent",
      "callid",
      "cseq",
      "id",
      "path",
      "q",
      "last_modified",
      "socket",
      "methods",
      "sip_instance",
      "flags",
      "cflags",
      "attr",
    ]);
    expect(json).toMatchObject({ user_agent: "Yealink T46", last_modified: 1794999700, expires: 1795000000, sip_instance: null });
  });

  it("keeps a field the API adds later, and snake_case names as they are", () => {
    expect(toSnakeCase("lastModified")).toBe("last_modified");
    expect(toSnakeCase("user_agent")).toBe("user_agent");
    expect(bindingToJson({ ...BINDING_201, kvStore: "{}" } as typeof BINDING_201)).toHaveProperty("kv_store", "{}");
  });

  it("prints indented, newline-terminated JSON that parses back, with DEL and C1 characters escaped", () => {
    const text = formatJson([{ user_agent: "a\u009bb\u007f\u001b" }]);
    expect(text.endsWith("\n")).toBe(true);
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(JSON.parse(text)).toEqual([{ user_agent: "a\u009bb\u007f\u001b" }]);
  });
});
