/** Text helpers of the admin page (plain TypeScript, so that unit tests need no JSX). */

/** Time left until `expires` (Unix seconds), in words. */
export function formatRemaining(expires: number, now: number): string {
  const s = expires - now;
  if (s <= 0) return "expired (awaiting the sweep)";
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h < 48 ? `${h} h ${m} min` : `${Math.floor(h / 24)} d ${h % 24} h`;
}
