/**
 * The rollback-trigger metrics of initial (out-of-dialog) requests: the outcome of each one, by the first
 * final response sent upstream, and the latency the gateway added, arrival to relay, both labelled with the
 * tenant the worker's decision named (contract/metrics.ts has the names and the outcome classes).
 *
 * The tenant label comes only from a decision, never from a message: a stranger's request is "none". The
 * label set is bounded besides: past MAX_TENANT_LABELS distinct tenants, further ones are "other".
 */
import {
  MAX_TENANT_LABELS,
  NO_TENANT,
  OTHER_TENANTS,
  registerOutcome,
  ROLLBACK_METRICS,
  routedOutcome,
} from "../../../contract/metrics";
import type { Metrics } from "../observability/metrics";
import type { Clock } from "../transaction/clock";

/** What is metered of one initial request; held by its response context. */
export interface Metered {
  readonly method: string;
  /** Clock milliseconds at arrival. */
  readonly arrivedAt: number;
  tenant: string;
  relayed: boolean;
  answered: boolean;
}

export class OutcomeMeter {
  private readonly tenants = new Set<string>();

  constructor(
    private readonly metrics: Metrics,
    private readonly clock: Clock,
  ) {}

  /** A new initial request, before the worker decides. */
  arrived(method: string): Metered {
    return { method, arrivedAt: this.clock.now(), tenant: NO_TENANT, relayed: false, answered: false };
  }

  /** The worker's decision named a tenant (its domain). */
  attribute(m: Metered | undefined, tenant: string | undefined): void {
    if (!m || tenant === undefined) return;
    const label = tenant.toLowerCase();
    if (!this.tenants.has(label)) {
      if (this.tenants.size >= MAX_TENANT_LABELS) {
        m.tenant = OTHER_TENANTS;
        return;
      }
      this.tenants.add(label);
    }
    m.tenant = label;
  }

  /** The request went out on its first branch: the latency the gateway added (the decision included). */
  relayed(m: Metered | undefined): void {
    if (!m || m.relayed) return;
    m.relayed = true;
    this.metrics.observe(ROLLBACK_METRICS.addedLatency, { tenant: m.tenant }, Math.max(0, this.clock.now() - m.arrivedAt) / 1000);
  }

  /**
   * The first final response went upstream: the one RFC 3261 16.7 step 8 sends for the request (the later
   * 2xx of a forked INVITE that 16.7 step 5 also forwards are the same request's, not counted again).
   * `local`: the edge wrote it (a worker reply, a gateway refusal), it came from no destination.
   */
  answered(m: Metered | undefined, status: number, local: boolean): void {
    if (!m || m.answered || status < 200) return;
    m.answered = true;
    this.count(m.method, m.tenant, status, local);
  }

  /** An initial request refused before it had a response context (16.3 checks, overload): tenant "none". */
  refusedStatelessly(method: string, status: number): void {
    if (method === "ACK" || method === "CANCEL") return;
    this.count(method, NO_TENANT, status, true);
  }

  private count(method: string, tenant: string, status: number, local: boolean): void {
    if (method === "REGISTER") this.metrics.inc(ROLLBACK_METRICS.registers, { tenant, outcome: registerOutcome(status, local) });
    else this.metrics.inc(ROLLBACK_METRICS.routed, { tenant, outcome: routedOutcome(status, local) });
  }
}
