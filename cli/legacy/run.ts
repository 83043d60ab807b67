/**
 * Runs `edgectl legacy import | export | compare | mirror` (docs/migration.md): reads the legacy rows from
 * MySQL or CSV, our bindings from the admin API, and prints a report. Everything it writes goes through a
 * scrubber that removes the MySQL password, whatever the message.
 */
import type { FetchLike } from "../admin-client";
import { resolveConfig } from "../config";
import { formatJson, renderFields, sanitize } from "../format";
import {
  describeSource,
  isLegacyCommandLine,
  parseLegacyCommandLine,
  type LegacyInvocation,
  type LegacySource,
} from "./commands";
import { readLegacyCsv, writeLegacyCsv, type CsvLine } from "./csv";
import { createLegacyClient, IMPORT_BATCH, type LegacyClient } from "./legacy-client";
import { openLegacyTable, type LegacyTable } from "./mysql";
import { scrubber, secretsInArgv } from "./redact";
import {
  checkLegacyRow,
  compareLive,
  diffLegacy,
  formatDatetime,
  legacyAorKey,
  legacyRowsOf,
  parseDatetime,
  type Comparison,
  type ImportRow,
  type LegacyChanges,
  type LegacyRow,
  type LiveBinding,
  type SeveralBindings,
} from "./rows";
import { LegacySourceError } from "./source-error";

/** Exit codes of the legacy commands beyond edgectl's table (cli/exit-codes.ts). */
export const LegacyExitCode = {
  /** compare found an AoR that is not the same on both sides; import refused rows (it imported the others). */
  Differences: 7,
  /** The legacy source failed: MySQL unreachable or refusing the login, table missing or of another shape, CSV unusable. */
  LegacySource: 8,
} as const;

/** The environment variable that gives the MySQL password when the `--mysql` URL has none. */
export const MYSQL_PASSWORD_ENV = "EDGE_LEGACY_MYSQL_PASSWORD";

/** Most row changes one mirror pass writes; the rest waits for the next pass. */
export const MIRROR_MAX_CHANGES = 5000;

type Writer = { write(text: string): unknown };

export interface LegacyIo {
  readonly stdout: Writer;
  readonly stderr: Writer;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch: FetchLike;
  /** Stops `mirror` after its current pass; without it, SIGINT and SIGTERM do. */
  readonly stop?: AbortSignal;
  /** Unix seconds; defaults to the clock. */
  readonly now?: () => number;
}

interface Ctx {
  readonly io: LegacyIo;
  readonly client: LegacyClient;
  readonly now: () => number;
  print(text: string): void;
  note(text: string): void;
}

/** One legacy row and where it came from (`line 4` of a CSV, or its AoR in MySQL). */
interface SourcedRow {
  readonly where: string;
  readonly row?: LegacyRow;
  readonly problem?: string;
}

