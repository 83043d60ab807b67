// The pure parts of `edgectl legacy`: legacy rows <-> bindings, the one-row-per-AoR choice, comparison,
// the table diff, CSV, and password redaction.
import { describe, expect, it } from "vitest";
import { parseLegacyCsv, formatLegacyCsv } from "../../cli/legacy/csv";
import { redactUrl, scrub, secretsInArgv } from "../../cli/legacy/redact";
import {
  checkLegacyRow,
  compareLive,
  diffLegacy,
  formatDatetime,
  legacyRowsOf,
  parseDatetime,
  pickBinding,
  toLegacyRow,
  type LegacyRow,
  type LiveBinding,
} from "../../cli/legacy/rows";
import { capChanges } from "../../cli/legacy/run";

const NOW = Date.UTC(2026, 11, 4, 12, 0, 0) / 1000;
const TENANTS = new Set(["tenant-a.example"]);
const LATER = "2026-12-04 13:00:00";

const row = (over: Partial<LegacyRow> = {}): LegacyRow => ({
  aor: "201@tenant-a.example",
  contact_ip: "203.0.113.7",
  contact_port: "40312",
  contact_uri: "sip:201@192.168.1.10:5070",
  expires: LATER,
  ...over,
});

const binding = (over: Partial<LiveBinding> = {}): LiveBinding => ({
  id: 1,
  username: "201",
  domain: "tenant-a.example",
  contact: "sip:201@192.168.1.10:5070",
  received: "sip:203.0.113.7:40312",
  expires: NOW + 3600,
  q: 1,
  ...over,
});

describe("legacy row -> binding", () => {
  it("splits the AoR, keeps the contact, and sets received to the NAT address when it differs", () => {
    expect(checkLegacyRow(row(), NOW, TENANTS)).toEqual({
      kind: "ok",
      row: { username: "201", domain: "tenant-a.example", contact: "sip:201@192.168.1.10:5070", received: "sip:203.0.113.7:40312", expires: NOW + 3600 },
    });
  });

  it("leaves received empty when the source is the contact's host and port (default port 5060, IPv6 normalised)", () => {
    const same = (over: Partial<LegacyRow>) => checkLegacyRow(row(over), NOW, TENANTS);
    expect(same({ contact_ip: "192.0.2.1", contact_port: "5060", contact_uri: "sip:201@192.0.2.1" })).toMatchObject({ row: { received: null } });
    expect(same({ contact_ip: "2001:db8::1", contact_port: "5060", contact_uri: "sip:201@[2001:DB8:0::1]:5060" })).toMatchObject({ row: { received: null } });
    expect(same({ contact_ip: "2001:db8::1", contact_port: "5062", contact_uri: "sip:201@[2001:db8::1]" })).toMatchObject({ row: { received: "sip:[2001:db8::1]:5062" } });
    // RFC 3261 19.1.2: sips: defaults to 5061.
    expect(same({ contact_ip: "192.0.2.1", contact_port: "5061", contact_uri: "sips:201@192.0.2.1" })).toMatchObject({ row: { received: null } });
  });

  it("lower-cases the domain and skips expired rows", () => {
    expect(checkLegacyRow(row({ aor: "201@Tenant-A.Example" }), NOW, TENANTS)).toMatchObject({ row: { domain: "tenant-a.example" } });
    expect(checkLegacyRow(row({ expires: "2026-12-04 12:00:00" }), NOW, TENANTS)).toEqual({ kind: "expired" });
  });

  it.each([
    [{ aor: "no-at-sign" }, /aor: .*'@' is missing/],
    [{ aor: "sip:201@tenant-a.example" }, /aor: .*leave out the sip: scheme/],
    [{ aor: "201@foreign.example" }, /domain foreign\.example is no tenant/],
    [{ contact_uri: "tel:+15551234" }, /contact_uri 'tel:\+15551234' is not a sip: or sips: URI/],
    [{ contact_ip: "10.0.0.256" }, /contact_ip '10\.0\.0\.256' is not an IP address/],
    [{ contact_ip: "phone.example" }, /contact_ip/],
    [{ contact_port: "0" }, /contact_port '0' is not a port/],
    [{ contact_port: "65536" }, /contact_port/],
    [{ contact_port: "50a" }, /contact_port/],
    [{ expires: "2026-02-30 10:00:00" }, /expires '2026-02-30 10:00:00' is not YYYY-MM-DD HH:MM:SS/],
    [{ expires: "0000-00-00 00:00:00" }, /expires/],
    [{ expires: "2026-12-04T13:00:00Z" }, /expires/],
  ])("refuses %o with a reason", (over, reason) => {
    const check = checkLegacyRow(row(over), NOW, TENANTS);
    expect(check.kind).toBe("refused");
    expect(check.kind === "refused" ? check.reason : "").toMatch(reason);
  });

  it("reads and writes DATETIME text as UTC", () => {
    expect(parseDatetime("1970-01-01 00:00:00")).toBe(0);
    expect(parseDatetime("2026-12-04 13:00:00")).toBe(NOW + 3600);
    expect(formatDatetime(NOW + 3600)).toBe("2026-12-04 13:00:00");
    expect(parseDatetime("2026-12-04 24:00:00")).toBeUndefined();
  });
});

