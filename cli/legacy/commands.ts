/**
 * The `edgectl legacy ...` commands (the cut-over from the legacy `endpoint_locations` table): their table,
 * the parser of their command lines and their help. Kept beside the main command table (cli/commands.ts)
 * rather than in it, because their options (a MySQL URL, a CSV file) belong to no other command.
 */
import { parseArgs } from "node:util";
import { UsageError } from "../args";
import { OPTIONS } from "../commands";
import { parseMysqlUrl, type MysqlSettings } from "./mysql";
import { redactUrl } from "./redact";

export type LegacyCommandName = "import" | "export" | "compare" | "mirror";
type LegacyOption = "mysql" | "csv" | "dry-run" | "json" | "interval" | "url" | "token" | "help";

interface LegacyCommandSpec {
  readonly name: LegacyCommandName;
  readonly usage: string;
  readonly summary: string;
  readonly options: readonly LegacyOption[];
  readonly details: readonly string[];
  readonly examples: readonly string[];
}

const OPTION_HELP: Readonly<Record<LegacyOption, readonly [string, string]>> = {
  mysql: ["--mysql <url>", "the legacy table in MySQL/MariaDB: mysql://user[:password]@host[:port]/database"],
  csv: ["--csv <file>", "the legacy table as CSV: header aor,contact_ip,contact_port,contact_uri,expires"],
  "dry-run": ["--dry-run", "write nothing; print the report of what would be written"],
  json: ["--json", "print the report as JSON"],
  interval: ["--interval <s>", "seconds between two passes, 1..3600 (default 10)"],
  url: ["--url <url>", "admin API origin (default $EDGE_ADMIN_URL, else http://127.0.0.1:8787)"],
  token: ["--token <token>", "admin bearer token (default $EDGE_ADMIN_TOKEN, else dev-admin-token)"],
  help: ["-h, --help", "show help for the command and exit"],
};

/** The legacy commands, in the order help lists them. */
export const LEGACY_COMMANDS: readonly LegacyCommandSpec[] = [
  {
    name: "import",
    usage: "edgectl legacy import (--mysql <url> | --csv <file>) [--dry-run] [--json]",
    summary: "import the legacy endpoint_locations rows as bindings",
    options: ["mysql", "csv", "dry-run", "json"],
    details: [
      "Each live row becomes a binding of its AoR: contact = contact_uri, received = sip:contact_ip:contact_port",
      "when that is not the contact's host and port. Expired rows are skipped. Rows whose domain is no tenant,",
      "that are malformed, or whose AoR appears more than once are refused one by one with a reason.",
      "An AoR with a live binding registered here is kept as it is (newer than the legacy row).",
      "Running it twice changes nothing. Each batch of 200 rows is written all or nothing.",
      "Exits 0 when no row was refused, 7 when some were (the others are imported).",
    ],
    examples: [
      "edgectl legacy import --mysql mysql://opensips:secret@10.0.0.5/opensips --dry-run",
      "edgectl legacy import --csv endpoint_locations.csv --json",
    ],
  },
  {
    name: "export",
    usage: "edgectl legacy export (--mysql <url> | --csv <file>) [--json]",
    summary: "write the live bindings back in the legacy shape (rollback)",
    options: ["mysql", "csv", "json"],
    details: [
      "One row per AoR: contact_ip/contact_port = the phone's NAT address (received), else the contact's",
      "host and port. An AoR with several bindings keeps the one with the highest q, then the latest expiry;",
      "the report names each such AoR. The table is made equal to the bindings (inserts, updates, deletes)",
      "in one transaction; the CSV file is written whole (temporary file, then renamed).",
    ],
    examples: ["edgectl legacy export --mysql mysql://opensips:secret@10.0.0.5/opensips", "edgectl legacy export --csv rollback.csv"],
  },
  {
    name: "compare",
    usage: "edgectl legacy compare (--mysql <url> | --csv <file>) [--json]",
    summary: "compare the legacy rows with the bindings, AoR by AoR",
    options: ["mysql", "csv", "json"],
    details: [
      "Each AoR is same (one binding has the legacy NAT address, port and contact), different (both shown),",
      "only-legacy or only-here. Expired rows and bindings count as absent.",
      "Exits 0 when every live AoR is the same on both sides, 7 otherwise.",
    ],
    examples: ["edgectl legacy compare --mysql mysql://opensips:secret@10.0.0.5/opensips", "edgectl legacy compare --csv now.csv --json"],
  },
  {
    name: "mirror",
    usage: "edgectl legacy mirror --mysql <url> [--interval <s>]",
    summary: "keep the legacy table equal to the bindings until stopped",
    options: ["mysql", "interval"],
    details: [
      "Every interval, one pass: inserts, updates and deletes (at most 5000 changes, the rest in the next",
      "pass) in one transaction. Prints a line for each pass that changed something.",
      "Ctrl-C (SIGINT) or SIGTERM: the current pass finishes, then edgectl exits 0.",
    ],
    examples: ["edgectl legacy mirror --mysql mysql://opensips:secret@10.0.0.5/opensips --interval 5"],
  },
];

