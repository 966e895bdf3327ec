// Box arithmetic for editing: keyframe interpolation (linear position and size, shortest-arc yaw)
// and clamping 2D boxes to the image.
import type { Vec3 } from '../logs/model.js';
import type { LabelBox2D, LabelBox3D } from '../store/labelEvents.js';

/** An angle wrapped into (−π, π]. */
export function wrapAngle(a: number): number {
  let r = a % (2 * Math.PI);
  if (r <= -Math.PI) r += 2 * Math.PI;
  else if (r > Math.PI) r -= 2 * Math.PI;
  return r;
}

/** The signed smallest rotation from a to b, in (−π, π]. */
export function shortestArc(a: number, b: number): number {
  return wrapAngle(b - a);
}

const lerp = (a: number, b: number, t: number): number => a + (b - a) * t;

export function interpolateBox3D(a: LabelBox3D, b: LabelBox3D, t: number): LabelBox3D {
  return {
    center: [0, 1, 2].map((i) => lerp(a.center[i]!, b.center[i]!, t)) as Vec3,
    size: [0, 1, 2].map((i) => lerp(a.size[i]!, b.size[i]!, t)) as Vec3,
    yaw: wrapAngle(a.yaw + t * shortestArc(a.yaw, b.yaw)),
  };
}

export function interpolateBox2D(a: LabelBox2D, b: LabelBox2D, t: number): LabelBox2D {
  return { sensorId: a.sensorId, x1: lerp(a.x1, b.x1, t), y1: lerp(a.y1, b.y1, t), x2: lerp(a.x2, b.x2, t), y2: lerp(a.y2, b.y2, t) };
}

/** The box clamped to [0, width] × [0, height]; undefined when nothing of it is inside the image. */
export function clampBox2D(b: LabelBox2D, width: number, height: number): LabelBox2D | undefined {
  const x1 = Math.min(Math.max(b.x1, 0), width);
  const x2 = Math.min(Math.max(b.x2, 0), width);
  const y1 = Math.min(Math.max(b.y1, 0), height);
  const y2 = Math.min(Math.max(b.y2, 0), height);
  if (x2 <= x1 || y2 <= y1) return undefined;
  return { sensorId: b.sensorId, x1, y1, x2, y2 };
}

/** Stamp of a frame id `${logId}:${stampNs}` (log ids contain no colon). */
export function stampOfFrameId(frameId: string): bigint | undefined {
  const stamp = frameId.slice(frameId.lastIndexOf(':') + 1);
  return /^-?\d+$/.test(stamp) ? BigInt(stamp) : undefined;
}

/**
 * Attributes computed from a box's 3D geometry (KITTI's observation angle alpha depends on the box's
 * position and yaw). An edit that moves or turns the 3D box drops them, so exports derive them afresh
 * instead of writing a stale value; untouched boxes keep their original digits.
 */
export const GEOMETRY_DERIVED_ATTRIBUTES: readonly string[] = ['alpha'];

export function sameBox3D(a: LabelBox3D | null, b: LabelBox3D | null): boolean {
  if (!a || !b) return a === b;
  return a.yaw === b.yaw && a.center.every((v, i) => v === b.center[i]) && a.size.every((v, i) => v === b.size[i]);
}
