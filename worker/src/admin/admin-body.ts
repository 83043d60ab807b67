/** The admin API's request body: read once, bounded, by the admin auth middleware (parsed with json-body.ts). */

/** What the admin auth middleware leaves for the routes: the bounded raw body. */
export type AdminVars = { Variables: { body: string } };
