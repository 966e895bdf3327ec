// KITTI calibration files (object, tracking, raw and mmdet3d variants) parsed into one shape,
// plus the small affine-matrix helpers the reader needs (row-major 4x4 as number[16]).
import { readFile } from 'node:fs/promises';
import { LogError } from '../errors.js';
import type { CameraIntrinsics, Pose, Vec3 } from '../model.js';
import { poseFromMatrix3x4 } from '../transforms.js';

export type Mat4 = number[];

/** Everything the reader uses from a calibration, whatever file layout it came from. */
export interface KittiCalib {
  /** Files it was read from, for messages. */
  sources: string[];
  /** Rectified projections P0..P3 (3x4 row-major), rectified cam-0 frame -> pixels of camera n. */
  P: (number[] | undefined)[];
  /** R0_rect (3x3): unrectified cam-0 -> rectified cam-0. */
  R0?: number[];
  /** Tr_velo_to_cam (3x4): velodyne -> unrectified cam-0. */
  veloToCam?: number[];
  /** Tr_imu_to_velo (3x4): imu -> velodyne. */
  imuToVelo?: number[];
}

type LineValues = { key: string; values: number[]; line: number };

/** Splits "KEY: v v v" / "KEY v v v" lines; a keyless all-number line gets key ''. */
function splitCalibLines(text: string): { key: string; tokens: string[]; line: number }[] {
  const out: { key: string; tokens: string[]; line: number }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (!raw || raw.startsWith('#')) continue;
    const colon = raw.indexOf(':');
    if (colon > 0 && /^[A-Za-z_][\w]*$/.test(raw.slice(0, colon).trim())) {
      out.push({ key: raw.slice(0, colon).trim(), tokens: raw.slice(colon + 1).trim().split(/\s+/).filter(Boolean), line: i + 1 });
      continue;
    }
    const tokens = raw.split(/\s+/);
    if (/^[A-Za-z_]/.test(tokens[0]!)) out.push({ key: tokens[0]!, tokens: tokens.slice(1), line: i + 1 });
    else out.push({ key: '', tokens, line: i + 1 });
  }
  return out;
}

function parseNumbers(path: string, entry: { key: string; tokens: string[]; line: number }, allowed: number[]): LineValues {
  const name = entry.key ? `'${entry.key}'` : 'keyless line';
  if (!allowed.includes(entry.tokens.length)) {
    throw new LogError(`${path} line ${entry.line}: ${name} needs ${allowed.join(' or ')} numbers, got ${entry.tokens.length}`, {
      path,
      line: entry.line,
    });
  }
  const values = entry.tokens.map(Number);
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new LogError(`${path} line ${entry.line}: ${name} value ${bad + 1} ('${entry.tokens[bad]}') is not a number`, {
      path,
      line: entry.line,
    });
  }
  return { key: entry.key, values, line: entry.line };
}

/** 3x4 from 12 values, or the top three rows of a 4x4 (mmdet3d writes P2 as 4x4). */
const top3x4 = (v: number[]): number[] => v.slice(0, 12);
/** 3x3 from 9 values, or the top-left block of a 4x4. */
const top3x3 = (v: number[]): number[] => (v.length === 9 ? v : [v[0]!, v[1]!, v[2]!, v[4]!, v[5]!, v[6]!, v[8]!, v[9]!, v[10]!]);

const R0_KEYS = new Set(['R0_rect', 'R_rect', 'R0']);
const VELO_KEYS = new Set(['Tr_velo_to_cam', 'Tr_velo_cam']);
const IMU_KEYS = new Set(['Tr_imu_to_velo', 'Tr_imu_velo']);

/**
 * Object/tracking calib (`P0: ...`, `R0_rect:`/`R_rect`, `Tr_velo_to_cam:`/`Tr_velo_cam`, `Tr_imu_to_velo:`/`Tr_imu_velo`),
 * and mmdet3d's single keyless P2 line (12 or 16 values). Unknown keys are ignored; a known key with a
 * wrong value count or a non-number throws a LogError naming the file and line.
 */
