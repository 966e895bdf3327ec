// Adapters from decoded Foxglove schema messages (foxglove.*) to the drive model.
import type { Box2D, Box3D, CameraImage, CameraIntrinsics, Pose, Vec3 } from '../model.js';
import { applyPose, composePoses, rotateVector, yawFromQuat } from '../transforms.js';
import type { PlainMessage } from './decoders.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});
const num = (v: unknown, fallback = 0): number => {
  const n = typeof v === 'string' ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isFinite(n) ? n : fallback;
};
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
// ROS decoders give fixed-size numeric arrays (CameraInfo k, p) as typed arrays.
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number>) : []);
const bytes = (v: unknown): Uint8Array => (v instanceof Uint8Array ? v : new Uint8Array());

export function stampNsOf(message: PlainMessage, key = 'timestamp'): bigint | undefined {
  const t = message[key];
  if (!t || typeof t !== 'object') return undefined;
  const o = t as Obj;
  const sec = o.seconds ?? o.sec;
  const nsec = o.nanos ?? o.nsec ?? o.nanosec;
  if (sec === undefined) return undefined;
  return BigInt(String(sec)) * 1_000_000_000n + BigInt(String(nsec ?? 0));
}

export function toPose(value: unknown): Pose {
  const o = obj(value);
  const p = obj(o.position ?? o.translation);
  const q = obj(o.orientation ?? o.rotation);
  const hasQ = q.x !== undefined || q.y !== undefined || q.z !== undefined || q.w !== undefined;
  return {
    translation: [num(p.x), num(p.y), num(p.z)],
    rotation: hasQ ? [num(q.x), num(q.y), num(q.z), num(q.w, 1)] : [0, 0, 0, 1],
  };
}

export interface FoxgloveTransform {
  timeNs: bigint | undefined;
  parent: string;
  child: string;
  pose: Pose;
}

export function toTransforms(schemaName: string, message: PlainMessage): FoxgloveTransform[] {
  const list = schemaName === 'foxglove.FrameTransforms' ? arr(message.transforms).map(obj) : [message];
  return list.map((t) => ({
    timeNs: stampNsOf(t),
    parent: str(t.parent_frame_id),
    child: str(t.child_frame_id),
    pose: toPose({ translation: t.translation, rotation: t.rotation }),
  }));
}

export function toPoseInFrame(message: PlainMessage): { timeNs?: bigint; frameId: string; pose: Pose } {
  return { timeNs: stampNsOf(message), frameId: str(message.frame_id), pose: toPose(message.pose) };
}

export function toIntrinsics(message: PlainMessage): CameraIntrinsics {
  const K = arr(message.K ?? message.k).map((v) => num(v));
  let P = arr(message.P ?? message.p).map((v) => num(v));
  if (P.length !== 12 && K.length === 9) P = [K[0]!, K[1]!, K[2]!, 0, K[3]!, K[4]!, K[5]!, 0, K[6]!, K[7]!, K[8]!, 0];
  return {
    width: num(message.width),
    height: num(message.height),
    K,
    P,
    distortionModel: str(message.distortion_model),
    D: arr(message.D ?? message.d).map((v) => num(v)),
  };
}

const IMAGE_FORMATS: Record<string, CameraImage['format']> = { jpeg: 'jpeg', jpg: 'jpeg', png: 'png', webp: 'webp' };

export function toCompressedImage(message: PlainMessage): { format: CameraImage['format']; data: Uint8Array; frameId: string } {
  const raw = str(message.format).toLowerCase();
  const format = IMAGE_FORMATS[raw] ?? (raw.includes('png') ? 'png' : 'jpeg');
  return { format, data: bytes(message.data), frameId: str(message.frame_id) };
}

// foxglove.PackedElementField.NumericType
const NUMERIC_READERS: Record<number, [size: number, read: (v: DataView, o: number) => number]> = {
  1: [1, (v, o) => v.getUint8(o)],
  2: [1, (v, o) => v.getInt8(o)],
  3: [2, (v, o) => v.getUint16(o, true)],
  4: [2, (v, o) => v.getInt16(o, true)],
  5: [4, (v, o) => v.getUint32(o, true)],
  6: [4, (v, o) => v.getInt32(o, true)],
  7: [4, (v, o) => v.getFloat32(o, true)],
  8: [8, (v, o) => v.getFloat64(o, true)],
};

