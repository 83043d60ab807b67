/**
 * Turns argv into a typed invocation, checking everything that can be checked locally: known command,
 * options that apply to it, argument count, and the shape of domains, URIs and addresses-of-record. Any
 * problem is a {@link UsageError}; nothing here does I/O.
 */
import { parseArgs } from "node:util";
import { COMMANDS, GLOBAL_OPTIONS, GROUPS, OPTIONS } from "./commands";
import type { CommandName, CommandSpec, OptionName, OptionSpec } from "./commands";
import { checkOnOff, type DestinationCommand } from "./destination";
import { checkAor, checkDestination, checkDomain, checkUnusualDomain } from "./validate";
import { DEFAULT_THRESHOLDS, DEFAULT_WINDOW_S, metricsUrl } from "./rollback-check";
import type { RollbackCheckCommand } from "./rollback-check";
import type { Checked } from "./validate";

/** The command line cannot be run as written; `command` names the command it was for, when known. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    readonly reason: string,
    readonly command?: CommandName,
  ) {
    super(reason);
  }
}

/** A validated command, ready to run. */
export type Command =
  | {
      readonly name: "tenant add";
      readonly domain: string;
      readonly destinations: readonly string[];
      readonly requirePort: boolean;
      readonly allowUnusualDomain: boolean;
      readonly json: boolean;
    }
  | { readonly name: "tenant require-port"; readonly domain: string; readonly id: number; readonly on: boolean; readonly json: boolean }
  | { readonly name: "tenant list"; readonly json: boolean }
  | { readonly name: "tenant show"; readonly domain: string; readonly json: boolean }
  | { readonly name: "tenant rm"; readonly domain: string; readonly json: boolean }
  | {
      readonly name: "location list";
      readonly domain?: string;
      readonly aor?: string;
      readonly limit?: number;
      readonly json: boolean;
    }
  | { readonly name: "location rm"; readonly aor: string; readonly json: boolean }
  | DestinationCommand
  | { readonly name: "health"; readonly json: boolean }
  | ({ readonly name: "rollback-check" } & RollbackCheckCommand);

/** What help to print. */
export type HelpTopic =
  | { readonly kind: "general" }
  | { readonly kind: "group"; readonly group: string }
  | { readonly kind: "command"; readonly spec: CommandSpec };

/** A parsed command line: print help, or run a command against the admin API. */
export type Invocation =
  | { readonly kind: "help"; readonly topic: HelpTopic }
  | {
      readonly kind: "run";
      readonly command: Command;
      /** `--url` / `--token` when given; the environment and defaults are applied by the config. */
      readonly connection: { readonly url?: string; readonly token?: string };
    };

type ParseArgsOptions = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

const PARSE_OPTIONS: ParseArgsOptions = Object.fromEntries(
  Object.entries(OPTIONS).map(([name, spec]) => [
    name,
    {
      type: spec.type,
      ...(spec.multiple ? { multiple: true } : {}),
      ...(spec.short ? { short: spec.short } : {}),
    },
  ]),
);

const isOptionName = (name: string): name is OptionName => Object.hasOwn(OPTIONS, name);

function findCommand(first: string | undefined, second: string | undefined): CommandSpec | undefined {
  const name = first !== undefined && first in GROUPS ? `${first} ${second ?? ""}` : first;
  return COMMANDS.find((c) => c.name === name);
}

function subcommandsOf(group: string): string {
  return COMMANDS.filter((c) => c.name.startsWith(`${group} `))
    .map((c) => c.name.slice(group.length + 1))
    .join(", ");
}

function resolveCommand(words: readonly string[]): { spec: CommandSpec; rest: readonly string[] } {
  const [first, second] = words;
  if (first === undefined) throw new UsageError("missing command (run 'edgectl help')");
  if (Object.hasOwn(GROUPS, first)) {
    if (second === undefined) {
      throw new UsageError(`'${first}' needs a subcommand: ${subcommandsOf(first)} (run 'edgectl help ${first}')`);
    }
    const spec = findCommand(first, second);
    if (!spec) throw new UsageError(`unknown command '${first} ${second}'; '${first}' has ${subcommandsOf(first)}`);
    return { spec, rest: words.slice(2) };
  }
  const spec = findCommand(first, undefined);
  if (!spec) throw new UsageError(`unknown command '${first}' (run 'edgectl help')`);
  return { spec, rest: words.slice(1) };
}

