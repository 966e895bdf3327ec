// Rigid-transform math and a time-indexed transform tree (like tf2): each edge parent <- child
// holds time-sorted samples; lookups interpolate (lerp + slerp) and chain through the tree.
import type { Pose, Quat, Vec3 } from './model.js';

export const IDENTITY_POSE: Pose = { translation: [0, 0, 0], rotation: [0, 0, 0, 1] };

export function quatMultiply(a: Quat, b: Quat): Quat {
  const [ax, ay, az, aw] = a;
  const [bx, by, bz, bw] = b;
  return [
    aw * bx + ax * bw + ay * bz - az * by,
    aw * by - ax * bz + ay * bw + az * bx,
    aw * bz + ax * by - ay * bx + az * bw,
    aw * bw - ax * bx - ay * by - az * bz,
  ];
}

export function quatConjugate(q: Quat): Quat {
  return [-q[0], -q[1], -q[2], q[3]];
}

export function quatNormalize(q: Quat): Quat {
  const n = Math.hypot(q[0], q[1], q[2], q[3]) || 1;
  return [q[0] / n, q[1] / n, q[2] / n, q[3] / n];
}

export function rotateVector(q: Quat, v: Vec3): Vec3 {
  // v' = v + 2w(q×v) + 2 q×(q×v)
  const [x, y, z, w] = q;
  const tx = 2 * (y * v[2] - z * v[1]);
  const ty = 2 * (z * v[0] - x * v[2]);
  const tz = 2 * (x * v[1] - y * v[0]);
  return [v[0] + w * tx + (y * tz - z * ty), v[1] + w * ty + (z * tx - x * tz), v[2] + w * tz + (x * ty - y * tx)];
}

export function applyPose(pose: Pose, p: Vec3): Vec3 {
  const r = rotateVector(pose.rotation, p);
  return [r[0] + pose.translation[0], r[1] + pose.translation[1], r[2] + pose.translation[2]];
}

/** (a ∘ b): maps b's child frame into a's parent frame. */
export function composePoses(a: Pose, b: Pose): Pose {
  return { translation: applyPose(a, b.translation), rotation: quatNormalize(quatMultiply(a.rotation, b.rotation)) };
}

export function invertPose(pose: Pose): Pose {
  const inv = quatConjugate(pose.rotation);
  const t = rotateVector(inv, pose.translation);
  return { translation: [-t[0], -t[1], -t[2]], rotation: inv };
}

export function quatFromYaw(yaw: number): Quat {
  return [0, 0, Math.sin(yaw / 2), Math.cos(yaw / 2)];
}

/** Heading of the rotated x axis in the parent's xy-plane. */
export function yawFromQuat(q: Quat): number {
  const [x, y, z, w] = q;
  return Math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z));
}

export function slerp(a: Quat, b: Quat, t: number): Quat {
  let cos = a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
  let bb = b;
  if (cos < 0) {
    cos = -cos;
    bb = [-b[0], -b[1], -b[2], -b[3]];
  }
  if (cos > 0.9995) {
    return quatNormalize([
      a[0] + t * (bb[0] - a[0]),
      a[1] + t * (bb[1] - a[1]),
      a[2] + t * (bb[2] - a[2]),
      a[3] + t * (bb[3] - a[3]),
    ]);
  }
  const theta = Math.acos(cos);
  const s = Math.sin(theta);
  const wa = Math.sin((1 - t) * theta) / s;
  const wb = Math.sin(t * theta) / s;
  return [wa * a[0] + wb * bb[0], wa * a[1] + wb * bb[1], wa * a[2] + wb * bb[2], wa * a[3] + wb * bb[3]];
}

export function interpolatePose(a: Pose, b: Pose, t: number): Pose {
  return {
    translation: [
      a.translation[0] + t * (b.translation[0] - a.translation[0]),
      a.translation[1] + t * (b.translation[1] - a.translation[1]),
      a.translation[2] + t * (b.translation[2] - a.translation[2]),
    ],
    rotation: slerp(a.rotation, b.rotation, t),
  };
}

/** Row-major 3x3 rotation matrix -> quaternion. */
export function quatFromMatrix3(m: ArrayLike<number>): Quat {
  const [m00, m01, m02, m10, m11, m12, m20, m21, m22] = [m[0]!, m[1]!, m[2]!, m[3]!, m[4]!, m[5]!, m[6]!, m[7]!, m[8]!];
  const trace = m00 + m11 + m22;
  let q: Quat;
  if (trace > 0) {
    const s = 0.5 / Math.sqrt(trace + 1);
    q = [(m21 - m12) * s, (m02 - m20) * s, (m10 - m01) * s, 0.25 / s];
  } else if (m00 > m11 && m00 > m22) {
    const s = 2 * Math.sqrt(1 + m00 - m11 - m22);
    q = [0.25 * s, (m01 + m10) / s, (m02 + m20) / s, (m21 - m12) / s];
  } else if (m11 > m22) {
    const s = 2 * Math.sqrt(1 + m11 - m00 - m22);
    q = [(m01 + m10) / s, 0.25 * s, (m12 + m21) / s, (m02 - m20) / s];
  } else {
    const s = 2 * Math.sqrt(1 + m22 - m00 - m11);
    q = [(m02 + m20) / s, (m12 + m21) / s, 0.25 * s, (m10 - m01) / s];
  }
  return quatNormalize(q);
}