/** Where the legacy rows are. */
export type LegacySource =
  | { readonly kind: "mysql"; readonly settings: MysqlSettings }
  | { readonly kind: "csv"; readonly file: string };

/** A parsed `edgectl legacy ...` command line. */
export type LegacyInvocation =
  | { readonly kind: "help"; readonly text: string }
  | {
      readonly kind: "run";
      readonly command: LegacyCommandName;
      readonly source: LegacySource;
      readonly dryRun: boolean;
      readonly json: boolean;
      readonly intervalS: number;
      readonly connection: { readonly url?: string; readonly token?: string };
    };

/**
 * True when `argv` is a legacy command or asks for its help (`edgectl help legacy ...`), options anywhere:
 * the options of both command tables are known, so an option's value is never taken for a command word.
 */
export function isLegacyCommandLine(argv: readonly string[]): boolean {
  const options = {
    ...Object.fromEntries(
      Object.entries(OPTIONS).map(([name, spec]) => [
        name,
        { type: spec.type, ...(spec.multiple ? { multiple: true } : {}), ...(spec.short ? { short: spec.short } : {}) },
      ]),
    ),
    ...PARSE_OPTIONS,
  };
  const words = parseArgs({ args: [...argv], options, allowPositionals: true, strict: false }).positionals;
  return words[0] === "legacy" || (words[0] === "help" && words[1] === "legacy");
}

function list(rows: readonly (readonly [string, string])[]): string[] {
  const pad = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => `  ${left.padEnd(pad)}${right}`);
}

/** Lines for the general help (`edgectl help`): one per legacy command. */
export function legacyCommandSummaries(): readonly (readonly [string, string])[] {
  return LEGACY_COMMANDS.map((c) => [`legacy ${c.name}`, c.summary] as const);
}

/** `edgectl help legacy`. */
export function legacyGroupHelp(): string {
  return [
    "edgectl legacy: cut-over from the legacy endpoint_locations table (see docs/migration.md)",
    "",
    "Commands:",
    ...list(LEGACY_COMMANDS.map((c) => [`legacy ${c.name}`, c.summary] as const)),
    "",
    "Passwords in --mysql URLs are never printed. A URL without a password takes it from",
    "$EDGE_LEGACY_MYSQL_PASSWORD (other users cannot list it, unlike the command line).",
    "Exit codes beyond 'edgectl help': 7 differences found",
    "(compare) or rows refused (import); 8 the legacy source failed (MySQL unreachable or refusing the login,",
    "table missing or of another shape, CSV unreadable or without the header).",
    "",
    "Run 'edgectl help legacy <command>' for details.",
    "",
  ].join("\n");
}

/** `edgectl help legacy <command>`. */
export function legacyCommandHelp(name: LegacyCommandName): string {
  const spec = LEGACY_COMMANDS.find((c) => c.name === name)!;
  const options: LegacyOption[] = [...spec.options, "url", "token", "help"];
  return [
    `Usage: ${spec.usage}`,
    "",
    `${spec.summary.charAt(0).toUpperCase()}${spec.summary.slice(1)}.`,
    "",
    ...spec.details,
    "",
    "Options:",
    ...list(options.map((o) => OPTION_HELP[o])),
    "",
    spec.examples.length > 1 ? "Examples:" : "Example:",
    ...spec.examples.map((e) => `  ${e}`),
    "",
    "Exit codes: see 'edgectl help' and 'edgectl help legacy'.",
    "",
  ].join("\n");
}

