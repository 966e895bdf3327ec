// The nuScenes detection submission format (nuscenes-devkit eval/detection, "results" JSON):
//   { meta: {use_camera, use_lidar, use_radar, use_map, use_external},
//     results: { <sample_token>: [ { sample_token, translation [x,y,z], size [w,l,h], rotation [w,x,y,z],
//                                     velocity [vx,vy], detection_name, detection_score, attribute_name } ] } }
// in the global (map) frame. Sightline keeps boxes in the ego frame, so export maps them with the frame's
// ego pose (world <- ego) and import maps them back with its inverse. Size order is width, length,
// height (Sightline: length, width, height); quaternions are w-first (Sightline: x, y, z, w). Ground
// truth has no score: like the devkit's DetectionBox it is written as −1, and read back as none.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LogError } from '../logs/errors.js';
import type { Pose, Quat, Vec3 } from '../logs/model.js';
import { applyPose, invertPose, quatConjugate, quatFromYaw, quatMultiply, quatNormalize, rotateVector, yawFromQuat } from '../logs/transforms.js';
import type { AttributeValue, LabelRecord, LabelValue } from '../store/labelEvents.js';
import type { IoLog } from './logAccess.js';
import { WarningList, type ImportedBox, type ReadResult, type WriteResult } from './types.js';

export const NUSCENES_DETECTION_NAMES = ['car', 'truck', 'bus', 'trailer', 'construction_vehicle', 'pedestrian', 'motorcycle', 'bicycle', 'traffic_cone', 'barrier'] as const;
export type NuscenesDetectionName = (typeof NUSCENES_DETECTION_NAMES)[number];

/** Valid attribute names per class (devkit: detection/configs and eval/common/loaders). */
export const NUSCENES_ATTRIBUTES: Record<NuscenesDetectionName, readonly string[]> = {
  car: ['vehicle.moving', 'vehicle.parked', 'vehicle.stopped'],
  truck: ['vehicle.moving', 'vehicle.parked', 'vehicle.stopped'],
  bus: ['vehicle.moving', 'vehicle.parked', 'vehicle.stopped'],
  trailer: ['vehicle.moving', 'vehicle.parked', 'vehicle.stopped'],
  construction_vehicle: ['vehicle.moving', 'vehicle.parked', 'vehicle.stopped'],
  pedestrian: ['pedestrian.moving', 'pedestrian.sitting_lying_down', 'pedestrian.standing'],
  motorcycle: ['cycle.with_rider', 'cycle.without_rider'],
  bicycle: ['cycle.with_rider', 'cycle.without_rider'],
  traffic_cone: [],
  barrier: [],
};

/** The devkit's limit per sample. */
export const MAX_BOXES_PER_SAMPLE = 500;

export interface NuscenesBox {
  sample_token: string;
  translation: Vec3;
  size: Vec3;
  rotation: [number, number, number, number];
  velocity: [number, number];
  detection_name: string;
  detection_score: number;
  attribute_name: string;
}

export interface NuscenesSubmission {
  meta: { use_camera: boolean; use_lidar: boolean; use_radar: boolean; use_map: boolean; use_external: boolean };
  results: Record<string, NuscenesBox[]>;
}

/** KITTI and Sightline driving classes in nuScenes' ten detection classes; undefined where none fits. */
const TO_NUSCENES: Record<string, NuscenesDetectionName> = {
  car: 'car', van: 'car', truck: 'truck', bus: 'bus', trailer: 'trailer', construction_vehicle: 'construction_vehicle',
  pedestrian: 'pedestrian', person_sitting: 'pedestrian', motorcycle: 'motorcycle', bicycle: 'bicycle', cyclist: 'bicycle',
  traffic_cone: 'traffic_cone', barrier: 'barrier',
};
export const nuscenesName = (label: string): NuscenesDetectionName | undefined => TO_NUSCENES[label.toLowerCase()];

/** mmdet3d's default: moving or parked/standing by speed, when the label carries no attribute. */
function defaultAttribute(name: NuscenesDetectionName, speed: number): string {
  if (['car', 'truck', 'bus', 'trailer', 'construction_vehicle'].includes(name)) return speed > 0.2 ? 'vehicle.moving' : 'vehicle.parked';
  if (name === 'pedestrian') return speed > 0.2 ? 'pedestrian.moving' : 'pedestrian.standing';
  if (name === 'motorcycle' || name === 'bicycle') return 'cycle.without_rider';
  return '';
}

