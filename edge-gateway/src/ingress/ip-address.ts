/**
 * IP literals as bytes, the key the flood limiter counts a source under, and address/CIDR lists (the
 * operator's FLOOD_EXEMPT). No DNS: only literals.
 */

/** IPv4 dotted quad to 4 bytes; undefined when it is not one. */
function ipv4Bytes(ip: string): Uint8Array | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/** IPv6 text (RFC 4291 2.2: "::", an embedded IPv4 tail, a zone suffix) to 16 bytes; undefined otherwise. */
function ipv6Bytes(text: string): Uint8Array | undefined {
  const ip = text.includes("%") ? text.slice(0, text.indexOf("%")) : text;
  const halves = ip.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): string[] => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const words: number[] = [];
  const push = (list: string[], last: boolean): boolean => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i]!;
      if (last && i === list.length - 1 && g.includes(".")) {
        const v4 = ipv4Bytes(g);
        if (!v4) return false;
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
      words.push(parseInt(g, 16));
    }
    return true;
  };
  if (!push(head, halves.length === 1)) return undefined;
  const headLen = words.length;
  if (!push(tail, true)) return undefined;
  if (halves.length === 1) {
    if (words.length !== 8) return undefined;
  } else {
    if (words.length > 7) return undefined;
    words.splice(headLen, 0, ...new Array<number>(8 - words.length).fill(0));
  }
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 2.5.5.2) as the IPv4 address it carries. */
function unmapped(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== 16) return bytes;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return bytes;
  if (bytes[10] !== 0xff || bytes[11] !== 0xff) return bytes;
  return bytes.slice(12);
}

/**
 * The bytes of an IP literal (4 for IPv4, 16 for IPv6; brackets allowed, an IPv4-mapped IPv6 address gives
 * the IPv4 bytes); undefined when `ip` is not an IP literal.
 */
export function ipBytes(ip: string): Uint8Array | undefined {
  const bare = ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
  if (!bare.includes(":")) return ipv4Bytes(bare);
  const v6 = ipv6Bytes(bare);
  return v6 && unmapped(v6);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * The key a source is counted under by the flood limiter: an IPv4 address as it is, an IPv6 address by its
 * /64 (RFC 4291 2.5.4: the interface identifier is the host's to choose, so one host can send from as many
 * addresses as it likes in its /64; counting them apart would let it walk past the limit). An IPv4-mapped
 * IPv6 source counts as its IPv4 address. The IPv4 case, the common one, costs one scan of the string.
 */
export function sourceKey(ip: string): string {
  if (!ip.includes(":")) return ip;
  const b = ipBytes(ip);
  if (!b) return ip;
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  let key = "";
  for (let i = 0; i < 8; i++) key += HEX[b[i]!]!;
  return `${key}::/64`;
}

/** One entry of an address list: an address and how many leading bits of it must match. */
interface Prefix {
  readonly bytes: Uint8Array;
  readonly bits: number;
}

function matches(p: Prefix, b: Uint8Array): boolean {
  if (p.bytes.length !== b.length) return false;
  const full = p.bits >> 3;
  for (let i = 0; i < full; i++) if (p.bytes[i] !== b[i]) return false;
  const rest = p.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (p.bytes[full]! & mask) === (b[full]! & mask);
}

/** A list of IPv4 / IPv6 addresses and CIDR prefixes (`198.51.100.7`, `198.51.100.0/24`, `2001:db8::/32`). */
export class AddressList {
  private constructor(private readonly prefixes: readonly Prefix[]) {}

  /** Parses a comma- or space-separated list; throws an Error naming the bad entry. */
  static parse(list: string): AddressList {
    const prefixes: Prefix[] = [];
    for (const raw of list.split(/[\s,]+/)) {
      if (raw === "") continue;
      const slash = raw.indexOf("/");
      const addr = slash < 0 ? raw : raw.slice(0, slash);
      const bytes = ipBytes(addr);
      if (!bytes) throw new Error(`not an IP address or CIDR: ${JSON.stringify(raw)}`);
      // A mapped IPv6 prefix counts from the start of the IPv6 address; as IPv4 bytes, 96 bits fewer.
      const width = bytes.length * 8;
      const mappedShift = addr.includes(":") && bytes.length === 4 ? 96 : 0;
      const bits = slash < 0 ? width : Number(raw.slice(slash + 1)) - mappedShift;
      if (slash >= 0 && (!/^\d{1,3}$/.test(raw.slice(slash + 1)) || bits < 0 || bits > width)) {
        throw new Error(`bad prefix length in ${JSON.stringify(raw)}`);
      }
      prefixes.push({ bytes, bits });
    }
    return new AddressList(prefixes);
  }

  get size(): number {
    return this.prefixes.length;
  }

  /** Whether `ip` is one of the addresses or inside one of the prefixes. */
  has(ip: string): boolean {
    if (this.prefixes.length === 0) return false;
    const b = ipBytes(ip);
    if (!b) return false;
    for (const p of this.prefixes) if (matches(p, b)) return true;
    return false;
  }
}
