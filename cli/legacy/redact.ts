/**
 * Keeping MySQL passwords out of every line edgectl prints: URLs are shown with the password replaced by
 * `***`, and every output stream of a legacy command goes through {@link scrubber}, which replaces any
 * password given on the command line, decoded or percent-encoded, wherever it appears (a driver message
 * that quotes the URL, say).
 */

const MASK = "***";

/** The URL with its password (if any) replaced by `***`; text that is not a URL is returned masked whole. */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text.includes("@") ? MASK : text;
  }
  if (url.password !== "") url.password = MASK;
  return url.toString().replace(`:${encodeURIComponent(MASK)}@`, `:${MASK}@`);
}

/** The passwords of the `--mysql` URLs in `argv` (`--mysql <url>` and `--mysql=<url>`). */
export function secretsInArgv(argv: readonly string[]): string[] {
  const secrets: string[] = [];
  argv.forEach((arg, i) => {
    const value = arg === "--mysql" ? argv[i + 1] : arg.startsWith("--mysql=") ? arg.slice("--mysql=".length) : undefined;
    if (value === undefined) return;
    try {
      const password = new URL(value).password;
      if (password === "") return;
      secrets.push(password);
      try {
        secrets.push(decodeURIComponent(password));
      } catch {
        // not valid percent-encoding: the raw text is the secret
      }
    } catch {
      // not a URL: the argument parser reports it (redacted)
    }
  });
  return [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
}

/** Replaces every secret in `text` with `***`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join(MASK);
  return out;
}

/** A writer that scrubs `secrets` out of everything written through it. */
export function scrubber(
  target: { write(text: string): unknown },
  secrets: readonly string[],
): { write(text: string): unknown } {
  return { write: (text: string) => target.write(scrub(text, secrets)) };
}
