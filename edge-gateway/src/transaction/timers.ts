/**
 * RFC 3261 timer values (section 17, Table 4 in Appendix A) for an unreliable transport (UDP), plus
 * Timer C of section 16.6 for the proxy core. All derive from a `TimerConfig`; tests pass small values.
 */

/** T1: RTT estimate, 500 ms default (RFC 3261 Table 4). */
export const T1 = 500;
/** T2: maximum retransmit interval for non-INVITE requests and INVITE responses, 4 s (Table 4). */
export const T2 = 4000;
/** T4: maximum duration a message will remain in the network, 5 s (Table 4). */
export const T4 = 5000;
/** Timer D default for UDP: "> 32s for UDP" (Table 4); we use exactly 32 s. */
export const TIMER_D_UDP = 32_000;
/**
 * Timer C default: section 16.6 step 11, "Timer C MUST be set for each client transaction when an INVITE
 * request is proxied. The timer MUST be larger than 3 minutes."
 */
export const TIMER_C = 181_000;

/** The tunable base values; every timer of Table 4 is derived from them. */
export interface TimerConfig {
  readonly t1: number;
  readonly t2: number;
  readonly t4: number;
  /** Timer D (INVITE client wait time for response retransmits); RFC 3261 requires >= 32 s on UDP. */
  readonly timerD: number;
  /** Timer C (proxy INVITE transaction timeout, section 16.6); RFC 3261 requires > 3 min. */
  readonly timerC: number;
}

/**
 * Resolved durations in ms. A, E and G are the initial retransmission intervals: A doubles without a
 * cap, E and G double up to `T2` (see `nextInterval`).
 */
export interface TimerDurations {
  readonly T1: number;
  readonly T2: number;
  readonly T4: number;
  /** INVITE request retransmit interval, initially T1, doubling (17.1.1.2). */
  readonly A: number;
  /** INVITE transaction timeout, 64*T1 (17.1.1.2). */
  readonly B: number;
  /** Proxy INVITE transaction timeout, > 3 min (16.6); not used by the transaction layer itself. */
  readonly C: number;
  /** Wait time for response retransmissions in INVITE client Completed, >= 32 s on UDP (17.1.1.2). */
  readonly D: number;
  /** Non-INVITE request retransmit interval, initially T1, doubling to T2 (17.1.2.2). */
  readonly E: number;
  /** Non-INVITE transaction timeout, 64*T1 (17.1.2.2). */
  readonly F: number;
  /** INVITE final response retransmit interval, initially T1, doubling to T2 (17.2.1). */
  readonly G: number;
  /** Wait time for ACK receipt, 64*T1 (17.2.1). */
  readonly H: number;
  /** Wait time for ACK retransmissions in INVITE server Confirmed, T4 on UDP (17.2.1). */
  readonly I: number;
  /** Wait time for non-INVITE request retransmissions, 64*T1 on UDP (17.2.2). */
  readonly J: number;
  /** Wait time for non-INVITE response retransmissions, T4 on UDP (17.1.2.2). */
  readonly K: number;
  /** Wait time for accepted INVITE request retransmissions, 64*T1 (RFC 6026 section 8.7). */
  readonly L: number;
  /** Wait time for 2xx retransmissions in INVITE client Accepted, 64*T1 (RFC 6026 section 7.2). */
  readonly M: number;
}

/** The RFC 3261 defaults for UDP. */
export const DEFAULT_TIMER_CONFIG: TimerConfig = { t1: T1, t2: T2, t4: T4, timerD: TIMER_D_UDP, timerC: TIMER_C };

/** Derives every timer of Table 4 (UDP column) and Timer C from `config`, missing fields taking the defaults. */
export function timerDurations(config: Partial<TimerConfig> = {}): TimerDurations {
  const c: TimerConfig = { ...DEFAULT_TIMER_CONFIG, ...config };
  for (const [name, value] of Object.entries(c)) {
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw new RangeError(`TimerConfig.${name} must be a positive number of milliseconds, got ${String(value)}`);
    }
  }
  if (c.t2 < c.t1) throw new RangeError(`TimerConfig.t2 (${c.t2}) must not be below t1 (${c.t1})`);
  return {
    T1: c.t1,
    T2: c.t2,
    T4: c.t4,
    A: c.t1,
    B: 64 * c.t1,
    C: c.timerC,
    D: c.timerD,
    E: c.t1,
    F: 64 * c.t1,
    G: c.t1,
    H: 64 * c.t1,
    I: c.t4,
    J: 64 * c.t1,
    K: c.t4,
    L: 64 * c.t1,
    M: 64 * c.t1,
  };
}

/** The next retransmission interval: the current one doubled, capped at `cap` when one is given. */
export function nextInterval(current: number, cap?: number): number {
  const doubled = current * 2;
  return cap === undefined ? doubled : Math.min(doubled, cap);
}