/** Row-major 3x4 [R|t] -> pose. */
export function poseFromMatrix3x4(m: ArrayLike<number>): Pose {
  return {
    rotation: quatFromMatrix3([m[0]!, m[1]!, m[2]!, m[4]!, m[5]!, m[6]!, m[8]!, m[9]!, m[10]!]),
    translation: [m[3]!, m[7]!, m[11]!],
  };
}

interface Sample {
  timeNs: bigint;
  pose: Pose;
}

/** Time-indexed transform tree. Static edges hold one sample valid at all times. */
export class TransformTree {
  /** child frame -> its parent and samples (a frame has one parent, as in tf2). */
  private readonly edges = new Map<string, { parent: string; static: boolean; samples: Sample[] }>();

  /** Max gap over which a dynamic edge is extrapolated (held) past its first/last sample. */
  constructor(private readonly maxExtrapolationNs = 100_000_000n) {}

  add(parent: string, child: string, timeNs: bigint, pose: Pose, isStatic = false): void {
    let edge = this.edges.get(child);
    if (!edge || edge.parent !== parent) {
      edge = { parent, static: isStatic, samples: [] };
      this.edges.set(child, edge);
    }
    if (isStatic) {
      edge.static = true;
      edge.samples = [{ timeNs: 0n, pose }];
      return;
    }
    const samples = edge.samples;
    // Keep samples sorted; inserts are mostly appends.
    let i = samples.length;
    while (i > 0 && samples[i - 1]!.timeNs > timeNs) i--;
    if (i > 0 && samples[i - 1]!.timeNs === timeNs) samples[i - 1] = { timeNs, pose };
    else samples.splice(i, 0, { timeNs, pose });
  }

  hasFrame(frame: string): boolean {
    if (this.edges.has(frame)) return true;
    for (const edge of this.edges.values()) if (edge.parent === frame) return true;
    return false;
  }

  frames(): string[] {
    const names = new Set<string>();
    for (const [child, edge] of this.edges) {
      names.add(child);
      names.add(edge.parent);
    }
    return [...names];
  }

  parentOf(frame: string): string | undefined {
    return this.edges.get(frame)?.parent;
  }

  /** parent <- child along one edge at a time, or undefined when out of range. */
  private edgePose(child: string, timeNs: bigint): Pose | undefined {
    const edge = this.edges.get(child);
    if (!edge) return undefined;
    const s = edge.samples;
    if (edge.static || s.length === 1) {
      if (edge.static) return s[0]!.pose;
      const only = s[0]!;
      const gap = only.timeNs > timeNs ? only.timeNs - timeNs : timeNs - only.timeNs;
      return gap <= this.maxExtrapolationNs ? only.pose : undefined;
    }
    if (s.length === 0) return undefined;
    if (timeNs <= s[0]!.timeNs) return s[0]!.timeNs - timeNs <= this.maxExtrapolationNs ? s[0]!.pose : undefined;
    const last = s[s.length - 1]!;
    if (timeNs >= last.timeNs) return timeNs - last.timeNs <= this.maxExtrapolationNs ? last.pose : undefined;
    let lo = 0;
    let hi = s.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (s[mid]!.timeNs <= timeNs) lo = mid;
      else hi = mid;
    }
    const a = s[lo]!;
    const b = s[hi]!;
    const t = Number(timeNs - a.timeNs) / Number(b.timeNs - a.timeNs);
    return interpolatePose(a.pose, b.pose, t);
  }

  /** root <- frame, with the chain of frames walked. */
  private toRoot(frame: string, timeNs: bigint): { root: string; pose: Pose } | undefined {
    let pose = IDENTITY_POSE;
    let current = frame;
    for (let depth = 0; depth < 64; depth++) {
      const edge = this.edges.get(current);
      if (!edge) return { root: current, pose };
      const step = this.edgePose(current, timeNs);
      if (!step) return undefined;
      pose = composePoses(step, pose);
      current = edge.parent;
    }
    return undefined; // a cycle: tf data is malformed
  }

  /** target <- source at a time, or undefined when the frames are unconnected or out of time range. */
  lookup(target: string, source: string, timeNs: bigint): Pose | undefined {
    if (target === source) return IDENTITY_POSE;
    const a = this.toRoot(source, timeNs);
    const b = this.toRoot(target, timeNs);
    if (!a || !b || a.root !== b.root) return undefined;
    return composePoses(invertPose(b.pose), a.pose);
  }
}
