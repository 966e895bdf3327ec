// Nanosecond timestamps travel as decimal strings; arithmetic happens on bigint.
export const NS_PER_S = 1_000_000_000n;

export function nsToString(ns: bigint): string {
  return ns.toString();
}

export function secondsBetween(fromNs: bigint, toNs: bigint): number {
  return Number(toNs - fromNs) / 1e9;
}

export function stampToNs(stamp: { sec?: number; seconds?: number | bigint; nsec?: number; nanos?: number }): bigint {
  const sec = BigInt(stamp.sec ?? stamp.seconds ?? 0);
  const nsec = BigInt(stamp.nsec ?? stamp.nanos ?? 0);
  return sec * NS_PER_S + nsec;
}
