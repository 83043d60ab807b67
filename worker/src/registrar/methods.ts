/** SIP methods as the OpenSIPS usrloc bitmask (the `location.methods` column), and back. */

const BITS: ReadonlyArray<readonly [string, number]> = [
  ["INVITE", 1],
  ["CANCEL", 2],
  ["ACK", 4],
  ["BYE", 8],
  ["INFO", 16],
  ["OPTIONS", 32],
  ["UPDATE", 64],
  ["REGISTER", 128],
  ["MESSAGE", 256],
  ["SUBSCRIBE", 512],
  ["NOTIFY", 1024],
  ["PRACK", 2048],
  ["REFER", 4096],
  ["PUBLISH", 8192],
];
const OTHER = 16384;

/** The bitmask of an Allow list; null when the phone sent no Allow. */
export function methodsToMask(methods: readonly string[] | undefined): number | null {
  if (!methods) return null;
  let mask = 0;
  for (const m of methods) {
    const bit = BITS.find(([name]) => name === m.trim().toUpperCase());
    mask |= bit ? bit[1] : OTHER;
  }
  return mask;
}

/** The method names of a bitmask, in the table's order ("OTHER" for unknown methods). */
export function maskToMethods(mask: number | null): string[] | null {
  if (mask === null) return null;
  const out = BITS.filter(([, bit]) => (mask & bit) !== 0).map(([name]) => name);
  if (mask & OTHER) out.push("OTHER");
  return out;
}
