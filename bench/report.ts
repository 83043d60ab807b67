/** Plain-text and Markdown tables for the benchmark's results. */

export interface Table {
  readonly title: string;
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Lines printed under the table. */
  readonly notes?: readonly string[];
}

/** Right-aligns every column except the first. */
export function renderText(t: Table): string {
  const widths = t.headers.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  const out = [t.title, line(t.headers), ...t.rows.map(line)];
  for (const n of t.notes ?? []) out.push(n);
  return out.join("\n");
}

export function renderMarkdown(t: Table): string {
  const esc = (s: string): string => s.replace(/\|/g, "\\|");
  const out = [
    `**${t.title}**`,
    "",
    `| ${t.headers.map(esc).join(" | ")} |`,
    `| ${t.headers.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`,
    ...t.rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ];
  if (t.notes?.length) out.push("", ...t.notes);
  return out.join("\n");
}

/** A number with `digits` decimals, or "-" when unknown. */
export function fmt(n: number | undefined, digits = 0): string {
  return n === undefined || !Number.isFinite(n) ? "-" : n.toFixed(digits);
}

/** Milliseconds: three decimals under 10 ms, one under 1000, none above. */
export function fmtMs(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return "-";
  return n < 10 ? n.toFixed(3) : n < 1000 ? n.toFixed(1) : n.toFixed(0);
}

/** a / b with two decimals ("-" when either is unknown or b is 0). */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "-";
  const r = a / b;
  return r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2);
}
