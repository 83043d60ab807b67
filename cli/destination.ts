/**
 * `edgectl destination ...`: the tenants' dispatcher destinations and their state (docs/edgectl.md).
 *   destination list [--domain <d>] [--json]        URI and state (active | inactive | disabled) of each
 *   destination disable <sip-uri> [--domain <d>]    maintenance: never routed to, probes leave it alone
 *   destination enable <sip-uri> [--domain <d>]     back in service
 *   destination probe <sip-uri> on|off [--domain <d>]   OPTIONS probing by the gateways
 * The command shapes, their local checks, their run and their output live here; commands.ts lists them
 * and args.ts / edgectl.ts hand over to this file.
 */
import type { AdminClient, DestinationStatus } from "./admin-client";
import { ExitCode, type ExitCodeValue } from "./exit-codes";
import { cell, formatJson, renderTable, sanitize } from "./format";
import type { Checked } from "./validate";

/** A validated destination command. */
export type DestinationCommand =
  | { readonly name: "destination list"; readonly domain?: string; readonly json: boolean }
  | {
      readonly name: "destination disable" | "destination enable";
      readonly uri: string;
      readonly domain?: string;
      readonly json: boolean;
    }
  | { readonly name: "destination probe"; readonly uri: string; readonly probing: boolean; readonly domain?: string; readonly json: boolean };

/** `on` / `off` of `destination probe`. */
export function checkOnOff(text: string): Checked<boolean> {
  const t = text.toLowerCase();
  if (t === "on") return { ok: true, value: true };
  if (t === "off") return { ok: true, value: false };
  return { ok: false, reason: `'${text}' is not on or off` };
}

/** The `destination list` table. */
export function formatDestinationsTable(destinations: readonly DestinationStatus[]): string {
  return renderTable(
    ["URI", "STATE", "PROBING", "DOMAINS", "WEIGHT", "PRIORITY", "ID"],
    destinations.map((d) => [
      cell(d.uri),
      cell(d.state),
      d.probing === true ? "on" : d.probing === false ? "off" : cell(d.probing),
      Array.isArray(d.domains) && d.domains.length > 0 ? d.domains.map((x) => cell(x)).join(",") : "-",
      cell(d.weight),
      cell(d.priority),
      cell(d.id),
    ]),
  );
}

/** Runs a destination command; prints to `print`, notes to `note`. */
export async function runDestinationCommand(
  command: DestinationCommand,
  client: AdminClient,
  print: (text: string) => void,
  note: (text: string) => void,
): Promise<ExitCodeValue> {
  const scope = command.domain !== undefined ? { domain: command.domain } : {};
  switch (command.name) {
    case "destination list": {
      const list = await client.listDestinations(scope);
      if (command.json) print(formatJson(list));
      else if (list.length === 0) note("no destinations");
      else print(formatDestinationsTable(list));
      return ExitCode.Ok;
    }
    case "destination disable":
    case "destination enable": {
      const action = command.name === "destination disable" ? "disable" : "enable";
      const answer = await client.setDestinationState(action, { uri: command.uri, ...scope });
      if (command.json) print(formatJson(answer.destinations));
      else {
        const verb = action === "disable" ? "disabled" : "enabled";
        const states = answer.destinations.map((d) => `${cell(d.uri)} (${d.domains.map((x) => cell(x)).join(",") || "-"}): ${cell(d.state)}`);
        print(`${answer.changed === 0 ? `already ${verb}` : verb}: ${sanitize(command.uri)}\n${states.join("\n")}\n`);
      }
      return ExitCode.Ok;
    }
    case "destination probe": {
      const list = await client.setDestinationProbing({ uri: command.uri, probing: command.probing, ...scope });
      if (command.json) print(formatJson(list));
      else print(`probing ${command.probing ? "on" : "off"}: ${sanitize(command.uri)} (${list.length} destination${list.length === 1 ? "" : "s"})\n`);
      return ExitCode.Ok;
    }
  }
}
