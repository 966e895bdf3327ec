// Recognises the three KITTI folder layouts from directory listings alone (no file is opened):
//   object    <dir>/{image_2,velodyne,calib,label_2,image_3}/<id>.*   (or <dir>/training|testing/...)
//   raw       <drive>/{image_02/data,velodyne_points/data,oxts/data}/<n>.*, calib_*.txt beside, in calib/ or in the date folder
//   tracking  <dir>/{image_02,velodyne}/<seq>/<n>.*, {calib,label_02,oxts}/<seq>.txt  (or <dir>/training|testing/...)
import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A camera folder; `index` selects P<index> (object/tracking) or P_rect_0<index> (raw). */
export interface KittiCameraDir {
  id: string;
  index: number;
  dir: string;
  /** Raw drives: image_0N/timestamps.txt. */
  timestamps?: string;
}

export interface KittiObjectLayout {
  kind: 'object';
  root: string;
  lidarDir?: string;
  cameras: KittiCameraDir[];
  calibDir?: string;
  labelDir?: string;
}

export interface KittiRawLayout {
  kind: 'raw';
  root: string;
  lidarDir?: string;
  lidarTimestamps?: string;
  cameras: KittiCameraDir[];
  oxtsDir?: string;
  calib: { camToCam?: string; veloToCam?: string; imuToVelo?: string };
}

export interface KittiTrackingLayout {
  kind: 'tracking';
  root: string;
  /** The sequence this log opens: the one named by the path, else the first. */
  sequence: string;
  /** Every sequence found under root. */
  sequences: string[];
  lidarDir?: string;
  cameras: KittiCameraDir[];
  calibFile?: string;
  labelFile?: string;
  oxtsFile?: string;
}

export type KittiLayout = KittiObjectLayout | KittiRawLayout | KittiTrackingLayout;

async function list(dir: string): Promise<Dirent[] | undefined> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
}

/** Folder names (symlinks count: datasets are often linked in). */
const folders = (entries: Dirent[]): Set<string> => new Set(entries.filter((e) => e.isDirectory() || e.isSymbolicLink()).map((e) => e.name));
const files = (entries: Dirent[]): Set<string> => new Set(entries.filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => e.name));

const SEQUENCE = /^\d+$/;
const SPLITS = ['training', 'testing'];

/**
 * Which KITTI layout `dir` is, from directory listings only; undefined when it is none of them.
 * Tracking: a path to the root opens its first sequence (0000 in the official data); a path to one
 * sequence's folder (e.g. `training/velodyne/0003` or `training/image_02/0003`) opens that sequence.
 */
export async function detectKittiLayout(dir: string): Promise<KittiLayout | undefined> {
  const entries = await list(dir);
  if (!entries) return undefined;
  const names = folders(entries);
  const direct = (await detectRaw(dir, names, entries)) ?? (await detectTracking(dir, names)) ?? (await detectObject(dir, names));
  if (direct) return direct;
  for (const split of SPLITS) {
    if (!names.has(split)) continue;
    const splitDir = join(dir, split);
    const splitEntries = await list(splitDir);
    if (!splitEntries) continue;
    const splitNames = folders(splitEntries);
    const found = (await detectTracking(splitDir, splitNames)) ?? (await detectObject(splitDir, splitNames));
    if (found) return found;
  }
  // A tracking sequence's own folder: <root>/{velodyne,image_02,image_03}/<seq>.
  const parent = dirname(dir);
  if (SEQUENCE.test(basename(dir)) && /^(velodyne|image_0[23])$/.test(basename(parent))) {
    const root = dirname(parent);
    const rootEntries = await list(root);
    if (rootEntries) return detectTracking(root, folders(rootEntries), basename(dir));
  }
  return undefined;
}

async function detectObject(dir: string, names: Set<string>): Promise<KittiObjectLayout | undefined> {
  const cameras: KittiCameraDir[] = [0, 1, 2, 3]
    .filter((n) => names.has(`image_${n}`))
    .map((n) => ({ id: `image_${n}`, index: n, dir: join(dir, `image_${n}`) }));
  const lidarName = ['velodyne', 'velodyne_reduced'].find((n) => names.has(n));
  if (!lidarName && cameras.length === 0) return undefined;
  // Waymo's KITTI-style export has five cameras and 6-float points: not readable as KITTI.
  if (names.has('image_4') || names.has('label_all')) return undefined;
  // A lone folder is not enough evidence: also require calib, labels, or both velodyne and image_2.
  if (!names.has('calib') && !names.has('label_2') && !(lidarName && names.has('image_2'))) return undefined;
  return {
    kind: 'object',
    root: dir,
    lidarDir: lidarName ? join(dir, lidarName) : undefined,
    cameras,
    calibDir: names.has('calib') ? join(dir, 'calib') : undefined,
    labelDir: names.has('label_2') ? join(dir, 'label_2') : undefined,
  };
}