function resolveHelp(words: readonly string[], strict: boolean): HelpTopic {
  if (words.length === 0 || (words.length === 1 && words[0] === "help")) return { kind: "general" };
  const [first, second] = words;
  if (first !== undefined && Object.hasOwn(GROUPS, first) && second === undefined) return { kind: "group", group: first };
  const { spec, rest } = resolveCommand(words);
  // `edgectl tenant show x --help` shows help whatever the arguments; `edgectl help tenant show x` is a typo.
  if (strict && rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}' after 'help ${spec.name}'`);
  return { kind: "command", spec };
}

function accept<T>(checked: Checked<T>, command: CommandName, what?: string): T {
  if (checked.ok) return checked.value;
  throw new UsageError(what ? `${what}: ${checked.reason}` : checked.reason, command);
}

function parseLimit(text: string, command: CommandName): number {
  const value = /^[0-9]{1,4}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= 1 && value <= 1000)) throw new UsageError(`--limit '${text}' is not a whole number in 1..1000`, command);
  return value;
}

function parseWindow(text: string, command: CommandName): number {
  const value = /^[0-9]{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= 1 && value <= 86400)) throw new UsageError(`--window '${text}' is not a whole number of seconds in 1..86400`, command);
  return value;
}

function parsePct(option: OptionName, text: string | undefined, fallback: number, command: CommandName): number {
  if (text === undefined) return fallback;
  const value = /^[0-9]{1,6}(\.[0-9]{1,6})?$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= 0)) throw new UsageError(`--${option} '${text}' is not a percentage (a number >= 0)`, command);
  return value;
}

function parseMetricsUrl(text: string, command: CommandName): string {
  let url: string;
  try {
    url = metricsUrl(text);
  } catch {
    throw new UsageError(`--metrics '${text}' is not a URL`, command);
  }
  if (!/^https?:/.test(url)) throw new UsageError(`--metrics '${text}' is not an http(s) URL`, command);
  return url;
}

/**
 * Parses and validates a command line (without the `node` and script words). Throws {@link UsageError} for
 * anything wrong with it.
 */
