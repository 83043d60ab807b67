/**
 * The one table of SIP header spellings: canonical long names and their compact forms
 * (RFC 3261 section 7.3.3, plus the compact forms registered by later RFCs).
 */

/** Canonical spelling, then the compact form where one is registered. */
const HEADER_TABLE: readonly (readonly [canonical: string, compact?: string])[] = [
  ["Accept"],
  ["Accept-Contact", "a"],
  ["Accept-Encoding"],
  ["Accept-Language"],
  ["Accept-Resource-Priority"],
  ["Alert-Info"],
  ["Allow"],
  ["Allow-Events", "u"],
  ["Answer-Mode"],
  ["Authentication-Info"],
  ["Authorization"],
  ["Call-ID", "i"],
  ["Call-Info"],
  ["Contact", "m"],
  ["Content-Disposition"],
  ["Content-Encoding", "e"],
  ["Content-Language"],
  ["Content-Length", "l"],
  ["Content-Type", "c"],
  ["CSeq"],
  ["Date"],
  ["Error-Info"],
  ["Event", "o"],
  ["Expires"],
  ["Flow-Timer"],
  ["From", "f"],
  ["Geolocation"],
  ["History-Info"],
  ["Identity", "y"],
  ["Identity-Info", "n"],
  ["In-Reply-To"],
  ["Join"],
  ["Max-Breadth"],
  ["Max-Forwards"],
  ["MIME-Version"],
  ["Min-Expires"],
  ["Min-SE"],
  ["Organization"],
  ["P-Access-Network-Info"],
  ["P-Asserted-Identity"],
  ["P-Associated-URI"],
  ["P-Called-Party-ID"],
  ["P-Charging-Vector"],
  ["P-Preferred-Identity"],
  ["P-Visited-Network-ID"],
  ["Path"],
  ["Priority"],
  ["Privacy"],
  ["Proxy-Authenticate"],
  ["Proxy-Authorization"],
  ["Proxy-Require"],
  ["RAck"],
  ["Reason"],
  ["Record-Route"],
  ["Refer-Sub"],
  ["Refer-To", "r"],
  ["Referred-By", "b"],
  ["Reject-Contact", "j"],
  ["Replaces"],
  ["Reply-To"],
  ["Request-Disposition", "d"],
  ["Require"],
  ["Resource-Priority"],
  ["Retry-After"],
  ["Route"],
  ["RSeq"],
  ["Security-Client"],
  ["Security-Server"],
  ["Security-Verify"],
  ["Server"],
  ["Service-Route"],
  ["Session-Expires", "x"],
  ["SIP-ETag"],
  ["SIP-If-Match"],
  ["Subject", "s"],
  ["Subscription-State"],
  ["Supported", "k"],
  ["Target-Dialog"],
  ["Timestamp"],
  ["To", "t"],
  ["Unsupported"],
  ["User-Agent"],
  ["Via", "v"],
  ["Warning"],
  ["WWW-Authenticate"],
];

/**
 * Keyed by lower-case spelling and by compact form; canonical spellings are a fast path. Both give the
 * table's own string, so that every message's names are the same few strings: comparing one with a
 * constant (`h.name === "Via"`) is then an identity check, and its hash is already computed.
 */
const BY_LOWER = new Map<string, string>();
const CANONICAL = new Map<string, string>();
for (const [canonical, compact] of HEADER_TABLE) {
  BY_LOWER.set(canonical.toLowerCase(), canonical);
  CANONICAL.set(canonical, canonical);
  if (compact !== undefined) BY_LOWER.set(compact, canonical);
}

/**
 * The canonical spelling of a header name: case-insensitive, compact forms expanded (`v` -> `Via`,
 * `CALL-ID` -> `Call-ID`); names not in the table keep their original spelling.
 */
export function canonicalHeaderName(raw: string): string {
  return CANONICAL.get(raw) ?? BY_LOWER.get(raw.toLowerCase()) ?? raw;
}

/** True when `name` is spelled as in the table (then it is also a token). */
export function isKnownCanonicalName(name: string): boolean {
  return CANONICAL.has(name);
}
