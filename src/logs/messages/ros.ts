// Adapters from decoded ROS 1 / ROS 2 messages (sensor_msgs, tf2_msgs, nav_msgs, vision_msgs,
// visualization_msgs) to the same intermediate shapes the Foxglove adapters produce.
import type { Box2D, Vec3 } from '../model.js';
import { applyPose, yawFromQuat } from '../transforms.js';
import type { PlainMessage } from './decoders.js';
import { toIntrinsics, toPointCloud, toPose, type DecodedPoints, type FoxgloveTransform, type SceneBoxes } from './foxglove.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});
// ROS decoders give fixed-size numeric arrays (CameraInfo k, p) as typed arrays.
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number>) : []);
const num = (v: unknown, fallback = 0): number => {
  const n = typeof v === 'string' ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isFinite(n) ? n : fallback;
};
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** header.stamp in ns; ROS 1 uses {sec, nsec}, ROS 2 {sec, nanosec}. */
export function rosStampNs(message: Obj): bigint | undefined {
  const stamp = obj(obj(message.header).stamp);
  if (stamp.sec === undefined) return undefined;
  return BigInt(Math.trunc(num(stamp.sec))) * 1_000_000_000n + BigInt(Math.trunc(num(stamp.nanosec ?? stamp.nsec)));
}

