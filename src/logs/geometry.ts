// Box and camera geometry shared by readers, evaluation and tests.
import type { Box3D, CameraIntrinsics, Pose, Vec3 } from './model.js';
import { applyPose, invertPose } from './transforms.js';

/** The 8 corners of a box in its parent frame: bottom face (z-) first, counter-clockwise from +x+y. */
export function boxCorners(box: Pick<Box3D, 'center' | 'size' | 'yaw'>): Vec3[] {
  const [l, w, h] = box.size;
  const c = Math.cos(box.yaw);
  const s = Math.sin(box.yaw);
  const out: Vec3[] = [];
  for (const dz of [-h / 2, h / 2]) {
    for (const [dx, dy] of [
      [l / 2, w / 2],
      [-l / 2, w / 2],
      [-l / 2, -w / 2],
      [l / 2, -w / 2],
    ] as const) {
      out.push([box.center[0] + c * dx - s * dy, box.center[1] + s * dx + c * dy, box.center[2] + dz]);
    }
  }
  return out;
}

/** Whether an ego-frame point lies inside a box (with an optional margin in metres). */
export function pointInBox(box: Pick<Box3D, 'center' | 'size' | 'yaw'>, p: Vec3, margin = 0): boolean {
  const dx = p[0] - box.center[0];
  const dy = p[1] - box.center[1];
  const c = Math.cos(-box.yaw);
  const s = Math.sin(-box.yaw);
  const lx = c * dx - s * dy;
  const ly = s * dx + c * dy;
  const lz = p[2] - box.center[2];
  return Math.abs(lx) <= box.size[0] / 2 + margin && Math.abs(ly) <= box.size[1] / 2 + margin && Math.abs(lz) <= box.size[2] / 2 + margin;
}

/** Projects a point given in the camera's optical frame with the 3x4 P; undefined behind the camera. */
export function projectCameraPoint(P: readonly number[], p: Vec3): [number, number] | undefined {
  const x = P[0]! * p[0] + P[1]! * p[1] + P[2]! * p[2] + P[3]!;
  const y = P[4]! * p[0] + P[5]! * p[1] + P[6]! * p[2] + P[7]!;
  const z = P[8]! * p[0] + P[9]! * p[1] + P[10]! * p[2] + P[11]!;
  if (z <= 1e-6) return undefined;
  return [x / z, y / z];
}

/** Projects an ego-frame point into a camera with extrinsic ego <- camera. */
export function projectEgoPoint(intrinsics: CameraIntrinsics, extrinsic: Pose, p: Vec3): [number, number] | undefined {
  return projectCameraPoint(intrinsics.P, applyPose(invertPose(extrinsic), p));
}

/** Tight image rectangle of a box's projected corners (corners behind the camera dropped), clipped to the image. */
export function projectBoxToRect(
  box: Pick<Box3D, 'center' | 'size' | 'yaw'>,
  intrinsics: CameraIntrinsics,
  extrinsic: Pose,
): { x1: number; y1: number; x2: number; y2: number } | undefined {
  const cameraFromEgo = invertPose(extrinsic);
  const pts = boxCorners(box)
    .map((c) => projectCameraPoint(intrinsics.P, applyPose(cameraFromEgo, c)))
    .filter((p): p is [number, number] => !!p);
  if (pts.length === 0) return undefined;
  const x1 = Math.max(0, Math.min(...pts.map((p) => p[0])));
  const y1 = Math.max(0, Math.min(...pts.map((p) => p[1])));
  const x2 = Math.min(intrinsics.width, Math.max(...pts.map((p) => p[0])));
  const y2 = Math.min(intrinsics.height, Math.max(...pts.map((p) => p[1])));
  if (x2 <= x1 || y2 <= y1) return undefined;
  return { x1, y1, x2, y2 };
}

export function rectIoU(a: { x1: number; y1: number; x2: number; y2: number }, b: { x1: number; y1: number; x2: number; y2: number }): number {
  const iw = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const ih = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const inter = iw * ih;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}
