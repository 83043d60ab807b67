import { describe, expect, it } from "vitest";
import { parseCommandLine, UsageError } from "../../cli/args";

function usageReason(argv: readonly string[]): string {
  try {
    parseCommandLine(argv);
  } catch (error) {
    if (error instanceof UsageError) return error.reason;
    throw error;
  }
  throw new Error(`no usage error for ${argv.join(" ")}`);
}

describe("parseCommandLine", () => {
  it("parses tenant add with repeated destinations, options before or after the arguments", () => {
    expect(
      parseCommandLine(["--url", "http://h:1", "tenant", "add", "--destination", "sip:10.0.0.1", "tenant-a.example", "--destination=sips:gw.example:5061"]),
    ).toEqual({
      kind: "run",
      command: {
        name: "tenant add",
        domain: "tenant-a.example",
        destinations: ["sip:10.0.0.1", "sips:gw.example:5061"],
        requirePort: false,
        allowUnusualDomain: false,
        json: false,
      },
      connection: { url: "http://h:1" },
    });
  });

  it("parses --require-port and --allow-unusual-domain on tenant add, and tenant require-port", () => {
    expect(parseCommandLine(["tenant", "add", "pbx", "--destination", "sip:10.0.0.1", "--require-port", "--allow-unusual-domain"])).toMatchObject({
      command: { name: "tenant add", domain: "pbx", requirePort: true, allowUnusualDomain: true },
    });
    expect(parseCommandLine(["tenant", "add", "10.1.2.3", "--destination", "sip:10.0.0.1", "--allow-unusual-domain"])).toMatchObject({
      command: { domain: "10.1.2.3" },
    });
    expect(parseCommandLine(["tenant", "require-port", "t.example", "12", "on"])).toMatchObject({
      command: { name: "tenant require-port", domain: "t.example", id: 12, on: true },
    });
    expect(parseCommandLine(["tenant", "require-port", "t.example", "12", "OFF"])).toMatchObject({ command: { on: false } });
    expect(usageReason(["tenant", "require-port", "t.example", "x", "on"])).toMatch(/destination id 'x'/);
    expect(usageReason(["tenant", "require-port", "t.example", "3", "maybe"])).toMatch(/neither 'on' nor 'off'/);
    expect(usageReason(["tenant", "add", "10.1.2.3", "--destination", "sip:10.0.0.1"])).toMatch(/not a hostname/);
  });

  it("parses the list, show and rm commands with --json", () => {
    expect(parseCommandLine(["tenant", "list", "--json"])).toMatchObject({ command: { name: "tenant list", json: true } });
    expect(parseCommandLine(["tenant", "show", "t.example"])).toMatchObject({
      command: { name: "tenant show", domain: "t.example", json: false },
    });
    expect(parseCommandLine(["tenant", "rm", "t.example"])).toMatchObject({ command: { name: "tenant rm", domain: "t.example" } });
    expect(parseCommandLine(["location", "rm", "201@t.example"])).toMatchObject({
      command: { name: "location rm", aor: "201@t.example" },
    });
    expect(parseCommandLine(["health", "--json"])).toMatchObject({ command: { name: "health", json: true } });
  });

  it("parses location list filters, leaving out the ones not given", () => {
    expect(parseCommandLine(["location", "list"])).toEqual({
      kind: "run",
      command: { name: "location list", json: false },
      connection: {},
    });
    expect(
      parseCommandLine(["location", "list", "--domain", "t.example", "--aor", "201@t.example", "--limit", "50", "--json"]),
    ).toMatchObject({ command: { name: "location list", domain: "t.example", aor: "201@t.example", limit: 50, json: true } });
  });

  it("takes the last --url and --token when one is repeated", () => {
    expect(parseCommandLine(["health", "--url", "http://a", "--url", "http://b", "--token", "t"])).toMatchObject({
      connection: { url: "http://b", token: "t" },
    });
  });

  it("resolves help topics from 'help' and from --help anywhere", () => {
    expect(parseCommandLine(["help"])).toEqual({ kind: "help", topic: { kind: "general" } });
    expect(parseCommandLine(["--help"])).toEqual({ kind: "help", topic: { kind: "general" } });
    expect(parseCommandLine(["-h"])).toEqual({ kind: "help", topic: { kind: "general" } });
    expect(parseCommandLine(["help", "tenant"])).toEqual({ kind: "help", topic: { kind: "group", group: "tenant" } });
    expect(parseCommandLine(["help", "tenant", "add"])).toMatchObject({ topic: { kind: "command", spec: { name: "tenant add" } } });
    // --help wins over missing or bad arguments: asking how is not misusing.
    expect(parseCommandLine(["tenant", "add", "--help"])).toMatchObject({ topic: { kind: "command", spec: { name: "tenant add" } } });
    expect(parseCommandLine(["location", "rm", "nonsense", "-h"])).toMatchObject({
      topic: { kind: "command", spec: { name: "location rm" } },
    });
  });

  it.each([
    [[], "missing command"],
    [["frob"], "unknown command 'frob'"],
    [["tenant"], "'tenant' needs a subcommand: add, list, show, rm"],
    [["tenant", "frob"], "unknown command 'tenant frob'"],
    [["help", "frob"], "unknown command 'frob'"],
    [["help", "tenant", "add", "x"], "unexpected argument 'x' after 'help tenant add'"],
    [["tenant", "list", "--bogus"], "unknown option '--bogus'"],
    [["tenant", "list", "-x"], "unknown option '-x'"],
    [["tenant", "list", "--json=yes"], "option '--json' takes no value"],
    [["health", "--url"], "option '--url' needs a value"],
    [["health", "--url", "--json"], "option '--url' needs a value"],
    [["tenant", "list", "--destination", "sip:a.example"], "option '--destination' does not apply to 'tenant list'"],
    [["tenant", "rm", "t.example", "--domain", "t.example"], "option '--domain' does not apply to 'tenant rm'"],
    [["tenant", "add", "t.example"], "'tenant add' needs --destination"],
    [["tenant", "add", "--destination", "sip:10.0.0.1"], "'tenant add' needs <domain>"],
    [["tenant", "add", "t.example", "u.example", "--destination", "sip:10.0.0.1"], "unexpected argument 'u.example'"],
    [["tenant", "add", "bad_domain", "--destination", "sip:10.0.0.1"], "domain 'bad_domain' is not a hostname"],
    [["tenant", "add", "t.example", "--destination", "10.0.0.1:5060"], "must be a sip: or sips: URI"],
    [["tenant", "add", "t.example", "--destination", "sip:10.0.0.1:70000"], "port 70000 is not in 1..65535"],
    [["tenant", "add", "t.example", "--destination", "sip:10.0.0.1", "--destination", "SIP:10.0.0.1"], "is given twice"],
    [["tenant", "show"], "'tenant show' needs <domain>"],
    [["tenant", "show", "t.example", "extra"], "unexpected argument 'extra'"],
    [["tenant", "rm", "not a domain"], "is not a hostname"],
    [["location", "list", "--domain", "bad_domain"], "--domain: domain 'bad_domain' is not a hostname"],
    [["location", "list", "--aor", "201"], "--aor: '201' is not user@domain"],
    [["location", "list", "--aor", "201@a.example", "--domain", "b.example"], "--aor 201@a.example is not in --domain b.example"],
    [["location", "list", "--limit", "0"], "--limit '0' is not a whole number in 1..1000"],
    [["location", "list", "--limit", "1001"], "--limit '1001' is not a whole number in 1..1000"],
    [["location", "list", "--limit", "ten"], "--limit 'ten' is not a whole number"],
    [["location", "list", "extra"], "unexpected argument 'extra'"],
    [["location", "rm"], "'location rm' needs <user@domain>"],
    [["location", "rm", "tenant-a.example"], "'@' is missing"],
    [["location", "rm", "sip:201@tenant-a.example"], "leave out the sip: scheme"],
    [["health", "now"], "unexpected argument 'now' for 'health'"],
  ])("refuses %j: %s", (argv, reason) => {
    expect(usageReason(argv)).toContain(reason);
  });

  it("names the command a usage error was for, so the message can point at its help", () => {
    try {
      parseCommandLine(["tenant", "add", "t.example"]);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).command).toBe("tenant add");
    }
  });
});
