import { describe, expect, it } from "vitest";
import { checkAor, checkDestination, checkDomain, isHostname } from "../../cli/validate";

describe("domain check", () => {
  it.each(["tenant-a.example", "localhost", "a.b.c.example", "xn--bcher-kva.example", "EXAMPLE.com", "a1.b2"])(
    "accepts the hostname %s",
    (domain) => expect(checkDomain(domain)).toEqual({ ok: true, value: domain }),
  );

  it.each([
    ["", "domain is empty"],
    ["bad_domain.example", "not a hostname"],
    ["-a.example", "not a hostname"],
    ["a-.example", "not a hostname"],
    ["a..example", "not a hostname"],
    ["tenant.example.", "not a hostname"],
    ["10.0.0.1", "not a hostname"],
    ["tenant a.example", "not a hostname"],
    ["sip:tenant.example", "not a hostname"],
    [`${"a".repeat(64)}.example`, "not a hostname"],
  ])("refuses %j", (domain, reason) => {
    const checked = checkDomain(domain);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.reason).toContain(reason);
  });

  it("limits a hostname to 253 characters", () => {
    const label = "a".repeat(63);
    expect(isHostname([label, label, label, "a".repeat(57), "com"].join("."))).toBe(true);
    expect(isHostname([label, label, label, "a".repeat(58), "com"].join("."))).toBe(false);
  });
});

describe("destination check", () => {
  it.each([
    "sip:127.0.0.11:5080",
    "sip:10.0.0.2",
    "sips:gw.example:5061",
    "SIP:GW.EXAMPLE",
    "sip:[2001:db8::2]:5060",
    "sip:[::1]",
    "sip:gw@10.0.0.2:5060",
    "sip:10.0.0.2:5060;transport=tcp",
    "sip:10.0.0.2;lr",
    "sip:1.2.3.4:65535",
    "sip:1.2.3.4:1",
  ])("accepts %s", (uri) => expect(checkDestination(uri)).toEqual({ ok: true, value: uri }));

  it.each([
    ["10.0.0.2:5060", "must be a sip: or sips: URI"],
    ["http://10.0.0.2", "must be a sip: or sips: URI"],
    ["tel:+15551234", "must be a sip: or sips: URI"],
    ["sip:", "host is missing"],
    ["sip::5060", "host is missing"],
    ["sip:@10.0.0.2", "user part before '@' is empty"],
    ["sip:1.2.3.4:0", "port 0 is not in 1..65535"],
    ["sip:1.2.3.4:65536", "port 65536 is not in 1..65535"],
    ["sip:1.2.3.4:", "port '' is not a number"],
    ["sip:1.2.3.4:50x", "port '50x' is not a number"],
    ["sip:1.2.3.4:5060:1", "more than one ':' after the host"],
    ["sip:256.1.1.1", "'256.1.1.1' is not an IPv4 address"],
    ["sip:1.2.3", "'1.2.3' is not an IPv4 address"],
    ["sip:[2001:db8::zz]", "is not an IPv6 address"],
    ["sip:[fe80::1%25eth0]", "is not an IPv6 address"],
    ["sip:[::1", "lacks the closing ']'"],
    ["sip:[::1]5060", "unexpected '5060' after the host"],
    ["sip:2001:db8::2", "an IPv6 host goes in brackets"],
    ["sip:2001:db8::2:5060", "an IPv6 host goes in brackets"],
    ["sip:bad_host.example", "is not an IPv4 address, [IPv6] address or hostname"],
    ["sip:10.0.0.2 :5060", "must not contain spaces"],
    ["sip:10.0.0.2?subject=x", "must not carry URI headers"],
    ["sip:a@b@10.0.0.2", "more than one '@'"],
    ["sip:10.0.0.2;=x", "bad URI parameter"],
  ])("refuses %j: %s", (uri, reason) => {
    const checked = checkDestination(uri);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.reason).toContain(reason);
  });
});

describe("address-of-record check", () => {
  it("splits user@domain", () => {
    expect(checkAor("201@tenant-a.example")).toEqual({ ok: true, value: { user: "201", domain: "tenant-a.example" } });
    expect(checkAor("alice.smith+x@tenant-a.example").ok).toBe(true);
  });

  it.each([
    ["201", "'@' is missing"],
    ["@tenant-a.example", "the user part is empty"],
    ["201@", "is not a hostname"],
    ["201@bad_domain", "is not a hostname"],
    ["a@b@tenant-a.example", "more than one '@'"],
    ["sip:201@tenant-a.example", "leave out the sip: scheme"],
    ["2 01@tenant-a.example", "is not a SIP user part"],
  ])("refuses %j", (aor, reason) => {
    const checked = checkAor(aor);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.reason).toContain(reason);
  });
});
