/**
 * The CSV form of `endpoint_locations`: a header line `aor,contact_ip,contact_port,contact_uri,expires`,
 * then one row per line, `expires` as `YYYY-MM-DD HH:MM:SS` UTC. Fields are RFC 4180: a field holding a
 * comma, a quote or a line break is quoted, quotes doubled.
 */
import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { LEGACY_COLUMNS, type LegacyRow } from "./rows";
import { LegacySourceError } from "./source-error";

/** One data line of the file: the row, or why it is not one (wrong field count, bad quoting). */
export type CsvLine =
  | { readonly line: number; readonly row: LegacyRow }
  | { readonly line: number; readonly problem: string };

/** Splits CSV text into records of fields (RFC 4180); `problem` is set for a record with broken quoting. */
function records(text: string): { line: number; fields: string[]; problem?: string }[] {
  const out: { line: number; fields: string[]; problem?: string }[] = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let wasQuoted = false;
  let line = 1;
  let start = 1;
  let problem: string | undefined;
  const endField = () => {
    fields.push(field);
    field = "";
    wasQuoted = false;
  };
  const endRecord = () => {
    endField();
    if (!(fields.length === 1 && fields[0] === "" && problem === undefined)) {
      out.push({ line: start, fields, ...(problem ? { problem } : {}) });
    }
    fields = [];
    problem = undefined;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === "\n") line++;
        field += c;
      }
      continue;
    }
    if (c === '"') {
      if (field.length > 0 || wasQuoted) problem ??= "a quote inside an unquoted field";
      quoted = true;
      wasQuoted = true;
    } else if (c === ",") endField();
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRecord();
      line++;
      start = line;
    } else {
      if (wasQuoted) problem ??= "text after a closing quote";
      field += c;
    }
  }
  if (quoted) problem ??= "a quoted field is not closed";
  endRecord();
  return out;
}

/**
 * Parses the legacy CSV: throws {@link LegacySourceError} when the header is not the legacy one; a data line
 * that is not a row (wrong number of fields, bad quoting) comes back with its problem, for the report.
 */
export function parseLegacyCsv(text: string, name: string): CsvLine[] {
  const all = records(text.startsWith("\uFEFF") ? text.slice(1) : text);
  const header = all[0];
  const expected = LEGACY_COLUMNS.join(",");
  if (!header || header.fields.map((f) => f.trim().toLowerCase()).join(",") !== expected) {
    throw new LegacySourceError(`${name}: the first line must be the header '${expected}'`);
  }
  return all.slice(1).map(({ line, fields, problem }): CsvLine => {
    if (problem) return { line, problem };
    if (fields.length !== LEGACY_COLUMNS.length) {
      return { line, problem: `${fields.length} fields, expected ${LEGACY_COLUMNS.length}` };
    }
    const [aor, contact_ip, contact_port, contact_uri, expires] = fields.map((f) => f.trim()) as [string, string, string, string, string];
    return { line, row: { aor, contact_ip, contact_port, contact_uri, expires } };
  });
}

/** Reads and parses a legacy CSV file. */
export async function readLegacyCsv(file: string): Promise<CsvLine[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LegacySourceError(`cannot read ${file}: ${code === "ENOENT" ? "no such file" : (code ?? String(err))}`);
  }
  return parseLegacyCsv(text, file);
}

function quote(field: string): string {
  return /[",\r\n]/.test(field) || field !== field.trim() ? `"${field.replace(/"/g, '""')}"` : field;
}

/** The CSV text of `rows`, header first, lines ending in LF. */
export function formatLegacyCsv(rows: readonly LegacyRow[]): string {
  const lines = [LEGACY_COLUMNS.join(","), ...rows.map((r) => LEGACY_COLUMNS.map((c) => quote(r[c])).join(","))];
  return `${lines.join("\n")}\n`;
}

/** Writes the CSV file whole or not at all: to a temporary file beside it, then renamed over it. */
export async function writeLegacyCsv(file: string, rows: readonly LegacyRow[]): Promise<void> {
  const temp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(temp, formatLegacyCsv(rows), { encoding: "utf8", flag: "wx" });
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    throw new LegacySourceError(`cannot write ${file}: ${code ?? String(err)}`);
  }
}
