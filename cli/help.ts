/**
 * The help texts of edgectl, rendered from the command table so that they always match what the parser
 * accepts.
 */
import { COMMANDS, GLOBAL_OPTIONS, GROUPS, OPTIONS } from "./commands";
import type { CommandSpec, OptionName } from "./commands";
import { DEFAULT_ADMIN_TOKEN, DEFAULT_ADMIN_URL } from "./config";
import { DEFAULT_TIMEOUT_MS } from "./admin-client";
import { legacyCommandSummaries } from "./legacy/commands";

function optionLabel(name: OptionName): string {
  const spec = OPTIONS[name];
  const long = `--${name}${spec.value ? ` ${spec.value}` : ""}`;
  return spec.short ? `-${spec.short}, ${long}` : long;
}

function list(rows: readonly (readonly [string, string])[]): string[] {
  const pad = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => `  ${left.padEnd(pad)}${right}`);
}

/** The one-line usage of a command: `edgectl tenant add <domain> --destination <sip-uri>... [--json]`. */
export function synopsis(spec: CommandSpec): string {
  const words = [`edgectl ${spec.name}`, ...spec.positionals];
  for (const name of spec.options) {
    const label = `--${name}${OPTIONS[name].value ? ` ${OPTIONS[name].value}` : ""}`;
    const repeat = OPTIONS[name].multiple ? "..." : "";
    words.push(spec.required?.includes(name) ? `${label}${repeat}` : `[${label}]${repeat}`);
  }
  return words.join(" ");
}

const EXIT_CODES: readonly (readonly [string, string])[] = [
  ["0", "ok"],
  ["1", "the API answered an error (4xx/5xx not listed below), or an unexpected failure"],
  ["2", "usage error: bad command, option, argument or setting (found locally, nothing sent)"],
  ["3", "not found (HTTP 404)"],
  ["4", "conflict (HTTP 409)"],
  ["5", `cannot reach the admin API, or rollback-check's /metrics (connection refused, host not found, no answer within ${DEFAULT_TIMEOUT_MS / 1000} s)`],
  ["6", "unauthorized (HTTP 401 or 403): check EDGE_ADMIN_TOKEN or --token"],
  ["7", "a check found a problem: rollback-check fired a trigger, legacy compare found differences, or legacy import refused rows"],
  ["8", "legacy source failed: MySQL unreachable or refusing the login, table missing or of another shape, bad CSV"],
];

/** `edgectl help`: every command, the global options, the environment and the exit codes. */
export function generalHelp(): string {
  return [
    "edgectl: operator CLI of the edge-registrar admin API (/admin/v1)",
    "",
    "Usage: edgectl <command> [arguments] [options]",
    "",
    "Commands:",
    ...list([
      ...COMMANDS.map((c) => [[c.name, ...c.positionals].join(" "), c.summary] as const),
      ...legacyCommandSummaries(),
      ["help [command]", "show help, for one command when given"],
    ]),
    "",
    "Options of every command:",
    ...list(GLOBAL_OPTIONS.map((name) => [optionLabel(name), OPTIONS[name].description] as const)),
    "",
    "Environment:",
    ...list([
      ["EDGE_ADMIN_URL", `admin API origin (default ${DEFAULT_ADMIN_URL}, the local run's worker)`],
      ["EDGE_ADMIN_TOKEN", `admin bearer token (default ${DEFAULT_ADMIN_TOKEN}, the local run's token)`],
    ]),
    "",
    "Exit codes:",
    ...list(EXIT_CODES),
    "",
    "Run 'edgectl help <command>' (or 'edgectl <command> --help') for a command's options.",
    "",
  ].join("\n");
}

/** Help of one command: usage, options, notes, examples. */
export function commandHelp(spec: CommandSpec): string {
  const options = [...spec.options, ...GLOBAL_OPTIONS];
  return [
    `Usage: ${synopsis(spec)}`,
    "",
    `${spec.summary.charAt(0).toUpperCase()}${spec.summary.slice(1)}.`,
    ...(spec.details.length > 0 ? ["", ...spec.details] : []),
    "",
    "Options:",
    ...list(options.map((name) => [optionLabel(name), OPTIONS[name].description] as const)),
    "",
    spec.examples.length > 1 ? "Examples:" : "Example:",
    ...spec.examples.map((e) => `  ${e}`),
    "",
    "Exit codes: see 'edgectl help'.",
    "",
  ].join("\n");
}

/** Help of a command group (`edgectl help tenant`): its commands. */
export function groupHelp(group: string): string {
  const commands = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  return [
    `edgectl ${group}: ${GROUPS[group] ?? ""}`,
    "",
    "Commands:",
    ...list(commands.map((c) => [[c.name, ...c.positionals].join(" "), c.summary] as const)),
    "",
    `Run 'edgectl help ${group} <command>' for details.`,
    "",
  ].join("\n");
}
