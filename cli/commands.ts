/**
 * The command table of edgectl: which commands exist, what they take, and the words of their help. The
 * parser checks a command line against it and the help is rendered from it, so the two cannot disagree.
 */

/** Every option edgectl knows, by long name. */
export type OptionName =
  | "url"
  | "token"
  | "help"
  | "json"
  | "destination"
  | "require-port"
  | "allow-unusual-domain"
  | "domain"
  | "aor"
  | "limit"
  | "metrics"
  | "window"
  | "baseline"
  | "save-baseline"
  | "max-registration-failures"
  | "max-routing-failures"
  | "max-latency-increase";

/** How an option is written and what it means. */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly multiple?: boolean;
  readonly short?: string;
  /** Placeholder of the value in help, for string options. */
  readonly value?: string;
  readonly description: string;
}

/** The options, in the order help lists them. */
export const OPTIONS: Readonly<Record<OptionName, OptionSpec>> = {
  destination: {
    type: "string",
    multiple: true,
    value: "<sip-uri>",
    description: "dispatcher destination, sip: or sips: URI (repeat for several)",
  },
  "require-port": {
    type: "boolean",
    description: "match requests from these destinations by IP and port, not by IP alone (needed to share an IP)",
  },
  "allow-unusual-domain": {
    type: "boolean",
    description: "accept an IP address or a single-label name as the tenant domain",
  },
  domain: { type: "string", value: "<domain>", description: "only this tenant domain's bindings or destinations" },
  aor: { type: "string", value: "<user@domain>", description: "only bindings of this address-of-record" },
  limit: { type: "string", value: "<n>", description: "at most n bindings, 1..1000 (API default 1000)" },
  metrics: { type: "string", value: "<url>", description: "the gateway's /metrics URL (a bare origin gets /metrics)" },
  window: { type: "string", value: "<s>", description: "seconds between the two samples, 1..86400 (default 60)" },
  baseline: { type: "string", value: "<file>", description: "compare the added-latency p99 with this saved baseline" },
  "save-baseline": { type: "string", value: "<file>", description: "write this window's added-latency p99 as a baseline" },
  "max-registration-failures": { type: "string", value: "<pct>", description: "registration failure threshold, % (default 5)" },
  "max-routing-failures": { type: "string", value: "<pct>", description: "routing failure threshold, % (default 5)" },
  "max-latency-increase": { type: "string", value: "<pct>", description: "added-latency p99 increase threshold, % over the baseline (default 20)" },
  json: { type: "boolean", description: "print the API's answer as JSON instead of text" },
  url: { type: "string", value: "<url>", description: "admin API origin (default $EDGE_ADMIN_URL, else http://127.0.0.1:8787)" },
  token: { type: "string", value: "<token>", description: "admin bearer token (default $EDGE_ADMIN_TOKEN, else dev-admin-token)" },
  help: { type: "boolean", short: "h", description: "show help for the command and exit" },
};

/** Options every command accepts. */
export const GLOBAL_OPTIONS: readonly OptionName[] = ["url", "token", "help"];

/** The runnable commands, each named by its words. */
export type CommandName =
  | "tenant add"
  | "tenant list"
  | "tenant show"
  | "tenant rm"
  | "tenant require-port"
  | "location list"
  | "location rm"
  | "destination list"
  | "destination disable"
  | "destination enable"
  | "destination probe"
  | "health"
  | "rollback-check";

/** One command: its words, positional arguments, the options it takes beyond the global ones, and its help. */
export interface CommandSpec {
  readonly name: CommandName;
  readonly positionals: readonly string[];
  readonly options: readonly OptionName[];
  /** Options among `options` that must be given. */
  readonly required?: readonly OptionName[];
  readonly summary: string;
  /** Further help lines: what is printed, what the exit codes mean for this command. */
  readonly details: readonly string[];
  readonly examples: readonly string[];
}

