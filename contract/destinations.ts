/**
 * The destination-probing part of the gateway <-> worker contract (additive to v1, same signing).
 *
 * The gateway knows no tenants: it asks the worker which dispatcher destinations to probe
 * (`POST /v1/probe-targets`, refreshed periodically) and reports what its probes concluded
 * (`POST /v1/destination-state`). The worker owns the stored state and the rules that protect it: an
 * operator's `disabled` is never overwritten by a probe (docs/operations.md, "Dispatcher probing").
 */
import { z } from "zod";
import { parseWith } from "./v1";

export const PROBE_TARGETS_PATH = "/v1/probe-targets" as const;
export const DESTINATION_STATE_PATH = "/v1/destination-state" as const;

/**
 * A destination's state as operators and the contract name it. Stored in `dispatcher.state` with the
 * OpenSIPS codes: 0 active, 1 inactive (set by an operator: our `disabled`), 2 probing (failed its probes:
 * our `inactive`).
 */
export const destinationStateSchema = z.enum(["active", "inactive", "disabled"]);
export type DestinationState = z.infer<typeof destinationStateSchema>;

/** What a probe can conclude: it never disables (that is the operator's). */
export const probedStateSchema = z.enum(["active", "inactive"]);
export type ProbedState = z.infer<typeof probedStateSchema>;

/** `POST /v1/probe-targets` body: who asks (for the worker's logs). */
export const probeTargetsRequestSchema = z.object({
  gateway: z.string().max(200).default(""),
});
export type ProbeTargetsRequest = z.input<typeof probeTargetsRequestSchema>;

/** One destination row to probe (several rows may share an address: the gateway probes it once). */
export const probeTargetSchema = z.object({
  /** `dispatcher.id`. */
  id: z.number().int().nonnegative(),
  uri: z.string().min(1),
  ip: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  /** The stored state: `disabled` destinations are never listed. */
  state: probedStateSchema,
});
export type ProbeTarget = z.infer<typeof probeTargetSchema>;

export const probeTargetsAnswerSchema = z.object({ targets: z.array(probeTargetSchema) });
export type ProbeTargetsAnswer = z.infer<typeof probeTargetsAnswerSchema>;

/** `POST /v1/destination-state` body: what this gateway's probes concluded, per destination row. */
export const destinationStateReportSchema = z.object({
  gateway: z.string().max(200).default(""),
  changes: z
    .array(
      z.object({
        id: z.number().int().nonnegative(),
        /** Guards against a row id reused for another destination between list and report. */
        uri: z.string().min(1),
        state: probedStateSchema,
      }),
    )
    .max(1000),
});
export type DestinationStateReport = z.input<typeof destinationStateReportSchema>;

/** Per reported row: the state stored after the report, and whether this report changed it. */
export const destinationStateAnswerSchema = z.object({
  results: z.array(
    z.object({
      id: z.number().int().nonnegative(),
      /** Absent when the row no longer exists (or its URI changed). */
      state: destinationStateSchema.optional(),
      changed: z.boolean(),
    }),
  ),
});
export type DestinationStateAnswer = z.infer<typeof destinationStateAnswerSchema>;


export const parseProbeTargetsRequest = (v: unknown) => parseWith(probeTargetsRequestSchema, v);
export const parseProbeTargetsAnswer = (v: unknown): ProbeTargetsAnswer => parseWith(probeTargetsAnswerSchema, v);
export const parseDestinationStateReport = (v: unknown) => parseWith(destinationStateReportSchema, v);
export const parseDestinationStateAnswer = (v: unknown): DestinationStateAnswer => parseWith(destinationStateAnswerSchema, v);