async function detectTracking(dir: string, names: Set<string>, wanted?: string): Promise<KittiTrackingLayout | undefined> {
  const cameraNames = ['image_02', 'image_03'].filter((n) => names.has(n));
  const sensorNames = [...(names.has('velodyne') ? ['velodyne'] : []), ...cameraNames];
  const sequences = new Set<string>();
  for (const name of sensorNames) {
    const entries = await list(join(dir, name));
    for (const seq of folders(entries ?? [])) if (SEQUENCE.test(seq)) sequences.add(seq);
  }
  if (sequences.size === 0) return undefined;
  const sorted = [...sequences].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const sequence = wanted && sequences.has(wanted) ? wanted : sorted[0]!;
  const textFile = async (folder: string): Promise<string | undefined> => {
    if (!names.has(folder)) return undefined;
    const entries = await list(join(dir, folder));
    return entries && files(entries).has(`${sequence}.txt`) ? join(dir, folder, `${sequence}.txt`) : undefined;
  };
  const seqDir = async (folder: string): Promise<string | undefined> =>
    names.has(folder) && (await list(join(dir, folder, sequence))) ? join(dir, folder, sequence) : undefined;
  const cameras: KittiCameraDir[] = [];
  for (const name of cameraNames) {
    const camDir = await seqDir(name);
    if (camDir) cameras.push({ id: name, index: Number(name.slice(-1)), dir: camDir });
  }
  return {
    kind: 'tracking',
    root: dir,
    sequence,
    sequences: sorted,
    lidarDir: await seqDir('velodyne'),
    cameras,
    calibFile: await textFile('calib'),
    labelFile: await textFile('label_02'),
    oxtsFile: await textFile('oxts'),
  };
}

const RAW_CALIB_FILES = { camToCam: 'calib_cam_to_cam.txt', veloToCam: 'calib_velo_to_cam.txt', imuToVelo: 'calib_imu_to_velo.txt' } as const;

async function detectRaw(dir: string, names: Set<string>, entries: Dirent[]): Promise<KittiRawLayout | undefined> {
  const dataDir = async (folder: string) => {
    if (!names.has(folder)) return undefined;
    const inner = await list(join(dir, folder));
    if (!inner || !folders(inner).has('data')) return undefined;
    return { dir: join(dir, folder, 'data'), timestamps: files(inner).has('timestamps.txt') ? join(dir, folder, 'timestamps.txt') : undefined };
  };
  const lidar = await dataDir('velodyne_points');
  const cameras: KittiCameraDir[] = [];
  for (const n of [0, 1, 2, 3]) {
    const cam = await dataDir(`image_0${n}`);
    if (cam) cameras.push({ id: `image_0${n}`, index: n, dir: cam.dir, timestamps: cam.timestamps });
  }
  if (!lidar && cameras.length === 0) return undefined;
  const oxts = await dataDir('oxts');
  // Calibration: beside the data, in calib/, or in the date folder above the drive (the official layout).
  const places: { dir: string; names: Set<string> }[] = [{ dir, names: files(entries) }];
  for (const other of [join(dir, 'calib'), dirname(dir)]) {
    const listed = await list(other);
    if (listed) places.push({ dir: other, names: files(listed) });
  }
  const find = (name: string) => {
    const place = places.find((p) => p.names.has(name));
    return place ? join(place.dir, name) : undefined;
  };
  return {
    kind: 'raw',
    root: dir,
    lidarDir: lidar?.dir,
    lidarTimestamps: lidar?.timestamps,
    cameras,
    oxtsDir: oxts?.dir,
    calib: { camToCam: find(RAW_CALIB_FILES.camToCam), veloToCam: find(RAW_CALIB_FILES.veloToCam), imuToVelo: find(RAW_CALIB_FILES.imuToVelo) },
  };
}