async function readSource(source: LegacySource): Promise<SourcedRow[]> {
  if (source.kind === "csv") {
    const lines: CsvLine[] = await readLegacyCsv(source.file);
    return lines.map((l) => ("row" in l ? { where: `line ${l.line}`, row: l.row } : { where: `line ${l.line}`, problem: l.problem }));
  }
  const table = await openLegacyTable(source.settings, { forWriting: false });
  try {
    return (await table.readAll()).map((row) => ({ where: row.aor, row }));
  } finally {
    await table.close();
  }
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

// ---------------------------------------------------------------------------------------------- import

interface Refusal {
  readonly row: string;
  readonly aor?: string;
  readonly reason: string;
}

async function runImport(ctx: Ctx, inv: Extract<LegacyInvocation, { kind: "run" }>): Promise<number> {
  const rows = await readSource(inv.source);
  const tenants = await ctx.client.tenantDomains();
  const now = ctx.now();
  const refused: Refusal[] = [];
  const counts = { read: rows.length, inserted: 0, updated: 0, unchanged: 0, kept: 0, expired: 0, refused: 0 };
  const kept: string[] = [];

  // An AoR given more than once cannot be imported: which row is right is not known (the table's primary
  // key forbids it, so this comes from a hand-made or merged CSV).
  const byAor = new Map<string, string[]>();
  for (const r of rows) {
    if (!r.row) continue;
    const key = legacyAorKey(r.row.aor);
    byAor.set(key, [...(byAor.get(key) ?? []), r.where]);
  }

  const accepted: { where: string; row: ImportRow }[] = [];
  for (const r of rows) {
    if (!r.row) {
      refused.push({ row: r.where, reason: r.problem ?? "unreadable" });
      continue;
    }
    const places = byAor.get(legacyAorKey(r.row.aor)) ?? [];
    if (places.length > 1) {
      refused.push({ row: r.where, aor: r.row.aor, reason: `AoR given ${places.length} times (${places.join(", ")})` });
      continue;
    }
    const check = checkLegacyRow(r.row, now, tenants);
    if (check.kind === "expired") counts.expired++;
    else if (check.kind === "refused") refused.push({ row: r.where, aor: r.row.aor, reason: check.reason });
    else accepted.push({ where: r.where, row: check.row });
  }

  for (let i = 0; i < accepted.length; i += IMPORT_BATCH) {
    const batch = accepted.slice(i, i + IMPORT_BATCH);
    let results;
    try {
      results = await ctx.client.importBatch(
        batch.map((b) => b.row),
        inv.dryRun,
      );
    } catch (err) {
      // Each batch is written whole or not at all, so what is done stays done and a second run completes it.
      if (!inv.dryRun && i > 0) ctx.note(`edgectl: ${i} of ${accepted.length} rows were imported before this failure; running the import again is safe`);
      throw err;
    }
    results.forEach((result, j) => {
      const item = batch[j]!;
      const aor = `${item.row.username}@${item.row.domain}`;
      if (result.outcome === "refused") {
        // The worker checks again (a tenant removed meanwhile, a row expired in flight).
        if (result.reason === "expired") counts.expired++;
        else refused.push({ row: item.where, aor, reason: result.reason });
      } else {
        counts[result.outcome]++;
        if (result.outcome === "kept") kept.push(aor);
      }
    });
  }
  counts.refused = refused.length;

  const source = describeSource(inv.source);
  if (inv.json) {
    ctx.print(formatJson({ source, dryRun: inv.dryRun, ...counts, refusedRows: refused, keptAors: kept }));
  } else {
    ctx.print(
      [
        `import from ${sanitize(source)}${inv.dryRun ? " (dry run: nothing written)" : ""}`,
        renderFields([
          ["rows read", String(counts.read)],
          [inv.dryRun ? "would insert" : "inserted", String(counts.inserted)],
          [inv.dryRun ? "would update" : "updated", String(counts.updated)],
          ["unchanged", String(counts.unchanged)],
          ["kept", `${counts.kept} (registered here since: newer than the legacy row)`],
          ["expired", `${counts.expired} (skipped)`],
          ["refused", String(counts.refused)],
        ]).trimEnd(),
        ...refused.map((r) => `refused ${sanitize(r.row)}${r.aor && r.aor !== r.row ? ` (${sanitize(r.aor)})` : ""}: ${sanitize(r.reason)}`),
        ...kept.map((aor) => `kept ${sanitize(aor)}: a live binding registered here`),
        "",
      ].join("\n"),
    );
  }
  return refused.length > 0 ? LegacyExitCode.Differences : 0;
}

// ---------------------------------------------------------------------------------------------- export

function keyed(rows: readonly LegacyRow[]): Map<string, LegacyRow> {
  return new Map(rows.map((r) => [legacyAorKey(r.aor), r]));
}

function severalLines(several: readonly SeveralBindings[]): string[] {
  return several.map(
    (s) =>
      `several bindings for ${sanitize(s.aor)}: kept ${sanitize(s.kept.contact)} (q ${s.kept.q}, expires ${formatDatetime(s.kept.expires)}); ` +
      `left out ${s.others.map((o) => sanitize(o.contact)).join(", ")}`,
  );
}

function severalJson(several: readonly SeveralBindings[]) {
  return several.map((s) => ({
    aor: s.aor,
    kept: { contact: s.kept.contact, received: s.kept.received, q: s.kept.q, expires: s.kept.expires },
    leftOut: s.others.map((o) => ({ contact: o.contact, received: o.received, q: o.q, expires: o.expires })),
  }));
}

async function runExport(ctx: Ctx, inv: Extract<LegacyInvocation, { kind: "run" }>): Promise<number> {
  const bindings = await ctx.client.liveBindings();
  const { rows, several } = legacyRowsOf(bindings);
  const source = describeSource(inv.source);
  let changes: LegacyChanges;
  if (inv.source.kind === "csv") {
    await writeLegacyCsv(inv.source.file, [...rows.values()]);
    changes = { inserts: [...rows.values()], updates: [], deletes: [], unchanged: 0 };
  } else {
    const table = await openLegacyTable(inv.source.settings, { forWriting: true });
    try {
      changes = await table.sync((current) => diffLegacy(keyed(current), rows));
    } finally {
      await table.close();
    }
  }
  const counts = {
    aors: rows.size,
    bindings: bindings.length,
    inserted: changes.inserts.length,
    updated: changes.updates.length,
    unchanged: changes.unchanged,
    deleted: changes.deletes.length,
  };
  if (inv.json) {
    ctx.print(formatJson({ target: source, ...counts, severalBindings: severalJson(several) }));
  } else {
    ctx.print(
      [
        `export to ${sanitize(source)}: ${plural(counts.aors, "AoR")} from ${plural(counts.bindings, "live binding")}`,
        renderFields(
          inv.source.kind === "csv"
            ? [["rows written", String(counts.inserted)]]
            : [
                ["inserted", String(counts.inserted)],
                ["updated", String(counts.updated)],
                ["unchanged", String(counts.unchanged)],
                ["deleted", String(counts.deleted)],
              ],
        ).trimEnd(),
        ...severalLines(several),
        "",
      ].join("\n"),
    );
  }
  return 0;
}

// --------------------------------------------------------------------------------------------- compare

function describeRow(r: LegacyRow): string {
  return `${sanitize(r.contact_uri)} via ${sanitize(r.contact_ip)}:${sanitize(r.contact_port)} until ${sanitize(r.expires)}`;
}

async function runCompare(ctx: Ctx, inv: Extract<LegacyInvocation, { kind: "run" }>): Promise<number> {
  const rows = await readSource(inv.source);
  const bindings = await ctx.client.liveBindings();
  const now = ctx.now();
  const problems: { row: string; reason: string }[] = [];
  const live = new Map<string, LegacyRow>();
  let expired = 0;
  for (const r of rows) {
    if (!r.row) {
      problems.push({ row: r.where, reason: r.problem ?? "unreadable" });
      continue;
    }
    const expires = parseDatetime(r.row.expires);
    if (expires === undefined) {
      problems.push({ row: r.where, reason: `expires '${r.row.expires}' is not YYYY-MM-DD HH:MM:SS` });
      continue;
    }
    if (expires <= now) {
      expired++;
      continue;
    }
    const key = legacyAorKey(r.row.aor);
    if (live.has(key)) problems.push({ row: r.where, reason: `AoR ${r.row.aor} given again (the first row is compared)` });
    else live.set(key, r.row);
  }
  const result: Comparison[] = compareLive(live, bindings);
  const count = (status: Comparison["status"]) => result.filter((c) => c.status === status).length;
  const summary = {
    same: count("same"),
    different: count("different"),
    onlyLegacy: count("only-legacy"),
    onlyHere: count("only-here"),
    expiredLegacyRows: expired,
    problems: problems.length,
  };
  const clean = summary.different + summary.onlyLegacy + summary.onlyHere + summary.problems === 0;
  if (inv.json) {
    ctx.print(formatJson({ source: describeSource(inv.source), ...summary, aors: result, problemRows: problems }));
  } else {
    const lines: string[] = [];
    for (const c of result) {
      lines.push(`${c.status.padEnd(11)}  ${sanitize(c.aor)}`);
      if (c.status === "different" || c.status === "only-legacy") lines.push(`  legacy: ${describeRow(c.legacy)}`);
      if (c.status === "different" || c.status === "only-here") for (const h of c.here) lines.push(`  here:   ${describeRow(h)}`);
    }
    for (const p of problems) lines.push(`problem ${sanitize(p.row)}: ${sanitize(p.reason)}`);
    lines.push(
      `summary: same ${summary.same}, different ${summary.different}, only in legacy ${summary.onlyLegacy}, ` +
        `only here ${summary.onlyHere}, expired legacy rows ${expired} (ignored), problems ${summary.problems}`,
    );
    ctx.print(`${lines.join("\n")}\n`);
  }
  return clean ? 0 : LegacyExitCode.Differences;
}

// ---------------------------------------------------------------------------------------------- mirror

/** At most `max` changes, deletes first (a delete may free the key an insert needs), then updates, inserts. */
export function capChanges(changes: LegacyChanges, max: number): { changes: LegacyChanges; pending: number } {
  const deletes = changes.deletes.slice(0, max);
  const updates = changes.updates.slice(0, max - deletes.length);
  const inserts = changes.inserts.slice(0, max - deletes.length - updates.length);
  const total = changes.deletes.length + changes.updates.length + changes.inserts.length;
  return {
    changes: { deletes, updates, inserts, unchanged: changes.unchanged },
    pending: total - deletes.length - updates.length - inserts.length,
  };
}

async function runMirror(ctx: Ctx, inv: Extract<LegacyInvocation, { kind: "run" }>): Promise<number> {
  if (inv.source.kind !== "mysql") throw new Error("mirror needs --mysql");
  const settings = inv.source.settings;
  // Opened again after a failed pass: a server restart must not leave the mirror on a dead connection.
  let table: LegacyTable | undefined = await openLegacyTable(settings, { forWriting: true });
  const stopper = new AbortController();
  const onSignal = () => stopper.abort();
  if (ctx.io.stop) ctx.io.stop.addEventListener("abort", onSignal, { once: true });
  else {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  let passes = 0;
  try {
    ctx.note(`mirroring the bindings into ${sanitize(table.display)} every ${inv.intervalS} s (Ctrl-C stops after the current pass)`);
    for (;;) {
      try {
        table ??= await openLegacyTable(settings, { forWriting: true });
        const bindings = await ctx.client.liveBindings();
        const { rows } = legacyRowsOf(bindings);
        let pending = 0;
        const done = await table.sync((current) => {
          const capped = capChanges(diffLegacy(keyed(current), rows), MIRROR_MAX_CHANGES);
          pending = capped.pending;
          return capped.changes;
        });
        passes++;
        const changed = done.inserts.length + done.updates.length + done.deletes.length;
        if (changed > 0 || pending > 0) {
          ctx.print(
            `${new Date(ctx.now() * 1000).toISOString()} pass ${passes}: inserted ${done.inserts.length}, updated ${done.updates.length}, ` +
              `deleted ${done.deletes.length}${pending > 0 ? `, ${pending} pending for the next pass` : ""}\n`,
          );
        }
      } catch (err) {
        // The first pass proves the setup; later ones may meet a passing outage and try again.
        if (passes === 0) throw err;
        passes++;
        await table?.close();
        table = undefined;
        ctx.note(`edgectl: pass ${passes} failed, trying again in ${inv.intervalS} s: ${sanitize(err instanceof Error ? err.message : String(err))}`);
      }
      if (stopper.signal.aborted) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, inv.intervalS * 1000);
        stopper.signal.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
      if (stopper.signal.aborted) break;
    }
    ctx.note(`stopped after ${passes} ${passes === 1 ? "pass" : "passes"}`);
    return 0;
  } finally {
    await table?.close();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

// ----------------------------------------------------------------------------------------------- entry

/**
 * Runs a legacy command line (`isLegacyCommandLine(argv)` true) and resolves to the exit code. Legacy source
 * failures are reported here (exit 8); usage, configuration and admin API errors are thrown for edgectl to
 * report as for every command. Output goes through the password scrubber.
 */
export async function runLegacyCommandLine(argv: readonly string[], io: LegacyIo): Promise<number> {
  const envPassword = io.env[MYSQL_PASSWORD_ENV] || undefined;
  const secrets = [...secretsInArgv(argv), ...(envPassword ? [envPassword] : [])];
  const stdout = scrubber(io.stdout, secrets);
  const stderr = scrubber(io.stderr, secrets);
  const parsed = parseLegacyCommandLine(argv);
  if (parsed.kind === "help") {
    stdout.write(parsed.text);
    return 0;
  }
  // A URL without a password takes it from the environment, which, unlike argv, other users cannot list.
  const invocation =
    parsed.source.kind === "mysql" && parsed.source.settings.password === "" && envPassword !== undefined
      ? { ...parsed, source: { kind: "mysql" as const, settings: { ...parsed.source.settings, password: envPassword } } }
      : parsed;
  const config = resolveConfig(invocation.connection, io.env);
  const ctx: Ctx = {
    io,
    client: createLegacyClient({ baseUrl: config.url, token: config.token, fetch: io.fetch }),
    now: io.now ?? (() => Math.floor(Date.now() / 1000)),
    print: (text) => stdout.write(text),
    note: (text) => stderr.write(`${text}\n`),
  };
  try {
    switch (invocation.command) {
      case "import":
        return await runImport(ctx, invocation);
      case "export":
        return await runExport(ctx, invocation);
      case "compare":
        return await runCompare(ctx, invocation);
      case "mirror":
        return await runMirror(ctx, invocation);
    }
  } catch (err) {
    if (!(err instanceof LegacySourceError)) throw err;
    stderr.write(`edgectl: ${sanitize(err.message)}\n`);
    return LegacyExitCode.LegacySource;
  }
}

export { isLegacyCommandLine, secretsInArgv };
export type { LiveBinding };