/** One numeric field of every point into `out`, in a loop specialised for the field's type. */
function readColumn(view: DataView, field: { offset: number; read: (v: DataView, o: number) => number }, stride: number, total: number, out: Float32Array): void {
  const { offset, read } = field;
  if (read === NUMERIC_READERS[7]![1]) {
    for (let i = 0, o = offset; i < total; i++, o += stride) out[i] = view.getFloat32(o, true);
  } else if (read === NUMERIC_READERS[3]![1]) {
    for (let i = 0, o = offset; i < total; i++, o += stride) out[i] = view.getUint16(o, true);
  } else if (read === NUMERIC_READERS[1]![1]) {
    for (let i = 0, o = offset; i < total; i++, o += stride) out[i] = view.getUint8(o);
  } else if (read === NUMERIC_READERS[8]![1]) {
    for (let i = 0, o = offset; i < total; i++, o += stride) out[i] = view.getFloat64(o, true);
  } else {
    for (let i = 0, o = offset; i < total; i++, o += stride) out[i] = read(view, o);
  }
}

export interface DecodedPoints {
  frameId: string;
  count: number;
  positions: Float32Array;
  fields: Record<string, Float32Array>;
  /** Points dropped because a coordinate was NaN or infinite. */
  droppedNonFinite: number;
  warnings: string[];
}

