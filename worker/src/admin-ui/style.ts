/**
 * The admin page's only style sheet, served from /admin/ui/style.css (the Content-Security-Policy allows no
 * inline style). Colour pairs and their WCAG contrast ratios are listed in docs/admin-ui.md; change both
 * together (test/worker/admin-ui.test.ts recomputes them from COLOURS).
 */

/** Every foreground/background pair the sheet uses, by role. */
export const COLOURS = {
  text: { fg: "#1a1a1a", bg: "#ffffff" },
  muted: { fg: "#4a4a4a", bg: "#ffffff" },
  link: { fg: "#0a4fb8", bg: "#ffffff" },
  header: { fg: "#ffffff", bg: "#1f3a5f" },
  tableHead: { fg: "#1a1a1a", bg: "#e8edf3" },
  button: { fg: "#ffffff", bg: "#0a4fb8" },
  danger: { fg: "#ffffff", bg: "#a4161a" },
  active: { fg: "#0f5132", bg: "#d1e7dd" },
  inactive: { fg: "#842029", bg: "#f8d7da" },
  probing: { fg: "#664d03", bg: "#fff3cd" },
  notice: { fg: "#0f5132", bg: "#d1e7dd" },
  error: { fg: "#842029", bg: "#f8d7da" },
  /** Borders of inputs and selects against the page (WCAG 1.4.11: 3:1 for non-text). */
  inputBorder: { fg: "#6b6b6b", bg: "#ffffff" },
  /** The focus ring against the page (WCAG 2.4.11/1.4.11: 3:1 for non-text). */
  focus: { fg: "#c2410c", bg: "#ffffff" },
  /** The focus ring against the header's background. */
  focusOnHeader: { fg: "#ffd166", bg: "#1f3a5f" },
} as const;

const C = COLOURS;

export const STYLE_SHEET = `
*, *::before, *::after { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; font-size: 100%; line-height: 1.45; }
body { margin: 0; color: ${C.text.fg}; background: ${C.text.bg}; }
a { color: ${C.link.fg}; }
:focus { outline: none; }
:focus-visible { outline: 3px solid ${C.focus.fg}; outline-offset: 2px; }
.sr-only { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.skip { position: absolute; left: -10000px; top: 0; }
.skip:focus { position: static; display: inline-block; padding: .5rem 1rem; }
header.top { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 1rem;
  padding: .75rem 1.5rem; color: ${C.header.fg}; background: ${C.header.bg}; }
header.top h1 { font-size: 1.25rem; margin: 0; }
header.top a { color: ${C.header.fg}; }
header.top :focus-visible { outline-color: ${C.focusOnHeader.fg}; }
main { padding: 1rem 1.5rem 3rem; max-width: 90rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; }
h3 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
p.muted, .muted { color: ${C.muted.fg}; }
table { border-collapse: collapse; margin: .5rem 0 1rem; min-width: 40rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { border: 1px solid #8a8a8a; padding: .35rem .6rem; text-align: left; vertical-align: top; }
thead th { background: ${C.tableHead.bg}; color: ${C.tableHead.fg}; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .95em; word-break: break-all; }
.state { display: inline-block; padding: 0 .4rem; border-radius: .25rem; font-weight: 600; }
.state-active { color: ${C.active.fg}; background: ${C.active.bg}; }
.state-inactive { color: ${C.inactive.fg}; background: ${C.inactive.bg}; }
.state-probing, .state-unknown { color: ${C.probing.fg}; background: ${C.probing.bg}; }
.notice, .error { padding: .5rem .75rem; border-radius: .25rem; margin: 1rem 0; max-width: 50rem; }
.notice { color: ${C.notice.fg}; background: ${C.notice.bg}; }
.error { color: ${C.error.fg}; background: ${C.error.bg}; }
form.inline { display: inline; }
form.search { display: flex; flex-wrap: wrap; align-items: flex-end; gap: .75rem; margin: .5rem 0 1rem; }
label { display: block; font-weight: 600; margin-bottom: .2rem; }
input, select { font: inherit; padding: .35rem .5rem; border: 1px solid ${C.inputBorder.fg}; border-radius: .2rem; color: ${C.text.fg}; background: ${C.text.bg}; }
button { font: inherit; padding: .4rem .9rem; border: 1px solid transparent; border-radius: .25rem; cursor: pointer;
  color: ${C.button.fg}; background: ${C.button.bg}; }
button.danger { color: ${C.danger.fg}; background: ${C.danger.bg}; }
button.plain { color: ${C.header.fg}; background: transparent; border-color: ${C.header.fg}; }
dl.figures { display: grid; grid-template-columns: max-content auto; gap: .3rem 1.25rem; margin: .5rem 0; }
dl.figures dt { font-weight: 600; }
dl.figures dd { margin: 0; }
dl.binding { display: grid; grid-template-columns: max-content auto; gap: .3rem 1.25rem; }
dl.binding dt { font-weight: 600; }
dl.binding dd { margin: 0; }
.actions { display: flex; gap: 1rem; align-items: center; margin-top: 1rem; }
.login { max-width: 28rem; }
.login input { width: 100%; }
.login p { margin: 1rem 0; }
`;

/** A small icon, so that browsers ask for it instead of a missing /favicon.ico. */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="${C.header.bg}"/><path d="M4 4h8v2H6v1.5h5v2H6V11h6v2H4z" fill="#ffffff"/></svg>`;
