/** A request body as JSON and as a contract value: 400 with a reason for what does not parse or validate. */
import { HTTPException } from "hono/http-exception";
import { ContractError } from "../../contract/v1";

/** The raw body (read once, bounded, by the auth middleware) as JSON. */
export function jsonBody(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new HTTPException(400, { message: "body is not JSON" });
  }
}

/** The raw body as a JSON object (not an array, not a scalar); 400 otherwise. */
export function objectBody(raw: string): Record<string, unknown> {
  const body = jsonBody(raw);
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new HTTPException(400, { message: "body must be a JSON object" });
  return body as Record<string, unknown>;
}

/** Runs a contract parse; its ContractError becomes 400 with the reason. */
export function validated<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ContractError) throw new HTTPException(400, { message: err.reason });
    throw err;
  }
}
