// ProxyCore driven in process: fake listeners that record what is sent (parsed back from the bytes), a
// scripted WorkerClient (a test double of the HTTP hop only), a ManualClock, and the peers' addresses.
import { parseRequestDecision, parseResponseDecision } from "../../../contract/v1";
import type {
  RequestDecision,
  RequestDecisionInput,
  RequestEventInput,
  ResponseDecision,
  ResponseDecisionInput,
  ResponseEventInput,
} from "../../../contract/v1";
import type { Logger } from "../../../edge-gateway/src/observability/logger";
import { Metrics } from "../../../edge-gateway/src/observability/metrics";
import { DialogProof } from "../../../edge-gateway/src/proxy/dialog-proof";
import { ProxyCore, type ProxyCoreOptions } from "../../../edge-gateway/src/proxy/proxy-core";
import { textBody } from "../../../sip/message";
import type { SipMessage, SipRequest, SipResponse } from "../../../sip/message";
import { serializeMessage } from "../../../sip/serializer";
import { ManualClock } from "../../../edge-gateway/src/transaction/clock";
import type { Listener, TransportAddress } from "../../../edge-gateway/src/transport/transport";
import type { WorkerAnswer, WorkerClient } from "../../../edge-gateway/src/worker-client/worker-client";
import { parseMessage } from "../../../sip/parser";
import { addr } from "./support";

/** The gateway's phone-side and PBX-side addresses; a one-address gateway uses PHONES_SIDE for both. */
export const PHONES_SIDE = addr("192.0.2.1", 5060);
export const PBX_SIDE = addr("198.51.100.1", 5060);
/** Phone A: contact 10.0.0.5:5060 behind a NAT that maps it to 203.0.113.50:40000. */
export const PHONE_A = addr("203.0.113.50", 40000);
/** Phone B: contact 10.0.0.6:5060 behind a NAT that maps it to 203.0.113.60:41000. */
export const PHONE_B = addr("203.0.113.60", 41000);
export const ASTERISK = addr("198.51.100.10", 5060);

/** One datagram the gateway sent. */
export interface Sent {
  readonly from: string;
  readonly to: TransportAddress;
  readonly message: SipMessage;
}

/** A Listener that parses what it is given to send; it can be told to fail for a destination. */
export class FakeListener implements Listener {
  readonly advertised: { readonly host: string; readonly port: number };
  readonly failFor = new Set<string>();

  constructor(
    readonly name: string,
    readonly local: TransportAddress,
    private readonly wire: Sent[],
    advertisedHost?: string,
  ) {
    this.advertised = { host: advertisedHost ?? local.ip, port: local.port };
  }

  send(bytes: Uint8Array, to: TransportAddress): void {
    if (this.failFor.has(`${to.ip}:${to.port}`)) throw new Error("EHOSTUNREACH");
    this.wire.push({ from: this.name, to: { ip: to.ip, port: to.port, transport: "udp" }, message: readBack(bytes) });
  }
}

/**
 * What a peer sees. A reply to a request our own parser refused (no Call-ID, say) does not parse either,
 * so such bytes are read line by line instead.
 */
function readBack(bytes: Uint8Array): SipMessage {
  const r = parseMessage(bytes);
  if (r.ok) return r.message;
  const [head = "", body = ""] = new TextDecoder().decode(bytes).split("\r\n\r\n");
  const [start = "", ...lines] = head.split("\r\n");
  const headers = lines.map((l) => ({ name: l.slice(0, l.indexOf(":")), value: l.slice(l.indexOf(":") + 1).trim() }));
  const status = /^SIP\/2\.0 (\d{3}) (.*)$/.exec(start);
  if (status) return { kind: "response", status: Number(status[1]), reason: status[2] ?? "", headers, body: textBody(body) };
  const [method = "", uri = ""] = start.split(" ");
  return { kind: "request", method, uri, headers, body: textBody(body) };
}

type Answer<T> = WorkerAnswer<T> | Promise<WorkerAnswer<T>>;

/** A WorkerClient answering from scripts; it records every event. */
export class ScriptedWorker implements WorkerClient {
  readonly requests: RequestEventInput[] = [];
  readonly responses: ResponseEventInput[] = [];
  onRequest: (ev: RequestEventInput) => Answer<RequestDecision> = () => ({ ok: false, reason: "unavailable", detail: "no script" });
  onResponse: (ev: ResponseEventInput) => Answer<ResponseDecision> = () => forward();

  request(ev: RequestEventInput): Promise<WorkerAnswer<RequestDecision>> {
    this.requests.push(ev);
    return Promise.resolve(this.onRequest(ev));
  }