/** foxglove.PointCloud -> typed arrays, dropping non-finite points and applying the cloud's own pose. */
export function toPointCloud(message: PlainMessage): DecodedPoints {
  const data = bytes(message.data);
  const stride = num(message.point_stride);
  const warnings: string[] = [];
  const fields = arr(message.fields).map(obj);
  const byName = new Map(fields.map((f) => [str(f.name), f]));
  const reader = (name: string) => {
    const f = byName.get(name);
    if (!f) return undefined;
    const r = NUMERIC_READERS[num(f.type)];
    return r ? { offset: num(f.offset), size: r[0], read: r[1] } : undefined;
  };
  const x = reader('x');
  const y = reader('y');
  const z = reader('z');
  if (!x || !y || stride <= 0) {
    return { frameId: str(message.frame_id), count: 0, positions: new Float32Array(), fields: {}, droppedNonFinite: 0, warnings: ['point cloud without x/y fields or stride'] };
  }
  let total = Math.floor(data.byteLength / stride);
  if (data.byteLength % stride !== 0) warnings.push(`point data length ${data.byteLength} is not a multiple of the stride ${stride}`);
  for (const f of [x, y, z]) if (f && f.offset + f.size > stride) total = 0;
  const extras = [...byName.keys()].filter((n) => !['x', 'y', 'z'].includes(n)).map((n) => [n, reader(n)] as const);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const positions = new Float32Array(total * 3);
  const extraArrays = extras.map(() => new Float32Array(total));
  let n = 0;
  let dropped = 0;
  const isFloat32 = (f: { size: number; read: unknown; offset: number } | undefined) => !!f && f.size === 4 && f.read === NUMERIC_READERS[7]![1] && f.offset % 4 === 0;
  if (isFloat32(x) && isFloat32(y) && (!z || isFloat32(z)) && stride % 4 === 0) {
    // Typical lidar layout (float32 fields, 4-byte aligned): read through one Float32Array view.
    const aligned = data.byteOffset % 4 === 0 ? data : new Uint8Array(data); // a copy: Buffer#slice is a view
    const floats = new Float32Array(aligned.buffer, aligned.byteOffset, Math.floor(aligned.byteLength / 4));
    const step = stride / 4;
    const ox = x.offset / 4;
    const oy = y.offset / 4;
    const oz = z ? z.offset / 4 : -1;
    const extraOffsets = extras.map(([, r]) => (r && isFloat32(r) ? r.offset / 4 : -1));
    for (let i = 0, base = 0; i < total; i++, base += step) {
      const px = floats[base + ox]!;
      const py = floats[base + oy]!;
      const pz = oz >= 0 ? floats[base + oz]! : 0;
      if (!Number.isFinite(px) || !Number.isFinite(py) || !Number.isFinite(pz)) {
        dropped++;
        continue;
      }
      const o = n * 3;
      positions[o] = px;
      positions[o + 1] = py;
      positions[o + 2] = pz;
      for (let e = 0; e < extraOffsets.length; e++) {
        const r = extras[e]![1];
        if (extraOffsets[e]! >= 0) extraArrays[e]![n] = floats[base + extraOffsets[e]!]!;
        else if (r) extraArrays[e]![n] = r.read(view, i * stride + r.offset);
      }
      n++;
    }
  } else {
    // Packed layouts (e.g. x y z intensity float32 + ring uint16, stride 18): each column in its own
    // type-specialised loop, so no per-point call goes through a reader chosen at run time.
    const xs = new Float32Array(total);
    const ys = new Float32Array(total);
    const zs = z ? new Float32Array(total) : null;
    readColumn(view, x, stride, total, xs);
    readColumn(view, y, stride, total, ys);
    if (z && zs) readColumn(view, z, stride, total, zs);
    const keep = new Uint8Array(total);
    for (let i = 0; i < total; i++) {
      const px = xs[i]!;
      const py = ys[i]!;
      const pz = zs ? zs[i]! : 0;
      if (!Number.isFinite(px) || !Number.isFinite(py) || !Number.isFinite(pz)) {
        dropped++;
        continue;
      }
      keep[i] = 1;
      const o = n * 3;
      positions[o] = px;
      positions[o + 1] = py;
      positions[o + 2] = pz;
      n++;
    }
    extras.forEach(([, r], e) => {
      if (!r) return;
      const column = extraArrays[e]!;
      readColumn(view, r, stride, total, column);
      if (dropped > 0) {
        let m = 0;
        for (let i = 0; i < total; i++) if (keep[i]) column[m++] = column[i]!;
      }
    });
  }
  if (dropped > 0) warnings.push(`${dropped} points with NaN or infinite coordinates dropped`);
  const pose = toPose(message.pose);
  const isIdentity = pose.translation.every((v) => v === 0) && pose.rotation[3] === 1;
  if (!isIdentity) {
    for (let i = 0; i < n; i++) {
      const p = applyPose(pose, [positions[i * 3]!, positions[i * 3 + 1]!, positions[i * 3 + 2]!]);
      positions.set(p, i * 3);
    }
  }
  const out: Record<string, Float32Array> = {};
  extras.forEach(([name, r], e) => {
    if (r) out[name] = n === total ? extraArrays[e]! : extraArrays[e]!.slice(0, n);
  });
  return {
    frameId: str(message.frame_id),
    count: n,
    positions: n === total ? positions : positions.slice(0, n * 3),
    fields: out,
    droppedNonFinite: dropped,
    warnings,
  };
}

export interface SceneBoxes {
  frameId: string;
  timeNs?: bigint;
  boxes: Array<Box3D & { pose: Pose }>;
  lines: Array<{ id: string; frameId: string; points: Vec3[] }>;
}

/** foxglove.SceneUpdate -> boxes (cubes) and polylines (line primitives), in each entity's frame. */
export function toSceneUpdate(message: PlainMessage): SceneBoxes[] {
  return arr(message.entities).map((raw) => {
    const e = obj(raw);
    const metadata = Object.fromEntries(arr(e.metadata).map((kv) => [str(obj(kv).key), str(obj(kv).value)]));
    const id = str(e.id);
    const label = metadata.class ?? metadata.label ?? metadata.category ?? (id.split(/[:/]/)[0] || 'object');
    const boxes = arr(e.cubes).map((c, i) => {
      const cube = obj(c);
      const pose = toPose(cube.pose);
      const size = obj(cube.size);
      return {
        id: arr(e.cubes).length > 1 ? `${id}#${i}` : id,
        label,
        center: pose.translation,
        size: [num(size.x), num(size.y), num(size.z)] as Vec3,
        yaw: yawFromQuat(pose.rotation),
        trackId: metadata.track_id ?? (id || undefined),
        attributes: metadata,
        pose,
      };
    });
    const lines = arr(e.lines).map((l, i) => {
      const line = obj(l);
      const pose = toPose(line.pose);
      return {
        id: `${id}#line${i}`,
        frameId: str(e.frame_id),
        points: arr(line.points).map((p) => applyPose(pose, [num(obj(p).x), num(obj(p).y), num(obj(p).z)])),
      };
    });
    return { frameId: str(e.frame_id), timeNs: stampNsOf(e), boxes, lines };
  });
}

