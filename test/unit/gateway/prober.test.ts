// The dispatcher prober on a manual clock: OPTIONS on the wire, retransmissions, thresholds, response
// matching by branch, and the reporting rules that keep several gateways from flapping a state.
import { describe, expect, it } from "vitest";
import type { DestinationStateReport, ProbeTarget } from "../../../contract/destinations";
import { Metrics } from "../../../edge-gateway/src/observability/metrics";
import { createLogger } from "../../../edge-gateway/src/observability/logger";
import { DEFAULT_PROBE_SETTINGS, parseReplyCodes, replyCountsAsAlive } from "../../../edge-gateway/src/probe/probe-settings";
import { PROBE_BRANCH_PREFIX, Prober } from "../../../edge-gateway/src/probe/prober";
import { ManualClock } from "../../../edge-gateway/src/transaction/clock";
import type { Listener, TransportAddress } from "../../../edge-gateway/src/transport/transport";
import { parseMessage } from "../../../sip/parser";
import type { SipRequest } from "../../../sip/message";
import { headerValue } from "../../../sip/message";
import { topVia } from "../../../sip/via";

const settle = () => new Promise((r) => setImmediate(r));

/** A small worker: the stored states, and the guarded transitions the real one applies. */
function fakeWorker(rows: ProbeTarget[]) {
  const reports: DestinationStateReport["changes"][] = [];
  let failing = false;
  return {
    rows,
    reports,
    fail(on: boolean) {
      failing = on;
    },
    probeTargets: async () => ({ ok: true as const, decision: { targets: rows.map((r) => ({ ...r })) } }),
    reportDestinationStates: async (report: DestinationStateReport) => {
      if (failing) return { ok: false as const, reason: "unavailable" as const, detail: "down" };
      reports.push(report.changes);
      const results = report.changes.map((ch) => {
        const row = rows.find((r) => r.id === ch.id);
        if (!row) return { id: ch.id, changed: false };
        const changed = row.state !== ch.state;
        row.state = ch.state;
        return { id: ch.id, state: row.state, changed };
      });
      return { ok: true as const, decision: { results } };
    },
  };
}

function setup(rows: ProbeTarget[], overrides: Partial<typeof DEFAULT_PROBE_SETTINGS> = {}) {
  const clock = new ManualClock(0);
  const sent: { to: TransportAddress; msg: SipRequest }[] = [];
  const listener: Listener = {
    local: { ip: "127.0.0.1", port: 5060, transport: "udp" },
    advertised: { host: "192.0.2.1", port: 5060 },
    send(bytes, to) {
      const p = parseMessage(bytes);
      if (!p.ok || p.message.kind !== "request") throw new Error("prober sent something that is not a request");
      sent.push({ to, msg: p.message });
    },
  };
  const worker = fakeWorker(rows);
  const metrics = new Metrics();
  const settings = { ...DEFAULT_PROBE_SETTINGS, ...overrides, gatewayId: "gw-test" };
  const prober = new Prober({ listener, worker, settings, clock, log: createLogger("error", () => undefined), metrics, t1: 500, t2: 4000 });
  const answer = (req: SipRequest, status: number, extra = "") =>
    new TextEncoder().encode(
      `SIP/2.0 ${status} Whatever\r\nVia: ${headerValue(req, "Via")}\r\nFrom: ${headerValue(req, "From")}\r\nTo: ${headerValue(req, "To")};tag=uas\r\nCall-ID: ${headerValue(req, "Call-ID")}\r\nCSeq: ${headerValue(req, "CSeq")}\r\n${extra}Content-Length: 0\r\n\r\n`,
    );
  const deliver = (bytes: Uint8Array) => prober.intercept(bytes, { ip: "10.0.0.1", port: 5080, transport: "udp" }, listener);
  return { clock, sent, worker, metrics, prober, answer, deliver };
}

const row = (id: number, ip: string, state: "active" | "inactive" = "active"): ProbeTarget => ({ id, uri: `sip:${ip}:5080`, ip, port: 5080, state });

describe("probe settings", () => {
  it("reply codes: any, codes and classes", () => {
    expect(parseReplyCodes("any")).toBe("any");
    expect(parseReplyCodes("2xx, 404")).toEqual(["2xx", "404"]);
    expect(parseReplyCodes("1xx")).toBeUndefined();
    expect(parseReplyCodes("20")).toBeUndefined();
    expect(replyCountsAsAlive(503, "any")).toBe(true);
    expect(replyCountsAsAlive(180, "any")).toBe(false);
    expect(replyCountsAsAlive(404, ["2xx", "404"])).toBe(true);
    expect(replyCountsAsAlive(503, ["2xx", "404"])).toBe(false);
  });
});