export const rosFrameId = (message: Obj): string => str(obj(message.header).frame_id).replace(/^\//, '');

export function rosTransforms(message: PlainMessage): FoxgloveTransform[] {
  const list = Array.isArray(message.transforms) ? arr(message.transforms).map(obj) : [message];
  return list.map((t) => {
    const tf = obj(t.transform);
    return {
      timeNs: rosStampNs(t),
      parent: rosFrameId(t),
      child: str(t.child_frame_id).replace(/^\//, ''),
      pose: toPose({ translation: tf.translation, rotation: tf.rotation }),
    };
  });
}

/** nav_msgs/Odometry is a transform parent (header) <- child_frame_id. */
export function rosOdometry(message: PlainMessage): FoxgloveTransform[] {
  return [{ timeNs: rosStampNs(message), parent: rosFrameId(message), child: str(message.child_frame_id).replace(/^\//, ''), pose: toPose(obj(message.pose).pose) }];
}

export function rosPoseStamped(message: PlainMessage) {
  return { timeNs: rosStampNs(message), frameId: rosFrameId(message), pose: toPose(message.pose) };
}

const IMAGE_FORMATS: Record<string, 'jpeg' | 'png' | 'webp'> = { jpeg: 'jpeg', jpg: 'jpeg', png: 'png', webp: 'webp' };

export function rosCompressedImage(message: PlainMessage) {
  // e.g. "png", "jpeg", or "bgr8; jpeg compressed bgr8"
  const raw = str(message.format).toLowerCase();
  const key = Object.keys(IMAGE_FORMATS).find((k) => raw.includes(k));
  return { format: key ? IMAGE_FORMATS[key]! : ('jpeg' as const), data: message.data instanceof Uint8Array ? message.data : new Uint8Array(), frameId: rosFrameId(message) };
}

export interface RawImage {
  width: number;
  height: number;
  encoding: string;
  step: number;
  data: Uint8Array;
  frameId: string;
}

export function rosRawImage(message: PlainMessage): RawImage {
  return {
    width: num(message.width),
    height: num(message.height),
    encoding: str(message.encoding),
    step: num(message.step),
    data: message.data instanceof Uint8Array ? message.data : new Uint8Array(),
    frameId: rosFrameId(message),
  };
}

/** CameraInfo: P applies to the rectified frame; R rotates the camera frame into it, so fold R into P. */
export function rosCameraInfo(message: PlainMessage) {
  const intrinsics = toIntrinsics(message);
  const R = arr(message.R ?? message.r).map((v) => num(v));
  if (R.length === 9 && intrinsics.P.length === 12) {
    const P = intrinsics.P;
    const folded: number[] = [];
    for (let row = 0; row < 3; row++) {
      for (let col = 0; col < 3; col++) {
        folded.push(P[row * 4]! * R[col]! + P[row * 4 + 1]! * R[3 + col]! + P[row * 4 + 2]! * R[6 + col]!);
      }
      folded.push(P[row * 4 + 3]!);
    }
    intrinsics.P = folded;
  }
  return { intrinsics, frameId: rosFrameId(message) };
}

// sensor_msgs/PointField datatype -> foxglove.PackedElementField.NumericType
const ROS_TO_FOXGLOVE_TYPE: Record<number, number> = { 1: 2, 2: 1, 3: 4, 4: 3, 5: 6, 6: 5, 7: 7, 8: 8 };

export function rosPointCloud2(message: PlainMessage): DecodedPoints {
  if (message.is_bigendian === true) {
    return { frameId: rosFrameId(message), count: 0, positions: new Float32Array(), fields: {}, droppedNonFinite: 0, warnings: ['big-endian PointCloud2 is not supported'] };
  }
  const fields = arr(message.fields).map((f) => {
    const o = obj(f);
    return { name: str(o.name), offset: num(o.offset), type: ROS_TO_FOXGLOVE_TYPE[num(o.datatype)] ?? 0 };
  });
  const decoded = toPointCloud({ frame_id: rosFrameId(message), point_stride: num(message.point_step), fields, data: message.data });
  const expected = num(message.width) * num(message.height);
  if (decoded.count + decoded.droppedNonFinite < expected) decoded.warnings.push(`PointCloud2 holds ${expected} points but its data has ${decoded.count + decoded.droppedNonFinite}`);
  return decoded;
}

export function rosPath(message: PlainMessage): { frameId: string; timeNs?: bigint; points: Vec3[] } {
  return {
    frameId: rosFrameId(message),
    timeNs: rosStampNs(message),
    points: arr(message.poses).map((p) => toPose(obj(p).pose).translation),
  };
}

function hypothesis(detection: Obj): { label: string; score?: number } {
  const best = arr(detection.results)
    .map(obj)
    .map((r) => {
      const h = obj(r.hypothesis ?? r); // ROS 2 nests {class_id, score}; ROS 1 has {id, score}
      return { label: str(h.class_id) || String(h.id ?? '') || 'object', score: num(h.score, NaN) };
    })
    .sort((a, b) => (b.score || 0) - (a.score || 0))[0];
  return best ? { label: best.label, score: Number.isFinite(best.score) ? best.score : undefined } : { label: 'object' };
}

export function rosDetection2DArray(message: PlainMessage, sensorId: string, idPrefix: string): Box2D[] {
  return arr(message.detections).map((d, i) => {
    const det = obj(d);
    const bbox = obj(det.bbox);
    const center = obj(bbox.center);
    const position = center.position ? obj(center.position) : center; // vision_msgs >= 3 nests position
    const cx = num(position.x);
    const cy = num(position.y);
    const w = num(bbox.size_x);
    const h = num(bbox.size_y);
    const { label, score } = hypothesis(det);
    return { id: `${idPrefix}:${i}`, sensorId, label, x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2, score, trackId: str(det.id) || undefined };
  });
}

export function rosDetection3DArray(message: PlainMessage): SceneBoxes[] {
  const frameId = rosFrameId(message);
  const boxes = arr(message.detections).map((d, i) => {
    const det = obj(d);
    const bbox = obj(det.bbox);
    const pose = toPose(bbox.center);
    const size = obj(bbox.size);
    const { label, score } = hypothesis(det);
    const id = str(det.id) || String(i);
    return { id, label, center: pose.translation, size: [num(size.x), num(size.y), num(size.z)] as Vec3, yaw: yawFromQuat(pose.rotation), score, trackId: str(det.id) || undefined, pose };
  });
  return [{ frameId, timeNs: rosStampNs(message), boxes, lines: [] }];
}

const MARKER_CUBE = 1;
const MARKER_LINE_STRIP = 4;
const MARKER_LINE_LIST = 5;
const MARKER_ADD = 0;

export function rosMarkerArray(message: PlainMessage): SceneBoxes[] {
  return arr(message.markers).map((m) => {
    const marker = obj(m);
    const frameId = rosFrameId(marker);
    const pose = toPose(marker.pose);
    const id = `${str(marker.ns)}/${num(marker.id)}`;
    const label = str(marker.text) || str(marker.ns) || 'object';
    const out: SceneBoxes = { frameId, timeNs: rosStampNs(marker), boxes: [], lines: [] };
    if (num(marker.action) !== MARKER_ADD) return out;
    const type = num(marker.type);
    if (type === MARKER_CUBE) {
      const scale = obj(marker.scale);
      out.boxes.push({ id, label, center: pose.translation, size: [num(scale.x), num(scale.y), num(scale.z)], yaw: yawFromQuat(pose.rotation), trackId: id, pose });
    } else if (type === MARKER_LINE_STRIP || type === MARKER_LINE_LIST) {
      out.lines.push({ id, frameId, points: arr(marker.points).map((p) => applyPose(pose, [num(obj(p).x), num(obj(p).y), num(obj(p).z)])) });
    }
    return out;
  });
}
