// What both nuScenes layouts (v1.0 tables, mmdet3d info.json) reduce to at open: channels, frames
// with one keyframe per channel, and lazy label and trajectory lookups. nuscenesLog.ts turns this
// into a DriveLog.
import { LogError } from '../errors.js';
import type { Box2D, Box3D, Pose, Quat, StreamInfo, Vec3 } from '../model.js';
import type { NuscenesLayout } from './layout.js';

export type Modality = 'camera' | 'lidar' | 'radar' | 'other';

export interface ChannelInfo {
  channel: string;
  modality: Modality;
  /** ego <- sensor, the first calibration seen for this channel. */
  calibration?: Pose;
  /** 3x3 row-major camera matrix. */
  K?: number[];
  width: number;
  height: number;
  /** All sample_data of the channel (keyframes and sweeps) and their time span, for stream rates. */
  count: number;
  firstUs: number;
  lastUs: number;
  fileformat: string;
}

/** One sensor capture of a frame (a keyframe sample_data record). */
export interface SensorSample {
  channel: string;
  modality: Modality;
  /** Absolute path of the data file. */
  file: string;
  timeNs: bigint;
  /** world <- ego at this capture, when the layout records it per capture. */
  egoPose?: Pose;
  /** ego <- sensor. */
  calibration: Pose;
  /** ego (of the frame) <- sensor, when the layout gives it already motion-compensated. */
  frameExtrinsic?: Pose;
  K?: number[];
  /** 0 when the tables do not say; read from the JPEG header then. */
  width: number;
  height: number;
  /** float32 values per lidar point. */
  floatsPerPoint?: number;
}

export interface IndexedFrame {
  /** Sample token. */
  token: string;
  scene: string;
  /** Sample timestamp: the frame's time when the reference channel has no keyframe in it. */
  timeNs: bigint;
  /** world <- ego for the sample as a whole (layouts without per-capture poses). */
  egoPose?: Pose;
  samples: SensorSample[];
}

export interface TrajectoryPoint {
  timeNs: bigint;
  pose: Pose;
}

export interface NuscenesIndex {
  layout: NuscenesLayout;
  name: string;
  sizeBytes: number;
  channels: ChannelInfo[];
  reference: string;
  frames: IndexedFrame[];
  /** Label and pose streams of the layout (sensor streams come from channels). */
  extraStreams: StreamInfo[];
  labelCount: number;
  warnings: string[];
  /** 3D labels of a frame in the ego frame whose pose (world <- ego) is given. */
  labels3d(frame: number, egoPose: Pose | undefined, warnings: string[]): Box3D[];
  labels2d(frame: number): Box2D[];
  /** Recorded ego poses of the frame's scene between two times, in time order. */
  trajectory(frame: number, fromNs: bigint, toNs: bigint): TrajectoryPoint[];
}

export const DEFAULT_REFERENCE = 'LIDAR_TOP';
const CAMERA_ORDER = ['CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_BACK_RIGHT', 'CAM_BACK', 'CAM_BACK_LEFT', 'CAM_FRONT_LEFT'];
const MODALITY_ORDER: Modality[] = ['lidar', 'camera', 'radar', 'other'];

/** LIDAR_TOP, else the first lidar, else CAM_FRONT, else the first camera; or the requested one. */
export function chooseReference(channels: readonly { channel: string; modality: Modality }[], requested: string | undefined, where: string): string {
  const usable = channels.filter((c) => c.modality === 'camera' || c.modality === 'lidar');
  if (requested !== undefined) {
    const found = usable.find((c) => c.channel === requested) ?? usable.find((c) => c.channel.toLowerCase() === requested.toLowerCase());
    if (found) return found.channel;
    const list = usable.map((c) => c.channel).join(', ') || 'none';
    throw new LogError(`${where}: no camera or lidar sensor named '${requested}' to synchronise frames on; sensors: ${list}`, { path: where });
  }
  const pick =
    usable.find((c) => c.channel === DEFAULT_REFERENCE) ??
    usable.find((c) => c.modality === 'lidar') ??
    usable.find((c) => c.channel === 'CAM_FRONT') ??
    usable[0];
  if (!pick) throw new LogError(`${where}: the log lists no camera or lidar sensor`, { path: where });
  return pick.channel;
}

