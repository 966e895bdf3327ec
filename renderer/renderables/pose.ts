import { Matrix4, Quaternion, Vector3 } from 'three';
import type { Pose } from '../../src/logs/model.js';

const q = new Quaternion();
const t = new Vector3();
const one = new Vector3(1, 1, 1);

/** parent <- child as a 4x4 matrix (into `out`). */
export function poseToMatrix(pose: Pose, out: Matrix4): Matrix4 {
  const [x, y, z, w] = pose.rotation;
  q.set(x, y, z, w);
  if (q.lengthSq() < 1e-12) q.identity();
  else q.normalize();
  t.set(pose.translation[0], pose.translation[1], pose.translation[2]);
  return out.compose(t, q, one);
}
