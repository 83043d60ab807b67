/**
 * What the REGISTER decision hands to its response decision through the gateway (sealed, opaque to it).
 */

/** One contact of the phone's REGISTER. */
export interface RegisterContextContact {
  /** The phone's own Contact URI. */
  readonly uri: string;
  readonly token: string;
  /** The phone's header parameters other than expires and q, to show them back in the 2xx. */
  readonly params: Readonly<Record<string, string | null>>;
  /** The contact's own expires parameter, when it had one. */
  readonly expires: number | undefined;
  readonly q: number;
  readonly received: string | null;
  readonly instance: string | null;
}

export interface RegisterContext {
  readonly kind: "register";
  readonly username: string;
  readonly domain: string;
  readonly callid: string;
  readonly cseq: number;
  readonly wildcard: boolean;
  /** The request's Expires header. */
  readonly requestExpires: number | undefined;
  readonly contacts: readonly RegisterContextContact[];
  readonly userAgent: string;
  readonly methods: number | null;
  readonly path: string | null;
  readonly socket: string;
  /**
   * Unix milliseconds when the REGISTER was decided. A binding removed after this moment is not brought
   * back by this context's 2xx (a late or replayed response): see the tombstones in store/schema.ts.
   */
  readonly issuedAt: number;
}

/** A structural check of an opened (already authenticated) context. */
export function isRegisterContext(v: unknown): v is RegisterContext {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    o["kind"] === "register" &&
    typeof o["username"] === "string" &&
    typeof o["domain"] === "string" &&
    typeof o["callid"] === "string" &&
    typeof o["cseq"] === "number" &&
    typeof o["issuedAt"] === "number" &&
    Array.isArray(o["contacts"]) &&
    o["contacts"].every((c: unknown) => typeof c === "object" && c !== null && typeof (c as Record<string, unknown>)["token"] === "string")
  );
}