/**
 * Exact decimal conversion of a timestamp to integer nanoseconds. The shortest decimal form of a
 * double (String(x)) is the text the JSON held, so fractional microseconds (Lyft) survive exactly.
 */
export function decimalToNs(value: number, unitNs: 1000 | 1_000_000_000): bigint {
  if (!Number.isFinite(value)) return 0n;
  const text = String(value);
  if (/e/i.test(text)) return BigInt(Math.round(value * unitNs));
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  const digits = unitNs === 1000 ? 3 : 9;
  const ns = BigInt(whole) * BigInt(unitNs) + BigInt((fraction + '0'.repeat(digits)).slice(0, digits) || '0');
  return negative ? -ns : ns;
}

export const microsToNs = (us: number): bigint => decimalToNs(us, 1000);
export const secondsToNs = (s: number): bigint => decimalToNs(s, 1_000_000_000);

/** nuScenes stores quaternions as [w, x, y, z]; the model uses [x, y, z, w]. */
export function quatFromWxyz(q: readonly number[]): Quat {
  return [q[1]!, q[2]!, q[3]!, q[0]!];
}

export function isNumberArray(value: unknown, length: number): value is number[] {
  return Array.isArray(value) && value.length === length && value.every((v) => typeof v === 'number' && Number.isFinite(v));
}

export function poseFromTable(translation: unknown, rotation: unknown): Pose | undefined {
  if (!isNumberArray(translation, 3) || !isNumberArray(rotation, 4)) return undefined;
  const [w, x, y, z] = rotation;
  const n = Math.hypot(w, x, y, z);
  if (!(n > 0)) return undefined;
  return { translation: [...translation] as Vec3, rotation: quatFromWxyz([w / n, x / n, y / n, z / n]) };
}

/** Row-major flattening of a 3x3 nested array, or undefined when it is not one. */
export function matrix3(value: unknown): number[] | undefined {
  if (!Array.isArray(value) || value.length !== 3) return undefined;
  const flat = value.flat();
  return flat.length === 9 && flat.every((v) => typeof v === 'number' && Number.isFinite(v)) ? (flat as number[]) : undefined;
}

/** Top-left 3x4 of a 4x4 (or 3x4) nested array, row-major. */
export function matrix3x4(value: unknown): number[] | undefined {
  if (!Array.isArray(value) || value.length < 3) return undefined;
  const rows = value.slice(0, 3);
  if (!rows.every((r) => Array.isArray(r) && r.length >= 4)) return undefined;
  const flat = rows.flatMap((r: unknown[]) => r.slice(0, 4));
  return flat.every((v) => typeof v === 'number' && Number.isFinite(v)) ? (flat as number[]) : undefined;
}

export function modalityOf(value: unknown, channel: string): Modality {
  if (value === 'camera' || value === 'lidar' || value === 'radar') return value;
  if (/^CAM/i.test(channel)) return 'camera';
  if (/^LIDAR/i.test(channel)) return 'lidar';
  if (/^RADAR/i.test(channel)) return 'radar';
  return 'other';
}

/** [K | 0]: nuScenes images are already undistorted, so P is K with a zero fourth column. */
export function projectionFromK(K: readonly number[]): number[] {
  return [K[0]!, K[1]!, K[2]!, 0, K[3]!, K[4]!, K[5]!, 0, K[6]!, K[7]!, K[8]!, 0];
}

/** Lidars first, then cameras in the nuScenes ring order, then the rest by name. */
export function orderChannels(list: ChannelInfo[]): ChannelInfo[] {
  const cameraRank = (c: string) => {
    const i = CAMERA_ORDER.indexOf(c);
    return i < 0 ? CAMERA_ORDER.length : i;
  };
  return list.sort(
    (a, b) =>
      MODALITY_ORDER.indexOf(a.modality) - MODALITY_ORDER.indexOf(b.modality) ||
      (a.modality === 'camera' ? cameraRank(a.channel) - cameraRank(b.channel) : 0) ||
      a.channel.localeCompare(b.channel),
  );
}
