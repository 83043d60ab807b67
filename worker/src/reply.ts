/** The `reply` decision: answer the request here with `status reason` and these extra headers. */
import type { RequestDecisionInput } from "../../contract/v1";

export function reply(status: number, reason: string, headers: [string, string][] = []): RequestDecisionInput {
  return { action: "reply", status, reason, headers };
}
