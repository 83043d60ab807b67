// Test helpers for the SIP grammar: fixtures from files, messages from lines, result narrowing.
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import type { ParseResult, PartialRequest, SipMessage, SipParseError, SipRequest, SipResponse } from "../../../sip/index";

const encoder = new TextEncoder();

/** A fixture's bytes; line ends are normalised to CRLF so the files may be edited with any editor. */
export function fixture(name: string): Uint8Array {
  const text = readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
  return encoder.encode(text.replace(/\r?\n/g, "\r\n"));
}

/** The bytes of `text`, as is. */
export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A datagram from a start line, header lines and a body, CRLF-separated. */
export function datagram(startLine: string, headers: readonly string[], body = ""): Uint8Array {
  return bytes(`${[startLine, ...headers].join("\r\n")}\r\n\r\n${body}`);
}

/** The mandatory headers of a valid request with `method`, each overridable or removable by name. */
export function requestHeaders(method: string, overrides: Readonly<Record<string, string | null>> = {}): string[] {
  const base: Record<string, string> = {
    Via: "SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK74bf9;rport",
    "Max-Forwards": "70",
    From: "<sip:201@tenant-a.example>;tag=9fxced76sl",
    To: "<sip:301@tenant-a.example>",
    "Call-ID": "3848276298220188511@192.0.2.10",
    CSeq: `1 ${method}`,
  };
  const out: string[] = [];
  for (const [name, value] of Object.entries(base)) {
    const o = overrides[name];
    if (o === null) continue;
    out.push(`${name}: ${o ?? value}`);
  }
  for (const [name, value] of Object.entries(overrides)) if (!(name in base) && value !== null) out.push(`${name}: ${value}`);
  return out;
}

/** The message of a successful parse; fails the test otherwise. */
export function expectMessage(result: ParseResult): SipMessage {
  if (!result.ok) {
    const detail = result.keepalive ? "keepalive" : `${result.error.status} ${result.error.reason}`;
    expect.fail(`expected a message, got ${detail}`);
  }
  return result.message;
}

/** The request of a successful parse. */
export function expectRequest(result: ParseResult): SipRequest {
  const message = expectMessage(result);
  if (message.kind !== "request") expect.fail("expected a request");
  return message;
}

/** The response of a successful parse. */
export function expectResponse(result: ParseResult): SipResponse {
  const message = expectMessage(result);
  if (message.kind !== "response") expect.fail("expected a response");
  return message;
}

/** The error (and partial request) of a failed parse; fails the test on success or keep-alive. */
export function expectError(result: ParseResult): { error: SipParseError; partial: PartialRequest | undefined } {
  if (result.ok) expect.fail("expected a parse error, got a message");
  if (result.keepalive) expect.fail("expected a parse error, got a keepalive");
  return { error: result.error, partial: result.partial };
}