/** The commands, in the order help lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "tenant add",
    positionals: ["<domain>"],
    options: ["destination", "require-port", "allow-unusual-domain", "json"],
    required: ["destination"],
    summary: "create a tenant domain with its dispatcher destinations",
    details: [
      "At least one --destination is required. Exits 4 when the domain already exists, or when a destination",
      "shares its IP with another tenant's and not both require their port (the reason says which).",
      "--require-port: requests count as from these destinations only from their own port.",
      "Prints the created tenant (as JSON with --json).",
    ],
    examples: [
      "edgectl tenant add tenant-a.example --destination sip:127.0.0.11:5080 --destination sip:[2001:db8::2]:5060",
      "edgectl tenant add tenant-c.example --destination sip:10.0.0.5:5090 --require-port",
    ],
  },
  {
    name: "tenant list",
    positionals: [],
    options: ["json"],
    summary: "list tenants, ordered by domain",
    details: ["Table columns: DOMAIN, SETID, SUBDOMAINS, DESTINATIONS (comma-separated URIs)."],
    examples: ["edgectl tenant list", "edgectl tenant list --json"],
  },
  {
    name: "tenant show",
    positionals: ["<domain>"],
    options: ["json"],
    summary: "show one tenant and its destinations",
    details: ["Exits 3 when the domain is not a tenant."],
    examples: ["edgectl tenant show tenant-a.example"],
  },
  {
    name: "tenant rm",
    positionals: ["<domain>"],
    options: ["json"],
    summary: "remove a tenant, its dispatcher set and its bindings",
    details: ["Exits 3 when the domain is not a tenant."],
    examples: ["edgectl tenant rm tenant-a.example"],
  },
  {
    name: "tenant require-port",
    positionals: ["<domain>", "<destination-id>", "<on|off>"],
    options: ["json"],
    summary: "match one destination by IP and port (on) or by IP alone (off)",
    details: [
      "The destination id is the ID column of 'tenant show'. Exits 3 when the tenant has no such destination,",
      "4 when 'off' would make another tenant's requests from that IP ambiguous.",
    ],
    examples: ["edgectl tenant require-port tenant-a.example 1 on"],
  },
  {
    name: "location list",
    positionals: [],
    options: ["domain", "aor", "limit", "json"],
    summary: "list registration bindings, expired-but-not-yet-swept ones included",
    details: [
      "Table columns: USERNAME, DOMAIN, CONTACT, RECEIVED, EXPIRES (Unix seconds),",
      "REMAINING ('in 3m12s' or 'expired'), USER_AGENT, CALLID, CSEQ.",
      "--json prints the array of bindings with snake_case keys (username, domain, contact, received,",
      "expires, user_agent, callid, cseq, then the other location columns).",
    ],
    examples: ["edgectl location list --domain tenant-a.example", "edgectl location list --aor 201@tenant-a.example --json"],
  },
  {
    name: "location rm",
    positionals: ["<user@domain>"],
    options: ["json"],
    summary: "remove every binding of an address-of-record",
    details: ["Exits 3 when the address-of-record has no binding."],
    examples: ["edgectl location rm 201@tenant-a.example"],
  },
  {
    name: "destination list",
    positionals: [],
    options: ["domain", "json"],
    summary: "list dispatcher destinations with their state",
    details: [
      "Table columns: URI, STATE (active | inactive | disabled), PROBING (on | off), DOMAINS, WEIGHT,",
      "PRIORITY, ID. 'inactive' is a destination that failed the gateways' OPTIONS probes; 'disabled'",
      "is an operator's maintenance. --json prints the array (fields uri, state, probing, domains ...).",
      "Exits 3 when --domain is not a tenant.",
    ],
    examples: ["edgectl destination list", "edgectl destination list --domain tenant-a.example --json"],
  },
  {
    name: "destination disable",
    positionals: ["<sip-uri>"],
    options: ["domain", "json"],
    summary: "put a destination into maintenance: no request goes to it, probes leave it alone",
    details: [
      "Every tenant's row with that address, or only the tenant's with --domain.",
      "Calls from the box still reach its tenant's phones. Exits 3 when no destination has that address.",
    ],
    examples: ["edgectl destination disable sip:127.0.0.11:5080"],
  },
  {
    name: "destination enable",
    positionals: ["<sip-uri>"],
    options: ["domain", "json"],
    summary: "put a destination back in service (also clears a probe's inactive mark)",
    details: ["A box still failing its probes is marked inactive again within a probe round. Exits 3 as for disable."],
    examples: ["edgectl destination enable sip:127.0.0.11:5080"],
  },
  {
    name: "destination probe",
    positionals: ["<sip-uri>", "<on|off>"],
    options: ["domain", "json"],
    summary: "turn the gateways' OPTIONS probing of a destination on or off",
    details: ["A destination that is not probed keeps its state (active unless an operator disabled it)."],
    examples: ["edgectl destination probe sip:127.0.0.11:5080 on"],
  },
  {
    name: "health",
    positionals: [],
    options: ["json"],
    summary: "check that the admin API and its store answer",
    details: ["Exits 0 when healthy, 1 when the API answers that its store is degraded."],
    examples: ["edgectl health"],
  },
  {
    name: "rollback-check",
    positionals: [],
    options: ["metrics", "window", "baseline", "save-baseline", "max-registration-failures", "max-routing-failures", "max-latency-increase", "json"],
    required: ["metrics"],
    summary: "check the cut-over's rollback triggers on the gateway's /metrics",
    details: [
      "Reads /metrics twice, --window seconds apart, and prints per tenant and overall ('all', every",
      "tenant label including 'none'): the registration failure % = failed / (2xx + failed), challenges",
      "and policy refusals excluded; the routing failure % = (404 + 408/480 + 5xx) / (delivered + those);",
      "the added-latency p99 from the histogram buckets, against --baseline. A trigger fires when a figure",
      "is above its threshold; a window without traffic fires nothing. --url and --token are not used.",
      "Exits 0 when no trigger fired, 7 when one did, 5 when /metrics cannot be reached, 2 for a bad",
      "option or baseline file, 1 when /metrics answers an HTTP error.",
    ],
    examples: [
      "edgectl rollback-check --metrics http://127.0.0.1:9060/metrics --window 300 --save-baseline before.json",
      "edgectl rollback-check --metrics http://127.0.0.1:9060/metrics --window 300 --baseline before.json --json",
    ],
  },
];

/** Command groups: the first word of a two-word command. */
export const GROUPS: Readonly<Record<string, string>> = {
  tenant: "tenant domains and their dispatcher destinations",
  location: "registration bindings (the location table)",
  destination: "dispatcher destinations: state, maintenance, probing",
};