const wxyz = (q: Quat): [number, number, number, number] => [q[3], q[0], q[1], q[2]];
const xyzw = (q: readonly number[]): Quat => [q[1]!, q[2]!, q[3]!, q[0]!];
const num = (v: AttributeValue | undefined): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export async function writeNuscenes(log: IoLog, labels: readonly LabelRecord[], out: string, options: { meta?: Partial<NuscenesSubmission['meta']> } = {}): Promise<WriteResult> {
  const warnings = new WarningList();
  const tokens = (await log.sampleTokens()) ?? log.frames.map((f) => f.id);
  if (log.info.format !== 'nuscenes') warnings.add(`${log.info.name} is a ${log.info.format} log, not nuScenes: sample_token is the Sightline frame id`);
  const frameIndex = new Map(log.frames.map((f) => [f.id, f.index]));
  const byFrame = new Map<number, LabelRecord[]>();
  let skipped = 0;
  const skip = (label: LabelRecord, why: string) => {
    skipped++;
    warnings.add(`label ${label.id} (${label.class}) not written: ${why}`);
  };
  for (const label of labels) {
    const index = frameIndex.get(label.frameId);
    if (index === undefined) skip(label, `frame ${label.frameId} is not a frame of ${log.info.name}`);
    else if (!label.box3d) skip(label, 'it has no 3D box');
    else if (!nuscenesName(label.class)) skip(label, `'${label.class}' is none of the nuScenes detection classes (${NUSCENES_DETECTION_NAMES.join(', ')})`);
    else byFrame.set(index, [...(byFrame.get(index) ?? []), label]);
  }
  // Every sample of the log is listed (the devkit requires all samples of the evaluated split).
  const results: Record<string, NuscenesBox[]> = {};
  let written = 0;
  for (let i = 0; i < log.frames.length; i++) {
    const token = tokens[i]!;
    results[token] = [];
    const frameLabels = byFrame.get(i);
    if (!frameLabels) continue;
    const ego = await log.egoPose(i);
    if (!ego) {
      for (const l of frameLabels) skip(l, `frame ${i} has no ego pose to map it into the global frame`);
      continue;
    }
    for (const label of frameLabels) {
      const box = label.box3d!;
      const name = nuscenesName(label.class)!;
      const egoVelocity: Vec3 = [num(label.attributes.velocity_x) ?? 0, num(label.attributes.velocity_y) ?? 0, 0];
      const velocity = rotateVector(ego.rotation, egoVelocity);
      const stored = label.attributes.attribute_name;
      const attribute =
        typeof stored === 'string' && (stored === '' ? NUSCENES_ATTRIBUTES[name].length === 0 : NUSCENES_ATTRIBUTES[name].includes(stored))
          ? stored
          : defaultAttribute(name, Math.hypot(velocity[0], velocity[1]));
      results[token]!.push({
        sample_token: token,
        translation: applyPose(ego, box.center),
        size: [box.size[1], box.size[0], box.size[2]],
        rotation: wxyz(quatNormalize(quatMultiply(ego.rotation, quatFromYaw(box.yaw)))),
        velocity: [velocity[0], velocity[1]],
        detection_name: name,
        detection_score: label.score ?? -1,
        attribute_name: attribute,
      });
      written++;
    }
    if (results[token]!.length > MAX_BOXES_PER_SAMPLE) warnings.add(`sample ${token} has ${results[token]!.length} boxes; the nuScenes evaluation accepts at most ${MAX_BOXES_PER_SAMPLE}`);
  }
  const submission: NuscenesSubmission = {
    meta: { use_camera: false, use_lidar: false, use_radar: false, use_map: false, use_external: false, ...options.meta },
    results,
  };
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(submission));
  return { files: [out], written, skipped, warnings: warnings.list() };
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const vector = (v: unknown, n: number): v is number[] => Array.isArray(v) && v.length === n && v.every(finite);

/** Checks one submission box against the documented fields; returns what is wrong, or undefined. */
export function nuscenesBoxProblem(b: unknown): string | undefined {
  if (typeof b !== 'object' || b === null) return 'not an object';
  const o = b as Record<string, unknown>;
  if (typeof o.sample_token !== 'string' || !o.sample_token) return 'sample_token must be a non-empty string';
  if (!vector(o.translation, 3)) return 'translation must be 3 numbers';
  if (!vector(o.size, 3) || o.size.some((v) => v < 0)) return 'size must be 3 non-negative numbers [w, l, h]';
  if (!vector(o.rotation, 4) || Math.abs(Math.hypot(...o.rotation) - 1) > 1e-3) return 'rotation must be a unit quaternion [w, x, y, z]';
  if (!vector(o.velocity, 2)) return 'velocity must be 2 numbers [vx, vy]';
  if (typeof o.detection_name !== 'string' || !NUSCENES_DETECTION_NAMES.includes(o.detection_name as NuscenesDetectionName)) return `detection_name must be one of ${NUSCENES_DETECTION_NAMES.join(', ')}`;
  if (!finite(o.detection_score)) return 'detection_score must be a number';
  if (typeof o.attribute_name !== 'string') return 'attribute_name must be a string';
  const allowed = NUSCENES_ATTRIBUTES[o.detection_name as NuscenesDetectionName];
  if (o.attribute_name !== '' && !allowed.includes(o.attribute_name)) {
    return `attribute_name '${o.attribute_name}' is not valid for ${o.detection_name} (${allowed.length ? allowed.join(', ') : 'none, use ""'})`;
  }
  return undefined;
}