export function parseObjectCalib(text: string, path: string): KittiCalib {
  const calib: KittiCalib = { sources: [path], P: [] };
  for (const entry of splitCalibLines(text)) {
    const p = /^P([0-3])$/.exec(entry.key);
    if (p) calib.P[Number(p[1])] = top3x4(parseNumbers(path, entry, [12, 16]).values);
    else if (entry.key === '') calib.P[2] = top3x4(parseNumbers(path, entry, [12, 16]).values);
    else if (R0_KEYS.has(entry.key)) calib.R0 = top3x3(parseNumbers(path, entry, [9, 16]).values);
    else if (VELO_KEYS.has(entry.key)) calib.veloToCam = top3x4(parseNumbers(path, entry, [12, 16]).values);
    else if (IMU_KEYS.has(entry.key)) calib.imuToVelo = top3x4(parseNumbers(path, entry, [12, 16]).values);
  }
  return calib;
}

const CAM_TO_CAM_COUNTS: [RegExp, number][] = [
  [/^S_rect_\d\d$/, 2],
  [/^R_rect_\d\d$/, 9],
  [/^P_rect_\d\d$/, 12],
  [/^S_\d\d$/, 2],
  [/^K_\d\d$/, 9],
  [/^D_\d\d$/, 5],
  [/^R_\d\d$/, 9],
  [/^T_\d\d$/, 3],
];

/** Raw-drive calib_cam_to_cam.txt: the rectified projections and R_rect_00. */
export function parseCamToCam(text: string, path: string): Pick<KittiCalib, 'P' | 'R0'> {
  const P: (number[] | undefined)[] = [];
  let R0: number[] | undefined;
  for (const entry of splitCalibLines(text)) {
    const rule = CAM_TO_CAM_COUNTS.find(([re]) => re.test(entry.key));
    if (!rule) continue; // calib_time, corner_dist, anything newer
    const { values } = parseNumbers(path, entry, [rule[1]]);
    const pRect = /^P_rect_0([0-3])$/.exec(entry.key);
    if (pRect) P[Number(pRect[1])] = values;
    if (entry.key === 'R_rect_00') R0 = values;
  }
  return { P, R0 };
}

/** Raw-drive calib_velo_to_cam.txt / calib_imu_to_velo.txt: `R:` (9) and `T:` (3) as a 3x4. */
export function parseRigidRT(text: string, path: string): number[] {
  let R: number[] | undefined;
  let T: number[] | undefined;
  for (const entry of splitCalibLines(text)) {
    if (entry.key === 'R') R = parseNumbers(path, entry, [9]).values;
    else if (entry.key === 'T') T = parseNumbers(path, entry, [3]).values;
  }
  if (!R || !T) throw new LogError(`${path}: no ${R ? 'T:' : 'R:'} line (expected 'R:' with 9 numbers and 'T:' with 3)`, { path });
  return [R[0]!, R[1]!, R[2]!, T[0]!, R[3]!, R[4]!, R[5]!, T[1]!, R[6]!, R[7]!, R[8]!, T[2]!];
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new LogError(`Cannot read calibration ${path}: ${(error as Error).message}`, { path });
  }
}

/** Parsed calibration per file (or file set), shared by every frame that uses it; failures are cached too. */
export class CalibCache {
  private readonly entries = new Map<string, Promise<KittiCalib>>();

  object(path: string): Promise<KittiCalib> {
    return this.memo(path, async () => parseObjectCalib(await readText(path), path));
  }

  raw(files: { camToCam?: string; veloToCam?: string; imuToVelo?: string }): Promise<KittiCalib> {
    const key = ['raw', files.camToCam, files.veloToCam, files.imuToVelo].join('|');
    return this.memo(key, async () => {
      const calib: KittiCalib = { sources: [], P: [] };
      if (files.camToCam) {
        Object.assign(calib, parseCamToCam(await readText(files.camToCam), files.camToCam));
        calib.sources.push(files.camToCam);
      }
      if (files.veloToCam) {
        calib.veloToCam = parseRigidRT(await readText(files.veloToCam), files.veloToCam);
        calib.sources.push(files.veloToCam);
      }
      if (files.imuToVelo) {
        calib.imuToVelo = parseRigidRT(await readText(files.imuToVelo), files.imuToVelo);
        calib.sources.push(files.imuToVelo);
      }
      return calib;
    });
  }

  clear(): void {
    this.entries.clear();
  }

