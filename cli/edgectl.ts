/**
 * edgectl, the operator CLI of edge-registrar: parses the command line, talks to the worker's admin API and
 * prints tables or JSON. `main` takes its I/O as a parameter so that tests run it in-process; the
 * executable is bin/edgectl.js.
 */
import { AdminApiError, AdminUnreachableError, createAdminClient } from "./admin-client";
import type { AdminClient, FetchLike } from "./admin-client";
import { parseCommandLine, UsageError } from "./args";
import type { Command, HelpTopic } from "./args";
import { ConfigError, resolveConfig } from "./config";
import { runDestinationCommand } from "./destination";
import { ExitCode, exitCodeForStatus } from "./exit-codes";
import type { ExitCodeValue } from "./exit-codes";
import {
  bindingToJson,
  formatBindingsTable,
  formatJson,
  formatTenantDetail,
  formatTenantsTable,
  renderFields,
  sanitize,
} from "./format";
import { commandHelp, generalHelp, groupHelp } from "./help";
import { isLegacyCommandLine, runLegacyCommandLine } from "./legacy/run";
import { scrub, secretsInArgv } from "./legacy/redact";
import { formatReport, MetricsUnreachableError, reportJson, rollbackCheck, RollbackCheckInputError } from "./rollback-check";

/** Where the CLI writes, what environment it reads and how it sends requests; each defaults to the process's. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch: FetchLike;
  /** Waits (rollback-check's window). */
  readonly sleep: (ms: number) => Promise<void>;
}

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? "" : "s"}`;

function helpText(topic: HelpTopic): string {
  switch (topic.kind) {
    case "general":
      return generalHelp();
    case "group":
      return groupHelp(topic.group);
    case "command":
      return commandHelp(topic.spec);
  }
}

/** `rollback-check` talks to the gateway's /metrics, not to the admin API. */
async function runRollbackCheck(command: Extract<Command, { name: "rollback-check" }>, io: CliIo): Promise<ExitCodeValue> {
  const report = await rollbackCheck(command, { fetch: io.fetch, sleep: io.sleep, now: () => new Date() });
  io.stdout.write(command.json ? formatJson(reportJson(report)) : formatReport(report, { url: command.metrics, baseline: command.baseline }));
  if (command.saveBaseline !== undefined) io.stderr.write(`edgectl: baseline written to ${sanitize(command.saveBaseline)}\n`);
  return report.fired.length > 0 ? ExitCode.TriggerFired : ExitCode.Ok;
}

async function run(command: Command, client: AdminClient, io: CliIo): Promise<ExitCodeValue> {
  const print = (text: string) => io.stdout.write(text);
  const note = (text: string) => io.stderr.write(`${text}\n`);
  switch (command.name) {
    case "tenant add": {
      const tenant = await client.createTenant({
        domain: command.domain,
        destinations: command.requirePort ? command.destinations.map((uri) => ({ uri, requirePort: true })) : command.destinations,
        ...(command.allowUnusualDomain ? { allowUnusualDomain: true } : {}),
      });
      print(command.json ? formatJson(tenant) : `added tenant ${sanitize(command.domain)}\n${formatTenantDetail(tenant)}`);
      return ExitCode.Ok;
    }
    case "tenant require-port": {
      const destination = await client.setRequirePort(command.domain, command.id, command.on);
      print(
        command.json
          ? formatJson(destination)
          : `destination ${command.id} of ${sanitize(command.domain)} (${sanitize(destination.uri)}) is matched by ${command.on ? "IP and port" : "IP alone"}\n`,
      );
      return ExitCode.Ok;
    }
    case "tenant list": {
      const tenants = await client.listTenants();
      if (command.json) print(formatJson(tenants));
      else if (tenants.length === 0) note("no tenants");
      else print(formatTenantsTable(tenants));
      return ExitCode.Ok;
    }
    case "tenant show": {
      const tenant = await client.getTenant(command.domain);
      print(command.json ? formatJson(tenant) : formatTenantDetail(tenant));
      return ExitCode.Ok;
    }
    case "tenant rm": {
      const answer = await client.deleteTenant(command.domain);
      print(
        command.json
          ? formatJson(answer)
          : `deleted tenant ${sanitize(answer.deleted)} (${plural(answer.bindingsRemoved, "binding")} removed)\n`,
      );
      return ExitCode.Ok;
    }
    case "location list": {
      const bindings = await client.listBindings({
        ...(command.domain !== undefined ? { domain: command.domain } : {}),
        ...(command.aor !== undefined ? { aor: command.aor } : {}),
        ...(command.limit !== undefined ? { limit: command.limit } : {}),
      });
      if (command.json) print(formatJson(bindings.map(bindingToJson)));
      else if (bindings.length === 0) note("no bindings");
      else print(formatBindingsTable(bindings, Math.floor(Date.now() / 1000)));
      return ExitCode.Ok;
    }
    case "location rm": {
      const answer = await client.deleteAor(command.aor);
      print(command.json ? formatJson(answer) : `deleted ${plural(answer.deleted, "binding")} of ${sanitize(command.aor)}\n`);
      return ExitCode.Ok;
    }
    case "destination list":
    case "destination disable":
    case "destination enable":
    case "destination probe":
      return runDestinationCommand(command, client, print, note);
    case "health": {
      const report = await client.health();
      print(
        command.json
          ? formatJson({ status: report.status, store: report.store })
          : renderFields([
              ["status", sanitize(report.status)],
              ["store", sanitize(report.store)],
            ]),
      );
      if (report.healthy) return ExitCode.Ok;
      io.stderr.write(`edgectl: the admin API is ${sanitize(report.status)}: store ${sanitize(report.store)}\n`);
      return ExitCode.Failure;
    }
    case "rollback-check":
      return runRollbackCheck(command, io);
  }
}

/** Turns any failure into its one-line message and exit code; never a stack trace. */
function failure(error: unknown): { message: string; code: ExitCodeValue } {
  if (error instanceof UsageError) {
    const hint = error.command ? ` (see 'edgectl help ${error.command}')` : "";
    return { message: `${error.reason}${hint}`, code: ExitCode.Usage };
  }
  if (error instanceof ConfigError) return { message: error.message, code: ExitCode.Usage };
  if (error instanceof RollbackCheckInputError) return { message: error.message, code: ExitCode.Usage };
  if (error instanceof MetricsUnreachableError) {
    return error.unreachable
      ? { message: `cannot reach the gateway metrics at ${error.url}: ${error.reason}`, code: ExitCode.Unreachable }
      : { message: `the gateway metrics at ${error.url} answered ${error.reason}`, code: ExitCode.Failure };
  }
  if (error instanceof AdminUnreachableError) {
    return { message: `cannot reach the admin API at ${error.url}: ${error.reason}`, code: ExitCode.Unreachable };
  }
  if (error instanceof AdminApiError) {
    const code = exitCodeForStatus(error.status);
    const hint = code === ExitCode.Unauthorized ? "; check EDGE_ADMIN_TOKEN or --token" : "";
    return { message: `${error.reason} (HTTP ${error.status})${hint}`, code };
  }
  const detail = error instanceof Error ? error.message : String(error);
  return { message: `unexpected failure: ${detail}`, code: ExitCode.Failure };
}

/**
 * Runs edgectl with `argv` (the arguments after the script name) and resolves to the exit code; it does not
 * exit the process. Output goes to `io.stdout`, one-line errors (`edgectl: <reason>`) to `io.stderr`.
 */
export async function main(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const resolved: CliIo = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    env: io.env ?? process.env,
    fetch: io.fetch ?? ((url, init) => fetch(url, init)),
    sleep: io.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
  };
  try {
    if (isLegacyCommandLine(argv)) return await runLegacyCommandLine(argv, resolved);
    const invocation = parseCommandLine(argv);
    if (invocation.kind === "help") {
      resolved.stdout.write(helpText(invocation.topic));
      return ExitCode.Ok;
    }
    if (invocation.command.name === "rollback-check") return await runRollbackCheck(invocation.command, resolved);
    const config = resolveConfig(invocation.connection, resolved.env);
    const client = createAdminClient({ baseUrl: config.url, token: config.token, fetch: resolved.fetch });
    return await run(invocation.command, client, resolved);
  } catch (error) {
    const { message, code } = failure(error);
    // A MySQL password given on the command line never appears in a message (edgectl legacy ...).
    resolved.stderr.write(`edgectl: ${sanitize(scrub(message, secretsInArgv(argv)))}\n`);
    return code;
  }
}
