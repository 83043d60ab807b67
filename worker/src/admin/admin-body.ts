/** The admin API's request body: read once, bounded, by the admin auth middleware, then parsed here. */
import { HTTPException } from "hono/http-exception";

/** What the admin auth middleware leaves for the routes: the bounded raw body. */
export type AdminVars = { Variables: { body: string } };

/** The request body as JSON (read once, bounded, by adminAuth). */
export function jsonBody(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new HTTPException(400, { message: "body is not JSON" });
  }
}