describe("binding -> legacy row", () => {
  it("uses the NAT address when there is one, else the contact's host and port", () => {
    expect(toLegacyRow(binding())).toEqual(row());
    expect(toLegacyRow(binding({ received: null, contact: "sip:201@[2001:db8::1]" }))).toMatchObject({ contact_ip: "2001:db8::1", contact_port: "5060" });
  });

  it("keeps one binding per AoR: highest q, then latest expiry, then the oldest", () => {
    const a = binding({ id: 1, q: 0.5, expires: NOW + 9000, contact: "sip:201@10.0.0.1" });
    const b = binding({ id: 2, q: 1, expires: NOW + 100, contact: "sip:201@10.0.0.2" });
    const c = binding({ id: 3, q: 1, expires: NOW + 200, contact: "sip:201@10.0.0.3" });
    const d = binding({ id: 4, q: 1, expires: NOW + 200, contact: "sip:201@10.0.0.4" });
    expect(pickBinding([a, b, c, d])).toBe(c);
    const { rows, several } = legacyRowsOf([a, b, d, c, binding({ id: 9, username: "202", contact: "sip:202@10.0.0.9" })]);
    expect([...rows.keys()]).toEqual(["201@tenant-a.example", "202@tenant-a.example"]);
    expect(rows.get("201@tenant-a.example")?.contact_uri).toBe("sip:201@10.0.0.3");
    expect(several).toHaveLength(1);
    expect(several[0]!.kept).toBe(c);
    expect(several[0]!.others.map((o) => o.id)).toEqual([1, 2, 4]);
  });
});

describe("compare", () => {
  it("same / different / only-legacy / only-here, AoR by AoR", () => {
    const legacy = new Map<string, LegacyRow>([
      ["201@tenant-a.example", row()],
      ["202@tenant-a.example", row({ aor: "202@tenant-a.example", contact_uri: "sip:202@192.168.1.11", contact_port: "40000" })],
      ["203@tenant-a.example", row({ aor: "203@tenant-a.example", contact_uri: "sip:203@192.168.1.12" })],
    ]);
    const ours = [
      binding(),
      // a second device of 201 does not make it differ
      binding({ id: 2, contact: "sip:201@192.168.1.99:5070", received: "sip:203.0.113.99:5070" }),
      binding({ id: 3, username: "202", contact: "sip:202@192.168.1.11", received: "sip:203.0.113.7:40001" }),
      binding({ id: 4, username: "204", contact: "sip:204@192.168.1.14" }),
    ];
    expect(compareLive(legacy, ours).map((c) => `${c.status} ${c.aor}`)).toEqual([
      "same 201@tenant-a.example",
      "different 202@tenant-a.example",
      "only-legacy 203@tenant-a.example",
      "only-here 204@tenant-a.example",
    ]);
  });

  it("compares addresses in normal form and ports as numbers", () => {
    const legacy = new Map([["201@tenant-a.example", row({ contact_ip: "2001:DB8:0:0::7", contact_port: "05070", contact_uri: "sip:201@x.example" })]]);
    const ours = [binding({ contact: "sip:201@x.example", received: "sip:[2001:db8::7]:5070" })];
    expect(compareLive(legacy, ours)[0]?.status).toBe("same");
  });
});

