/**
 * Stateless sessions for the admin page (docs/admin-ui.md): the cookie carries its own expiry and a random
 * session id, signed with HMAC-SHA256 under a key derived from ADMIN_TOKEN. The worker keeps nothing: a
 * cookie is valid when its signature verifies and it has not expired; rotating ADMIN_TOKEN ends every
 * session (with ADMIN_TOKEN_PREVIOUS set for a rotation window, when that is removed: the routes verify
 * under both tokens' keys meanwhile). The CSRF token of a session is a second HMAC over its id (so forms need no server state either).
 * All comparisons of secrets go through Web Crypto's verify, which is constant-time.
 */
import { fromBase64url, toBase64url } from "../base64url";

/** How long a session lasts from login (seconds); there is no sliding renewal. */
export const SESSION_LIFETIME_S = 8 * 3600;

/** Cookie name. Scoped by `Path=/admin/ui`, so it never travels to the admin API. */
export const SESSION_COOKIE = "edge_admin_session";

const VERSION = "v1";
const encoder = new TextEncoder();

type Key = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

const keys = new Map<string, Promise<Key>>();

/**
 * The session key for an admin token: HMAC(ADMIN_TOKEN, label), so the cookie's key is not the token itself
 * and a leaked cookie says nothing about the token. Cached per token in the isolate.
 */
export function sessionKey(adminToken: string): Promise<Key> {
  let key = keys.get(adminToken);
  if (!key) {
    key = (async () => {
      const base = await crypto.subtle.importKey("raw", encoder.encode(adminToken), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      const derived = await crypto.subtle.sign("HMAC", base, encoder.encode("edge-registrar admin-ui session key v1"));
      return crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    })();
    keys.set(adminToken, key);
  }
  return key;
}

async function mac(key: Key, text: string): Promise<string> {
  return toBase64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(text))));
}

async function macMatches(key: Key, text: string, sig: string): Promise<boolean> {
  const bytes = fromBase64url(sig);
  if (!bytes || bytes.length !== 32) return false;
  return crypto.subtle.verify("HMAC", key, bytes, encoder.encode(text));
}

/** A verified session. */
export interface Session {
  readonly id: string;
  /** Unix seconds. */
  readonly expires: number;
}

/** Issues a session cookie value: `v1.<expires>.<id>.<hmac>`. `now` is Unix seconds. */
export async function issueSession(key: Key, now: number, lifetimeS = SESSION_LIFETIME_S): Promise<{ value: string; session: Session }> {
  const id = toBase64url(crypto.getRandomValues(new Uint8Array(16)));
  const expires = now + lifetimeS;
  const body = `${VERSION}.${expires}.${id}`;
  return { value: `${body}.${await mac(key, body)}`, session: { id, expires } };
}

/** Clock difference tolerated between the isolate that issued a cookie and the one checking it (seconds). */
const CLOCK_SLACK_S = 60;

/**
 * Checks a cookie value: well-formed, signature valid, not expired, and not valid for longer than a session
 * can be (a cookie claiming a far expiry was not issued here). `now` is Unix seconds.
 */
export async function verifySession(key: Key, value: string | undefined, now: number): Promise<Session | undefined> {
  if (!value || value.length > 200) return undefined;
  const parts = value.split(".");
  if (parts.length !== 4 || parts[0] !== VERSION) return undefined;
  const [, expRaw = "", id = "", sig = ""] = parts;
  if (!/^\d{1,12}$/.test(expRaw) || !/^[A-Za-z0-9_-]{22}$/.test(id)) return undefined;
  if (!(await macMatches(key, `${VERSION}.${expRaw}.${id}`, sig))) return undefined;
  const expires = Number(expRaw);
  if (expires <= now || expires > now + SESSION_LIFETIME_S + CLOCK_SLACK_S) return undefined;
  return { id, expires };
}

/** The CSRF token of a session, put in every state-changing form. */
export function csrfToken(key: Key, session: Session): Promise<string> {
  return mac(key, `csrf.${session.id}`);
}

/** Whether a submitted CSRF token belongs to this session (constant-time). */
export function csrfTokenMatches(key: Key, session: Session, submitted: unknown): Promise<boolean> {
  if (typeof submitted !== "string") return Promise.resolve(false);
  return macMatches(key, `csrf.${session.id}`, submitted);
}
