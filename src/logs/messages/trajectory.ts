// A recorded ego trajectory in compact arrays: world <- ego poses by time, for the driven-path
// overlay and for frames whose ego pose comes from a pose stream rather than the tf tree.
import type { Pose, Vec3 } from '../model.js';
import { interpolatePose } from '../transforms.js';
import { lowerBound } from './source.js';

export class Trajectory {
  private times: bigint[] = [];
  private poses: Pose[] = [];
  private sortedTimes = new BigInt64Array();

  push(timeNs: bigint, pose: Pose): void {
    this.times.push(timeNs);
    this.poses.push(pose);
  }

  finish(): Trajectory {
    const order = this.times.map((_, i) => i).sort((a, b) => (this.times[a]! < this.times[b]! ? -1 : this.times[a]! > this.times[b]! ? 1 : 0));
    this.times = order.map((i) => this.times[i]!);
    this.poses = order.map((i) => this.poses[i]!);
    this.sortedTimes = BigInt64Array.from(this.times);
    return this;
  }

  get length(): number {
    return this.poses.length;
  }

  /** Interpolated pose, or undefined outside the recorded span (no extrapolation beyond 0.2 s). */
  poseAt(timeNs: bigint): Pose | undefined {
    const times = this.sortedTimes;
    if (times.length === 0) return undefined;
    const i = lowerBound(times, timeNs);
    if (i < times.length && times[i] === timeNs) return this.poses[i];
    if (i === 0) return times[0]! - timeNs <= 200_000_000n ? this.poses[0] : undefined;
    if (i === times.length) return timeNs - times[i - 1]! <= 200_000_000n ? this.poses[i - 1] : undefined;
    const a = times[i - 1]!;
    const b = times[i]!;
    return interpolatePose(this.poses[i - 1]!, this.poses[i]!, Number(timeNs - a) / Number(b - a));
  }

  positionsBetween(startNs: bigint, endNs: bigint): Vec3[] {
    const out: Vec3[] = [];
    for (let i = lowerBound(this.sortedTimes, startNs); i < this.sortedTimes.length && this.sortedTimes[i]! <= endNs; i++) {
      out.push(this.poses[i]!.translation);
    }
    return out;
  }
}