const PARSE_OPTIONS = {
  mysql: { type: "string" },
  csv: { type: "string" },
  "dry-run": { type: "boolean" },
  json: { type: "boolean" },
  interval: { type: "string" },
  url: { type: "string" },
  token: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const isLegacyOption = (name: string): name is LegacyOption => Object.hasOwn(PARSE_OPTIONS, name);
const isCommandName = (name: string | undefined): name is LegacyCommandName =>
  LEGACY_COMMANDS.some((c) => c.name === name);
const names = LEGACY_COMMANDS.map((c) => c.name).join(", ");

/** Parses `legacy <command> ...` (or `help legacy [command]`); throws {@link UsageError}. */
export function parseLegacyCommandLine(argv: readonly string[]): LegacyInvocation {
  const parsed = parseArgs({ args: [...argv], options: PARSE_OPTIONS, allowPositionals: true, strict: false, tokens: true });
  const given = new Map<LegacyOption, string[]>();
  for (const token of parsed.tokens) {
    if (token.kind !== "option") continue;
    if (!isLegacyOption(token.name)) throw new UsageError(`unknown option '${token.rawName}'`);
    const values = given.get(token.name) ?? [];
    if (PARSE_OPTIONS[token.name].type === "string") {
      if (token.value === undefined || (!token.inlineValue && token.value.startsWith("-"))) {
        throw new UsageError(`option '--${token.name}' needs a value`);
      }
      values.push(token.value);
    } else if (token.value !== undefined) {
      throw new UsageError(`option '--${token.name}' takes no value`);
    }
    given.set(token.name, values);
  }
  const positionals = parsed.positionals[0] === "help" ? parsed.positionals.slice(1) : parsed.positionals;
  const [, sub, extra] = positionals;
  if (parsed.positionals[0] === "help" || given.has("help")) {
    if (sub === undefined) return { kind: "help", text: legacyGroupHelp() };
    if (!isCommandName(sub)) throw new UsageError(`unknown command 'legacy ${sub}'; 'legacy' has ${names}`);
    return { kind: "help", text: legacyCommandHelp(sub) };
  }
  if (sub === undefined) throw new UsageError(`'legacy' needs a subcommand: ${names} (run 'edgectl help legacy')`);
  if (!isCommandName(sub)) throw new UsageError(`unknown command 'legacy ${sub}'; 'legacy' has ${names}`);
  const command = sub;
  const spec = LEGACY_COMMANDS.find((c) => c.name === command)!;
  const hint = `(see 'edgectl help legacy ${command}')`;
  if (extra !== undefined) throw new UsageError(`unexpected argument '${redactUrl(extra)}' for 'legacy ${command}' ${hint}`);
  for (const option of given.keys()) {
    if (!["url", "token"].includes(option) && !spec.options.includes(option)) {
      throw new UsageError(`option '--${option}' does not apply to 'legacy ${command}' ${hint}`);
    }
  }
  const last = (o: LegacyOption) => given.get(o)?.at(-1);
  const mysqlUrl = last("mysql");
  const csv = last("csv");
  if (mysqlUrl !== undefined && csv !== undefined) throw new UsageError(`give either --mysql or --csv, not both ${hint}`);
  let source: LegacySource;
  if (mysqlUrl !== undefined) source = { kind: "mysql", settings: parseMysqlUrl(mysqlUrl) };
  else if (csv !== undefined) {
    if (csv === "") throw new UsageError(`--csv needs a file name ${hint}`);
    source = { kind: "csv", file: csv };
  } else {
    throw new UsageError(`'legacy ${command}' needs ${command === "mirror" ? "--mysql <url>" : "--mysql <url> or --csv <file>"} ${hint}`);
  }
  const intervalText = last("interval");
  let intervalS = 10;
  if (intervalText !== undefined) {
    intervalS = /^[0-9]{1,4}$/.test(intervalText) ? Number(intervalText) : Number.NaN;
    if (!(intervalS >= 1 && intervalS <= 3600)) throw new UsageError(`--interval '${intervalText}' is not a whole number of seconds in 1..3600`);
  }
  return {
    kind: "run",
    command,
    source,
    dryRun: given.has("dry-run"),
    json: given.has("json"),
    intervalS,
    connection: {
      ...(given.has("url") ? { url: last("url") } : {}),
      ...(given.has("token") ? { token: last("token") } : {}),
    },
  };
}

/** How a source is named in reports and messages (a MySQL URL without its password). */
export function describeSource(source: LegacySource): string {
  // `display` is redacted when the settings are read (mysql.ts).
  return source.kind === "mysql" ? source.settings.display : source.file;
}