export function parseCommandLine(argv: readonly string[]): Invocation {
  // Non-strict, so that unknown options and missing values reach the checks below and get their messages.
  const parsed = parseArgs({ args: [...argv], options: PARSE_OPTIONS, allowPositionals: true, strict: false, tokens: true });

  const given = new Map<OptionName, string[]>();
  for (const token of parsed.tokens) {
    if (token.kind !== "option") continue;
    if (!isOptionName(token.name)) throw new UsageError(`unknown option '${token.rawName}'`);
    const spec: OptionSpec = OPTIONS[token.name];
    const values = given.get(token.name) ?? [];
    if (spec.type === "string") {
      // `--url --json` would otherwise take "--json" as the URL.
      if (token.value === undefined || (!token.inlineValue && token.value.startsWith("-"))) {
        throw new UsageError(`option '--${token.name}' needs a value`);
      }
      values.push(token.value);
    } else if (token.value !== undefined) {
      throw new UsageError(`option '--${token.name}' takes no value`);
    }
    given.set(token.name, values);
  }
  const positionals = parsed.positionals;

  if (given.has("help") || positionals[0] === "help") {
    const strict = positionals[0] === "help";
    return { kind: "help", topic: resolveHelp(strict ? positionals.slice(1) : positionals, strict) };
  }

  const { spec, rest } = resolveCommand(positionals);
  const name = spec.name;
  for (const option of given.keys()) {
    if (!GLOBAL_OPTIONS.includes(option) && !spec.options.includes(option)) {
      throw new UsageError(`option '--${option}' does not apply to '${name}'`, name);
    }
  }
  for (const option of spec.required ?? []) {
    if (!given.has(option)) throw new UsageError(`'${name}' needs --${option} ${OPTIONS[option].value ?? ""}`.trimEnd(), name);
  }
  if (rest.length < spec.positionals.length) {
    throw new UsageError(`'${name}' needs ${spec.positionals.slice(rest.length).join(" ")}`, name);
  }
  if (rest.length > spec.positionals.length) {
    throw new UsageError(`unexpected argument '${rest[spec.positionals.length]}' for '${name}'`, name);
  }

  const last = (option: OptionName): string | undefined => given.get(option)?.at(-1);
  const json = given.has("json");
  const arg = rest[0] ?? "";
  const connection = {
    ...(given.has("url") ? { url: last("url") } : {}),
    ...(given.has("token") ? { token: last("token") } : {}),
  };
  const run = (command: Command): Invocation => ({ kind: "run", command, connection });

  switch (name) {
    case "tenant add": {
      const allowUnusualDomain = given.has("allow-unusual-domain");
      const domain = accept(allowUnusualDomain ? checkUnusualDomain(arg) : checkDomain(arg), name);
      const destinations = (given.get("destination") ?? []).map((d) => accept(checkDestination(d), name));
      const seen = new Set<string>();
      for (const d of destinations) {
        if (seen.has(d.toLowerCase())) throw new UsageError(`destination '${d}' is given twice`, name);
        seen.add(d.toLowerCase());
      }
      return run({ name, domain, destinations, requirePort: given.has("require-port"), allowUnusualDomain, json });
    }
    case "tenant require-port": {
      const domain = accept(checkUnusualDomain(arg), name);
      const idText = rest[1] ?? "";
      if (!/^[1-9][0-9]{0,14}$/.test(idText)) throw new UsageError(`destination id '${idText}' is not a positive whole number`, name);
      const onOff = (rest[2] ?? "").toLowerCase();
      if (onOff !== "on" && onOff !== "off") throw new UsageError(`'${rest[2] ?? ""}' is neither 'on' nor 'off'`, name);
      return run({ name, domain, id: Number(idText), on: onOff === "on", json });
    }
    case "tenant list":
    case "health":
      return run({ name, json });
    case "tenant show":
    case "tenant rm":
      return run({ name, domain: accept(checkDomain(arg), name), json });
    case "location list": {
      const domainText = last("domain");
      const aorText = last("aor");
      const limitText = last("limit");
      const domain = domainText === undefined ? undefined : accept(checkDomain(domainText), name, "--domain");
      const aor = aorText === undefined ? undefined : accept(checkAor(aorText), name, "--aor");
      if (domain !== undefined && aor !== undefined && aor.domain.toLowerCase() !== domain.toLowerCase()) {
        throw new UsageError(`--aor ${aorText} is not in --domain ${domain}`, name);
      }
      return run({
        name,
        json,
        ...(domain !== undefined ? { domain } : {}),
        ...(aorText !== undefined ? { aor: aorText } : {}),
        ...(limitText !== undefined ? { limit: parseLimit(limitText, name) } : {}),
      });
    }
    case "location rm":
      accept(checkAor(arg), name);
      return run({ name, aor: arg, json });
    case "destination list":
    case "destination disable":
    case "destination enable":
    case "destination probe": {
      const domainText = last("domain");
      const scope = domainText === undefined ? {} : { domain: accept(checkDomain(domainText), name, "--domain") };
      if (name === "destination list") return run({ name, json, ...scope });
      const uri = accept(checkDestination(arg), name);
      if (name === "destination probe") return run({ name, uri, probing: accept(checkOnOff(rest[1] ?? ""), name), json, ...scope });
      return run({ name, uri, json, ...scope });
    }
    case "rollback-check": {
      const baseline = last("baseline");
      const saveBaseline = last("save-baseline");
      const windowText = last("window");
      return run({
        name,
        json,
        metrics: parseMetricsUrl(last("metrics") ?? "", name),
        windowS: windowText === undefined ? DEFAULT_WINDOW_S : parseWindow(windowText, name),
        ...(baseline !== undefined ? { baseline } : {}),
        ...(saveBaseline !== undefined ? { saveBaseline } : {}),
        thresholds: {
          registrationFailurePct: parsePct("max-registration-failures", last("max-registration-failures"), DEFAULT_THRESHOLDS.registrationFailurePct, name),
          routingFailurePct: parsePct("max-routing-failures", last("max-routing-failures"), DEFAULT_THRESHOLDS.routingFailurePct, name),
          latencyIncreasePct: parsePct("max-latency-increase", last("max-latency-increase"), DEFAULT_THRESHOLDS.latencyIncreasePct, name),
        },
      });
    }
  }
}