  private memo(key: string, load: () => Promise<KittiCalib>): Promise<KittiCalib> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = load();
      entry.catch(() => undefined); // cached rejections must not surface as unhandled
      this.entries.set(key, entry);
    }
    return entry;
  }
}

// ---- affine 4x4 helpers (row-major) ----

export function mat4From3x4(m: readonly number[]): Mat4 {
  return [...m.slice(0, 12), 0, 0, 0, 1];
}

export function mat4FromRotation(r: readonly number[]): Mat4 {
  return [r[0]!, r[1]!, r[2]!, 0, r[3]!, r[4]!, r[5]!, 0, r[6]!, r[7]!, r[8]!, 0, 0, 0, 0, 1];
}

export function mat4Multiply(a: Mat4, b: Mat4): Mat4 {
  const out = new Array<number>(16).fill(0);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) for (let k = 0; k < 4; k++) out[r * 4 + c]! += a[r * 4 + k]! * b[k * 4 + c]!;
  return out;
}

/** Inverse of an affine [A|t; 0 0 0 1] (A any invertible 3x3, not just a rotation). */
export function mat4InvertAffine(m: Mat4): Mat4 {
  const [a, b, c, , d, e, f, , g, h, i] = m as [number, number, number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (Math.abs(det) < 1e-12) throw new Error('singular calibration matrix');
  const inv = [
    A / det,
    -(b * i - c * h) / det,
    (b * f - c * e) / det,
    B / det,
    (a * i - c * g) / det,
    -(a * f - c * d) / det,
    C / det,
    -(a * h - b * g) / det,
    (a * e - b * d) / det,
  ];
  const t = [m[3]!, m[7]!, m[11]!];
  const it = [0, 1, 2].map((r) => -(inv[r * 3]! * t[0]! + inv[r * 3 + 1]! * t[1]! + inv[r * 3 + 2]! * t[2]!));
  return [inv[0]!, inv[1]!, inv[2]!, it[0]!, inv[3]!, inv[4]!, inv[5]!, it[1]!, inv[6]!, inv[7]!, inv[8]!, it[2]!, 0, 0, 0, 1];
}

export function mat4ApplyPoint(m: Mat4, p: Vec3): Vec3 {
  return [
    m[0]! * p[0] + m[1]! * p[1] + m[2]! * p[2] + m[3]!,
    m[4]! * p[0] + m[5]! * p[1] + m[6]! * p[2] + m[7]!,
    m[8]! * p[0] + m[9]! * p[1] + m[10]! * p[2] + m[11]!,
  ];
}

export function mat4ApplyDirection(m: Mat4, d: Vec3): Vec3 {
  return [m[0]! * d[0] + m[1]! * d[1] + m[2]! * d[2], m[4]! * d[0] + m[5]! * d[1] + m[6]! * d[2], m[8]! * d[0] + m[9]! * d[1] + m[10]! * d[2]];
}

export function poseFromMat4(m: Mat4): Pose {
  return poseFromMatrix3x4(m.slice(0, 12));
}

/**
 * ego (velodyne) <- rectified cam-0, i.e. inverse(R0_rect · Tr_velo_to_cam).
 * Throws a LogError when the calibration lacks Tr_velo_to_cam (cameras and 3D labels cannot be placed).
 */
export function egoFromCamera(calib: KittiCalib): Mat4 {
  const where = calib.sources.join(', ') || 'calibration';
  if (!calib.veloToCam) throw new LogError(`${where}: no Tr_velo_to_cam (velodyne -> camera) calibration`, { path: calib.sources[0] ?? '' });
  const camFromVelo = mat4Multiply(mat4FromRotation(calib.R0 ?? [1, 0, 0, 0, 1, 0, 0, 0, 1]), mat4From3x4(calib.veloToCam));
  return mat4InvertAffine(camFromVelo);
}

/** Intrinsics of camera n (P = Pn, K = Pn[:, :3]), undefined when the calib has no Pn. */
export function cameraIntrinsics(calib: KittiCalib, cameraIndex: number, width: number, height: number): CameraIntrinsics | undefined {
  const P = calib.P[cameraIndex];
  if (!P) return undefined;
  return { width, height, K: [P[0]!, P[1]!, P[2]!, P[4]!, P[5]!, P[6]!, P[8]!, P[9]!, P[10]!], P: [...P], distortionModel: '', D: [] };
}