describe("prober", () => {
  it("sends an RFC 3261 OPTIONS per address with its own branch, Call-ID, tag and Max-Forwards 70", async () => {
    const { prober, sent } = setup([row(1, "10.0.0.1"), { ...row(2, "10.0.0.1"), uri: "sip:10.0.0.1:5080;transport=udp" }, row(3, "10.0.0.2")]);
    prober.start();
    await settle();
    expect(sent.map((s) => `${s.to.ip}:${s.to.port}`)).toEqual(["10.0.0.1:5080", "10.0.0.2:5080"]);
    const req = sent[0]!.msg;
    expect(req.method).toBe("OPTIONS");
    expect(req.uri).toBe("sip:10.0.0.1:5080");
    const via = topVia(req)!;
    expect(via.branch?.startsWith(PROBE_BRANCH_PREFIX)).toBe(true);
    expect(via.host).toBe("192.0.2.1");
    expect(via.params).toHaveProperty("rport");
    expect(headerValue(req, "Max-Forwards")).toBe("70");
    expect(headerValue(req, "From")).toMatch(/;tag=\w+/);
    expect(headerValue(req, "CSeq")).toMatch(/^\d+ OPTIONS$/);
    expect(topVia(sent[1]!.msg)!.branch).not.toBe(via.branch);
    expect(headerValue(sent[1]!.msg, "Call-ID")).not.toBe(headerValue(req, "Call-ID"));
    prober.close();
  });

  it("retransmits on Timer E (T1 doubling, capped at T2; T2 once a 1xx came) until the probe timeout", async () => {
    const { prober, sent, clock, deliver, answer } = setup([row(1, "10.0.0.1")], { timeoutMs: 5000 });
    prober.start();
    await settle();
    const times = [0];
    for (let t = 0; t < 5000; t += 100) {
      const before = sent.length;
      clock.advance(100);
      if (sent.length > before) times.push(clock.now());
    }
    // 500, 1500, 3500 (intervals 500, 1000, 2000, then 4000 would be 7500 > 5000).
    expect(times).toEqual([0, 500, 1500, 3500]);
    expect(new Set(sent.map((s) => topVia(s.msg)!.branch)).size).toBe(1);
    // Next round: a 100 Trying moves retransmissions to T2.
    clock.advance(5000);
    const round = sent.length;
    expect(deliver(answer(sent[round - 1]!.msg, 100))).toBe(true);
    clock.advance(3900);
    expect(sent.length).toBe(round + 1); // the retransmission due at 500 ms, then none until T2
    prober.close();
  });

  it("marks a silent destination inactive after the failure threshold and reports it once", async () => {
    const { prober, clock, worker, metrics } = setup([row(1, "10.0.0.1")]);
    prober.start();
    await settle();
    clock.advance(5000); // first probe times out
    await settle();
    expect(prober.viewOf("10.0.0.1", 5080)).toBe("unknown");
    expect(worker.reports).toEqual([]);
    clock.advance(10_000); // second probe at 10 s times out at 15 s
    await settle();
    expect(prober.viewOf("10.0.0.1", 5080)).toBe("down");
    expect(worker.reports).toEqual([[{ id: 1, uri: "sip:10.0.0.1:5080", state: "inactive" }]]);
    expect(metrics.get("edge_gateway_probes_total", { result: "timeout" })).toBe(2);
    expect(metrics.get("edge_gateway_probe_state_changes_total", { state: "inactive" })).toBe(1);
    clock.advance(10_000);
    await settle();
    expect(worker.reports.length).toBe(1);
    prober.close();
  });

  it("any SIP answer counts as alive; the success threshold brings it back, reported once", async () => {
    const { prober, clock, worker, sent, deliver, answer } = setup([row(1, "10.0.0.1", "inactive")]);
    prober.start();
    await settle();
    expect(deliver(answer(sent.at(-1)!.msg, 404))).toBe(true);
    expect(prober.viewOf("10.0.0.1", 5080)).toBe("unknown");
    clock.advance(10_000);
    expect(deliver(answer(sent.at(-1)!.msg, 200))).toBe(true);
    await settle();
    expect(prober.viewOf("10.0.0.1", 5080)).toBe("up");
    expect(worker.reports).toEqual([[{ id: 1, uri: "sip:10.0.0.1:5080", state: "active" }]]);
    // A retransmitted (late) answer is still the prober's: consumed, never handed to the proxy core.
    expect(deliver(answer(sent.at(-1)!.msg, 200))).toBe(true);
    prober.close();
  });

  it("answers outside PROBE_REPLY_CODES count as failures", async () => {
    const { prober, clock, sent, deliver, answer } = setup([row(1, "10.0.0.1")], { replyCodes: ["2xx"], failureThreshold: 1 });
    prober.start();
    await settle();
    deliver(answer(sent.at(-1)!.msg, 503));
    await settle();
    expect(prober.viewOf("10.0.0.1", 5080)).toBe("down");
    clock.advance(10_000);
    prober.close();
  });

  it("leaves other datagrams to the proxy core", async () => {
    const { prober, deliver } = setup([row(1, "10.0.0.1")]);
    const other = new TextEncoder().encode(
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKproxy1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n",
    );
    expect(deliver(other)).toBe(false);
    const request = new TextEncoder().encode(
      `OPTIONS sip:gw SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5080;branch=${PROBE_BRANCH_PREFIX}x\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
    );
    expect(deliver(request)).toBe(false);
    prober.close();
  });

  it("re-asserts inactive at each refresh while down (an operator's enable of a dead box is undone), never re-asserts active", async () => {
    const { prober, clock, worker, sent, deliver, answer } = setup([row(1, "10.0.0.1")], { failureThreshold: 1, successThreshold: 1 });
    prober.start();
    await settle();
    clock.advance(5000);
    await settle();
    expect(worker.reports.length).toBe(1);
    worker.rows[0]!.state = "active"; // an operator enabled it (or another gateway saw it up)
    clock.advance(30_000); // refresh
    await settle();
    expect(worker.reports.length).toBe(2);
    expect(worker.reports[1]).toEqual([{ id: 1, uri: "sip:10.0.0.1:5080", state: "inactive" }]);
    // Up again: reported once; another gateway marking it inactive is not overwritten at each refresh.
    clock.advance(5000); // the round at 40 s sends a probe
    deliver(answer(sent.at(-1)!.msg, 200));
    await settle();
    expect(worker.reports.length).toBe(3);
    expect(worker.reports[2]).toEqual([{ id: 1, uri: "sip:10.0.0.1:5080", state: "active" }]);
    worker.rows[0]!.state = "inactive";
    for (let i = 0; i < 6; i++) {
      clock.advance(10_000); // every round answered; the list is refreshed twice meanwhile
      deliver(answer(sent.at(-1)!.msg, 200));
      await settle();
    }
    expect(prober.viewOf("10.0.0.1", 5080)).toBe("up");
    expect(worker.reports.length).toBe(3);
    expect(worker.rows[0]!.state).toBe("inactive");
    prober.close();
  });

  it("keeps a failed report and sends it again with the next round", async () => {
    const { prober, clock, worker } = setup([row(1, "10.0.0.1")], { failureThreshold: 1 });
    worker.fail(true);
    prober.start();
    await settle();
    clock.advance(5000);
    await settle();
    expect(worker.reports.length).toBe(0);
    worker.fail(false);
    clock.advance(5000); // the next tick flushes
    await settle();
    expect(worker.reports).toEqual([[{ id: 1, uri: "sip:10.0.0.1:5080", state: "inactive" }]]);
    prober.close();
  });

  it("forgets destinations no longer listed, and stops on close", async () => {
    const { prober, clock, worker, sent } = setup([row(1, "10.0.0.1")]);
    prober.start();
    await settle();
    worker.rows.length = 0;
    clock.advance(30_000);
    await settle();
    expect(prober.viewOf("10.0.0.1", 5080)).toBeUndefined();
    const n = sent.length;
    prober.close();
    clock.advance(100_000);
    expect(sent.length).toBe(n);
    expect(clock.pendingCount()).toBe(0);
  });
});

describe("two gateways probing one destination", () => {
  it("do not flap its state when one reaches it and the other does not: it settles on inactive", async () => {
    const clock = new ManualClock(0);
    const worker = fakeWorker([row(1, "10.0.0.1")]);
    const changes: string[] = [];
    const base = worker.reportDestinationStates;
    worker.reportDestinationStates = async (report) => {
      const answer = await base(report);
      if (answer.ok) for (const r of answer.decision.results) if (r.changed) changes.push(`${clock.now()}:${r.state}`);
      return answer;
    };
    const make = (name: string, reaches: boolean) => {
      let prober: Prober | undefined;
      const listener: Listener = {
        local: { ip: "127.0.0.1", port: 5060, transport: "udp" },
        advertised: { host: name, port: 5060 },
        send(bytes) {
          if (!reaches) return; // a partition: this gateway's probes get lost
          const p = parseMessage(bytes);
          if (!p.ok || p.message.kind !== "request") return;
          const req = p.message;
          const reply = new TextEncoder().encode(
            `SIP/2.0 200 OK\r\nVia: ${headerValue(req, "Via")}\r\nFrom: ${headerValue(req, "From")}\r\nTo: ${headerValue(req, "To")};tag=b\r\nCall-ID: ${headerValue(req, "Call-ID")}\r\nCSeq: ${headerValue(req, "CSeq")}\r\nContent-Length: 0\r\n\r\n`,
          );
          queueMicrotask(() => prober?.intercept(reply, { ip: "10.0.0.1", port: 5080, transport: "udp" }, listener));
        },
      };
      prober = new Prober({
        listener,
        worker,
        settings: { ...DEFAULT_PROBE_SETTINGS, gatewayId: name },
        clock,
        log: createLogger("error", () => undefined),
        metrics: new Metrics(),
        t1: 500,
        t2: 4000,
      });
      return prober;
    };
    const a = make("192.0.2.1", true);
    const b = make("192.0.2.2", false);
    a.start();
    b.start();
    await settle();
    for (let t = 0; t < 300_000; t += 100) {
      clock.advance(100);
      await settle();
    }
    expect(a.viewOf("10.0.0.1", 5080)).toBe("up");
    expect(b.viewOf("10.0.0.1", 5080)).toBe("down");
    expect(worker.rows[0]!.state).toBe("inactive");
    // One change in five minutes of rounds and refreshes: B's verdict; A never overwrites it.
    expect(changes).toEqual([expect.stringMatching(/:inactive$/)]);
    a.close();
    b.close();
  });
});
