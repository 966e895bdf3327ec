// OXTS GPS/IMU records -> world <- imu poses, with the KITTI devkit's Mercator projection
// (scale from the first record's latitude, so metres are true near the start of the drive).
import { LogError } from '../errors.js';
import type { Pose, Quat } from '../model.js';
import { quatMultiply, quatNormalize } from '../transforms.js';

export interface OxtsRecord {
  lat: number;
  lon: number;
  alt: number;
  roll: number;
  pitch: number;
  yaw: number;
}

const EARTH_RADIUS_M = 6378137;

/** One OXTS line: lat lon alt roll pitch yaw, then 24 more fields we do not need (30 in all). */
export function parseOxtsLine(text: string, path: string, line: number): OxtsRecord {
  const tokens = text.trim().split(/\s+/).filter(Boolean);
  if (tokens.length < 6) {
    throw new LogError(`${path} line ${line}: an OXTS record needs at least 6 numbers (lat lon alt roll pitch yaw), got ${tokens.length}`, { path, line });
  }
  const v = tokens.slice(0, 6).map(Number);
  const bad = v.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new LogError(`${path} line ${line}: OXTS field ${bad + 1} ('${tokens[bad]}') is not a number`, { path, line });
  return { lat: v[0]!, lon: v[1]!, alt: v[2]!, roll: v[3]!, pitch: v[4]!, yaw: v[5]! };
}

/** Mercator scale of the drive: cos of the first record's latitude. */
export function mercatorScale(lat0: number): number {
  return Math.cos((lat0 * Math.PI) / 180);
}

/** world <- imu: Mercator position (x east, y north, z up) and R = Rz(yaw)·Ry(pitch)·Rx(roll). */
export function oxtsPose(record: OxtsRecord, scale: number): Pose {
  const tx = (scale * record.lon * Math.PI * EARTH_RADIUS_M) / 180;
  const ty = scale * EARTH_RADIUS_M * Math.log(Math.tan(((90 + record.lat) * Math.PI) / 360));
  const axis = (i: number, angle: number): Quat => {
    const q: Quat = [0, 0, 0, Math.cos(angle / 2)];
    q[i] = Math.sin(angle / 2);
    return q;
  };
  const rotation = quatNormalize(quatMultiply(quatMultiply(axis(2, record.yaw), axis(1, record.pitch)), axis(0, record.roll)));
  return { translation: [tx, ty, record.alt], rotation };
}
