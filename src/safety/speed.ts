// The logged ego speed per frame, from consecutive ego poses (world <- ego): central differences of
// the positions over the neighbouring frames, one-sided at the ends and next to frames without a pose.
import type { Pose } from '../logs/model.js';

export interface PoseSample {
  stampNs: string;
  egoPose?: Pose;
}

/** Neighbours further apart than this (a gap in the pose stream) do not give a speed. */
export const MAX_SPEED_BASELINE_S = 2;

/**
 * Ground speed (m/s, horizontal) of each sample; NaN where no neighbouring pose within
 * MAX_SPEED_BASELINE_S gives one. Samples must be in time order (frames are).
 */
export function egoSpeedsFromPoses(samples: readonly PoseSample[]): Float64Array {
  const n = samples.length;
  const out = new Float64Array(n).fill(Number.NaN);
  const times = samples.map((s) => BigInt(s.stampNs));
  const valid = (i: number): boolean => i >= 0 && i < n && samples[i]!.egoPose !== undefined;
  const speedBetween = (a: number, b: number): number => {
    const dt = Number(times[b]! - times[a]!) / 1e9;
    if (!(dt > 0) || dt > MAX_SPEED_BASELINE_S) return Number.NaN;
    const pa = samples[a]!.egoPose!.translation;
    const pb = samples[b]!.egoPose!.translation;
    return Math.hypot(pb[0] - pa[0], pb[1] - pa[1]) / dt;
  };
  for (let i = 0; i < n; i++) {
    if (!valid(i)) continue;
    const prev = valid(i - 1) ? i - 1 : undefined;
    const next = valid(i + 1) ? i + 1 : undefined;
    let v = Number.NaN;
    if (prev !== undefined && next !== undefined) v = speedBetween(prev, next);
    if (Number.isNaN(v) && next !== undefined) v = speedBetween(i, next);
    if (Number.isNaN(v) && prev !== undefined) v = speedBetween(prev, i);
    out[i] = v;
  }
  return out;
}