describe("table diff", () => {
  it("inserts, updates (also a domain spelled in another case), deletes, and counts what is unchanged", () => {
    const current = new Map<string, LegacyRow>([
      ["201@tenant-a.example", row({ aor: "201@Tenant-A.example" })],
      ["202@tenant-a.example", row({ aor: "202@tenant-a.example" })],
      ["299@tenant-a.example", row({ aor: "299@tenant-a.example" })],
    ]);
    const desired = new Map<string, LegacyRow>([
      ["201@tenant-a.example", row()],
      ["202@tenant-a.example", row({ aor: "202@tenant-a.example" })],
      ["203@tenant-a.example", row({ aor: "203@tenant-a.example" })],
    ]);
    const changes = diffLegacy(current, desired);
    expect(changes.inserts.map((r) => r.aor)).toEqual(["203@tenant-a.example"]);
    expect(changes.updates.map((r) => [r.aor, r.currentAor])).toEqual([["201@tenant-a.example", "201@Tenant-A.example"]]);
    expect(changes.deletes).toEqual(["299@tenant-a.example"]);
    expect(changes.unchanged).toBe(1);
  });

  it("a mirror pass is bounded: deletes first, then updates, then inserts, the rest pending", () => {
    const r = (n: number) => row({ aor: `${n}@tenant-a.example` });
    const capped = capChanges(
      { deletes: ["1@a", "2@a"], updates: [{ ...r(3), currentAor: r(3).aor }], inserts: [r(4), r(5)], unchanged: 7 },
      4,
    );
    expect(capped.changes.deletes).toHaveLength(2);
    expect(capped.changes.updates).toHaveLength(1);
    expect(capped.changes.inserts.map((x) => x.aor)).toEqual(["4@tenant-a.example"]);
    expect(capped.pending).toBe(1);
  });
});

describe("CSV", () => {
  it("round-trips rows, quoting fields that need it (RFC 4180)", () => {
    const rows = [row(), row({ aor: "202@tenant-a.example", contact_uri: 'sip:202@192.0.2.2;x="a,b"' })];
    const text = formatLegacyCsv(rows);
    expect(text.split("\n")[2]).toBe('202@tenant-a.example,203.0.113.7,40312,"sip:202@192.0.2.2;x=""a,b""",2026-12-04 13:00:00');
    expect(parseLegacyCsv(text, "f.csv")).toEqual([
      { line: 2, row: rows[0] },
      { line: 3, row: rows[1] },
    ]);
  });

  it("reads CRLF files with a BOM and reports lines that are not rows", () => {
    const text = "\uFEFFaor,contact_ip,contact_port,contact_uri,expires\r\n201@a.example,1.2.3.4,5060,sip:201@1.2.3.4,2026-12-04 13:00:00\r\n\r\ngarbage\r\n\"open,1,2,3,4\r\n";
    const lines = parseLegacyCsv(text, "f.csv");
    expect(lines[0]).toMatchObject({ line: 2, row: { aor: "201@a.example" } });
    expect(lines[1]).toEqual({ line: 4, problem: "1 fields, expected 5" });
    expect(lines[2]).toEqual({ line: 5, problem: "a quoted field is not closed" });
  });

  it("refuses a file without the legacy header", () => {
    expect(() => parseLegacyCsv("aor,ip\n", "f.csv")).toThrow(/f\.csv: the first line must be the header 'aor,contact_ip,contact_port,contact_uri,expires'/);
    expect(() => parseLegacyCsv("", "empty.csv")).toThrow(/header/);
  });
});

describe("password redaction", () => {
  it("masks the password of a URL and finds --mysql passwords, raw and encoded", () => {
    expect(redactUrl("mysql://legacy:p%40ss@db.example:3306/opensips")).toBe("mysql://legacy:***@db.example:3306/opensips");
    expect(redactUrl("mysql://legacy@db.example/opensips")).toBe("mysql://legacy@db.example/opensips");
    expect(redactUrl("not a url with user:pw@host")).toBe("***");
    const secrets = secretsInArgv(["legacy", "import", "--mysql", "mysql://u:p%40ss@h/d", "--mysql=mysql://v:other@h/d"]);
    expect(secrets).toEqual(expect.arrayContaining(["p%40ss", "p@ss", "other"]));
    expect(scrub("login p@ss and p%40ss and other", secrets)).toBe("login *** and *** and ***");
  });
});