/**
 * Re-expresses a box given in `frame` into the ego frame with the ego <- frame pose. The box's
 * local axes may be arbitrary (a KITTI cuboid in a camera frame has its height along local y):
 * the local axis that ends up most vertical gives the height, the first horizontal one the heading.
 */
export function boxToEgo(box: Box3D & { pose: Pose }, egoFromFrame: Pose): Box3D {
  const pose = composePoses(egoFromFrame, box.pose);
  const { pose: _unused, ...rest } = box;
  const axes: Vec3[] = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ].map((a) => rotateVector(pose.rotation, a as Vec3));
  let vertical = 2;
  for (let i = 0; i < 3; i++) if (Math.abs(axes[i]![2]) > Math.abs(axes[vertical]![2])) vertical = i;
  if (vertical === 2) return { ...rest, center: pose.translation, yaw: yawFromQuat(pose.rotation) };
  const [lengthAxis, widthAxis] = [0, 1, 2].filter((i) => i !== vertical) as [number, number];
  const heading = axes[lengthAxis]!;
  return {
    ...rest,
    center: pose.translation,
    size: [box.size[lengthAxis]!, box.size[widthAxis]!, box.size[vertical]!],
    yaw: Math.atan2(heading[1], heading[0]),
  };
}

const LINE_LOOP = 2;

/** foxglove.ImageAnnotations -> 2D boxes: 4-point LINE_LOOPs, labelled by the text at their top-left corner. */
export function toImageBoxes(message: PlainMessage, sensorId: string, idPrefix: string): Box2D[] {
  const texts = arr(message.texts).map((t) => {
    const o = obj(t);
    const p = obj(o.position);
    return { x: num(p.x), y: num(p.y), text: str(o.text) };
  });
  const boxes: Box2D[] = [];
  arr(message.points).forEach((raw, i) => {
    const a = obj(raw);
    const pts = arr(a.points).map((p) => ({ x: num(obj(p).x), y: num(obj(p).y) }));
    if (num(a.type) !== LINE_LOOP || pts.length !== 4) return;
    const xs = pts.map((p) => p.x);
    const ys = pts.map((p) => p.y);
    const x1 = Math.min(...xs);
    const y1 = Math.min(...ys);
    const x2 = Math.max(...xs);
    const y2 = Math.max(...ys);
    let best: (typeof texts)[number] | undefined;
    let bestDist = 12; // px: a label further away than this belongs to another box
    for (const t of texts) {
      const d = Math.hypot(t.x - x1, t.y - y1);
      if (d < bestDist) {
        best = t;
        bestDist = d;
      }
    }
    const [label = 'object', trackId, score] = (best?.text ?? '').split(/\s+/);
    const parsedScore = score !== undefined ? Number(score) : trackId !== undefined && /^0?\.\d+$/.test(trackId) ? Number(trackId) : undefined;
    boxes.push({
      id: `${idPrefix}:${i}`,
      sensorId,
      label: label.toLowerCase() === 'dontcare' ? 'DontCare' : label,
      x1,
      y1,
      x2,
      y2,
      trackId: trackId && !/^0?\.\d+$/.test(trackId) ? trackId : undefined,
      score: parsedScore !== undefined && Number.isFinite(parsedScore) ? parsedScore : undefined,
      ignore: label.toLowerCase() === 'dontcare' || undefined,
    });
  });
  return boxes;
}