export async function readNuscenes(log: IoLog, path: string): Promise<ReadResult> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new LogError(`No such file: ${path}`, { path });
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (error) {
    throw new LogError(`${path} is not valid JSON: ${(error as Error).message}`, { path });
  }
  const results = (raw as { results?: unknown })?.results;
  if (typeof results !== 'object' || results === null || Array.isArray(results)) {
    throw new LogError(`${path} is not a nuScenes detection submission: expected {"meta": …, "results": {<sample_token>: [boxes]}}`, { path, offset: 0 });
  }
  const warnings = new WarningList();
  const tokens = (await log.sampleTokens()) ?? log.frames.map((f) => f.id);
  const frameOf = new Map(tokens.map((t, i) => [t, i]));
  const boxes: ImportedBox[] = [];
  const covered = new Set<number>();
  const poses = new Map<number, Pose | undefined>();
  for (const [token, list] of Object.entries(results as Record<string, unknown>)) {
    const index = frameOf.get(token);
    if (index === undefined) {
      warnings.add(`${path}: results.${token}: no sample with this token in ${log.info.name}; skipped`);
      continue;
    }
    covered.add(index);
    if (!Array.isArray(list)) {
      warnings.add(`${path}: results.${token} is not a list; skipped`);
      continue;
    }
    if (!poses.has(index)) poses.set(index, await log.egoPose(index));
    const ego = poses.get(index);
    if (list.length && !ego) {
      warnings.add(`${path}: results.${token}: frame ${index} has no ego pose to map global boxes into the ego frame; skipped`);
      continue;
    }
    const egoFromWorld = ego && invertPose(ego);
    for (let k = 0; k < list.length; k++) {
      const where = `${path} results.${token}[${k}]`;
      const problem = nuscenesBoxProblem(list[k]);
      if (problem && !/attribute_name/.test(problem)) {
        warnings.add(`${where}: ${problem}; skipped`);
        continue;
      }
      if (problem) warnings.add(`${where}: ${problem}; kept`);
      const b = list[k] as NuscenesBox;
      if (b.sample_token !== token) warnings.add(`${where}: sample_token ${b.sample_token} differs from its key; the key wins`);
      const qEgo = quatMultiply(quatConjugate(ego!.rotation), quatNormalize(xyzw(b.rotation)));
      // The file's velocity is the global xy of a velocity that is horizontal in the ego frame (as
      // exported, and as mmdet3d rotates it): recover the global z that keeps it horizontal, so the
      // round trip is exact rather than off by the ego's pitch and roll.
      const toEgo = egoFromWorld!.rotation;
      const zOf = (axis: Vec3) => rotateVector(toEgo, axis)[2];
      const c = zOf([0, 0, 1]);
      const gz = Math.abs(c) > 1e-6 ? -(zOf([1, 0, 0]) * b.velocity[0] + zOf([0, 1, 0]) * b.velocity[1]) / c : 0;
      const v = rotateVector(toEgo, [b.velocity[0], b.velocity[1], gz]);
      const attributes: Record<string, AttributeValue> = { velocity_x: v[0], velocity_y: v[1] };
      if (b.attribute_name) attributes.attribute_name = b.attribute_name;
      const value: LabelValue = {
        frameId: log.frames[index]!.id,
        class: b.detection_name,
        box2d: null,
        box3d: { center: applyPose(egoFromWorld!, b.translation), size: [b.size[1], b.size[0], b.size[2]], yaw: yawFromQuat(qEgo) },
        trackId: null,
        score: b.detection_score === -1 ? null : b.detection_score,
        attributes,
        sourceDetectionId: null,
      };
      boxes.push({ frameIndex: index, value, where });
    }
  }
  return { boxes, warnings: warnings.list(), files: [path], frames: covered };
}
