// In-process harness for edgectl: captured stdout/stderr, a chosen environment, and a fetch that records
// every request and answers with Responses the test builds. It checks the CLI's side of the API
// (requests sent, answers mapped); it does not stand in for the worker in end-to-end tests.
import { main } from "../../cli/edgectl";
import type { Binding, Tenant } from "../../cli/admin-client";

export interface RecordedRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
  readonly signal: AbortSignal | null;
}

export type Answer = Response | Error | ((request: RecordedRequest) => Response | Promise<Response>);

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly requests: readonly RecordedRequest[];
}

/** A JSON answer with the given status. */
export function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** Runs edgectl in-process; `answer` (default: fail the test if any request is made) serves every request. */
export async function runCli(
  argv: readonly string[],
  options: { answer?: Answer; env?: Record<string, string | undefined> } = {},
): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  const requests: RecordedRequest[] = [];
  const code = await main(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: options.env ?? {},
    fetch: async (url, init) => {
      const request: RecordedRequest = {
        url,
        method: init.method ?? "GET",
        headers: { ...(init.headers as Record<string, string>) },
        body: typeof init.body === "string" ? JSON.parse(init.body) : undefined,
        signal: init.signal ?? null,
      };
      requests.push(request);
      const answer = options.answer;
      if (answer === undefined) throw new Error(`unexpected request ${request.method} ${url}`);
      if (answer instanceof Error) throw answer;
      return answer instanceof Response ? answer : answer(request);
    },
  });
  return { code, stdout, stderr, requests };
}

/** A tenant as docs/admin-api.md shows it. */
export const TENANT_A: Tenant = {
  domain: "tenant-a.example",
  setid: 1,
  attrs: "",
  acceptSubdomain: false,
  destinations: [
    { id: 1, uri: "sip:127.0.0.11:5080", state: 0, weight: 1, priority: 0, socket: null, attrs: "", description: "" },
    { id: 2, uri: "sip:10.0.0.2:5060", state: 0, weight: 2, priority: 1, socket: null, attrs: "", description: "backup" },
  ],
};

/** A binding as docs/admin-api.md shows it. */
export const BINDING_201: Binding = {
  id: 17,
  username: "201",
  domain: "tenant-a.example",
  contact: "sip:201@192.0.2.10:5070",
  received: "sip:198.51.100.7:40312",
  path: null,
  expires: 1795000000,
  q: 1.0,
  callid: "abc@phone",
  cseq: 2,
  lastModified: 1794999700,
  userAgent: "Yealink T46",
  socket: "udp:127.0.0.1:5060",
  methods: "INVITE,ACK,BYE,CANCEL,OPTIONS",
  sipInstance: null,
  flags: 0,
  cflags: "",
  attr: null,
};