  response(ev: ResponseEventInput): Promise<WorkerAnswer<ResponseDecision>> {
    this.responses.push(ev);
    return Promise.resolve(this.onResponse(ev));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A request decision, defaults filled in by the contract's own validation. */
export function decide(input: RequestDecisionInput): WorkerAnswer<RequestDecision> {
  return { ok: true, decision: parseRequestDecision(input) };
}

/** A response decision, defaults filled in by the contract's own validation. */
export function forward(input: ResponseDecisionInput = { action: "forward" }): WorkerAnswer<ResponseDecision> {
  return { ok: true, decision: parseResponseDecision(input) };
}

/** A promise the test settles later. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets pending promise continuations (the worker's answers) run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly fields: Record<string, unknown> | undefined;
}

export interface Harness {
  readonly core: ProxyCore;
  readonly clock: ManualClock;
  readonly phones: FakeListener;
  readonly pbx: FakeListener;
  readonly worker: ScriptedWorker;
  readonly metrics: Metrics;
  readonly logs: LogLine[];
  /** Everything sent so far, and forgets it. */
  take(): Sent[];
  /** A datagram from `source` arriving on the phones' socket. */
  fromPhone(msg: SipMessage | Uint8Array, source?: TransportAddress): void;
  /** A datagram from `source` arriving on the PBX socket. */
  fromPbx(msg: SipMessage | Uint8Array, source?: TransportAddress): void;
  /** Value of a gauge as the metrics endpoint would render it. */
  gauge(name: string): number;
}

/** The gateway secret of the harness (dialog proofs are keyed by it). */
export const SECRET = "harness-secret-0123456789";

export interface SetupOptions {
  twoListeners?: boolean;
  retryAfterS?: number;
  limits?: ProxyCoreOptions["limits"];
  screen?: ProxyCoreOptions["screen"];
  random?: () => number;
  /** The gateway's secret (default SECRET) and, for a rotation window, the previous one. */
  secret?: string;
  previousSecret?: string;
}

export function setup(options: SetupOptions = {}): Harness {
  const wire: Sent[] = [];
  const clock = new ManualClock();
  const phones = new FakeListener("phones", PHONES_SIDE, wire);
  const pbx = options.twoListeners ? new FakeListener("pbx", PBX_SIDE, wire) : phones;
  const worker = new ScriptedWorker();
  const metrics = new Metrics();
  const logs: LogLine[] = [];
  const at =
    (level: string) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      logs.push({ level, msg, fields });
    };
  const log: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  const core = new ProxyCore({
    phones,
    pbx,
    worker,
    log,
    metrics,
    clock,
    secret: options.secret ?? SECRET,
    ...(options.previousSecret !== undefined ? { previousSecret: options.previousSecret } : {}),
    retryAfterS: options.retryAfterS ?? 7,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.screen ? { screen: options.screen } : {}),
    ...(options.random ? { random: options.random } : {}),
  });
  const bytes = (msg: SipMessage | Uint8Array): Uint8Array => (msg instanceof Uint8Array ? msg : serializeMessage(msg));
  return {
    core,
    clock,
    phones,
    pbx,
    worker,
    metrics,
    logs,
    take: () => wire.splice(0, wire.length),
    fromPhone: (msg, source = PHONE_A) => core.onDatagram(bytes(msg), source, phones),
    fromPbx: (msg, source = ASTERISK) => core.onDatagram(bytes(msg), source, pbx),
    gauge: (name) => metrics.value(name),
  };
}

/** The only datagram in `sent`, which must be a request. */
export function onlyRequest(sent: readonly Sent[]): { to: TransportAddress; from: string; request: SipRequest } {
  if (sent.length !== 1) throw new Error(`expected one datagram, got ${sent.length}: ${sent.map(label).join(", ")}`);
  const [s] = sent;
  if (!s || s.message.kind !== "request") throw new Error("expected a request");
  return { to: s.to, from: s.from, request: s.message };
}

/** The only datagram in `sent`, which must be a response. */
export function onlyResponse(sent: readonly Sent[]): { to: TransportAddress; from: string; response: SipResponse } {
  if (sent.length !== 1) throw new Error(`expected one datagram, got ${sent.length}: ${sent.map(label).join(", ")}`);
  const [s] = sent;
  if (!s || s.message.kind !== "response") throw new Error("expected a response");
  return { to: s.to, from: s.from, response: s.message };
}

/** `INVITE -> 203.0.113.50:40000`, `180 -> 198.51.100.10:5060`: what was sent where, for compact assertions. */
export function label(s: Sent): string {
  const what = s.message.kind === "request" ? s.message.method : String(s.message.status);
  return `${what} -> ${s.to.ip}:${s.to.port}`;
}

/** The requests among `sent` with this method. */
export function requestsOf(sent: readonly Sent[], method: string): { to: TransportAddress; request: SipRequest }[] {
  const out: { to: TransportAddress; request: SipRequest }[] = [];
  for (const s of sent) if (s.message.kind === "request" && s.message.method === method) out.push({ to: s.to, request: s.message });
  return out;
}

const PROOF = new DialogProof(SECRET);

/** The Record-Route / Route value the gateway writes at `host:port` for a dialog (Call-ID, initial From tag). */
export function ownRoute(host: string, callId: string, fromTag: string, port = 5060): string {
  return `<sip:${host}:${port};lr;dp=${PROOF.dialogMac(callId, fromTag)}>`;
}

/** `;alias=...;amac=...` as the gateway writes it on a Contact in a message of `callId`. */
export function aliasParams(callId: string, alias: string): string {
  return `;alias=${alias};amac=${PROOF.aliasMac(callId, alias)}`;
}

/** `sent` after the 100 (Trying) that must lead it: a relayed INVITE sends its held 100 first (17.2.1). */
export function afterTrying(sent: readonly Sent[]): Sent[] {
  const [first, ...rest] = sent;
  if (first?.message.kind !== "response" || first.message.status !== 100) {
    throw new Error(`expected a 100 first, got ${first ? label(first) : "nothing"}`);
  }
  return rest;
}
