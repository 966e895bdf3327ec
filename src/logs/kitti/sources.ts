// Per-layout file access behind one interface: which samples each sensor has, their timestamps,
// and where a sample's calibration, labels and OXTS record come from. Only listings and small
// text files (timestamps, one tracking label/oxts file) are read here.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative } from 'node:path';
import { LogError } from '../errors.js';
import { CalibCache, type KittiCalib } from './calib.js';
import { countLabels, parseLabels, type KittiLabel } from './labels.js';
import type { KittiLayout, KittiObjectLayout, KittiRawLayout, KittiTrackingLayout } from './layout.js';
import { parseOxtsLine, type OxtsRecord } from './oxts.js';

export interface SensorFiles {
  id: string;
  kind: 'camera' | 'lidar';
  /** P index of a camera. */
  cameraIndex?: number;
  /** Layout path shown as the stream topic. */
  topic: string;
  /** sample name -> file. */
  files: Map<string, string>;
  /** sample name -> stamp (ns), when the layout records times. */
  stamps?: Map<string, bigint>;
}

export interface LabelSource {
  topic: string;
  /** Tracking label_02 (frame and track id columns first). */
  tracking: boolean;
  /** Non-DontCare boxes and labelled frames, counted without parsing numbers. */
  count(): Promise<{ boxes: number; frames: number }>;
  forSample(sample: string): Promise<{ labels: KittiLabel[]; warnings: string[] }>;
}

export interface OxtsSource {
  topic: string;
  count(): Promise<number>;
  /** The record for a sample, undefined when absent; a LogError when its line is malformed. */
  record(sample: string): Promise<OxtsRecord | undefined>;
  /** The drive's first record: the Mercator scale and origin. */
  first(): Promise<OxtsRecord | undefined>;
}

export interface KittiSource {
  kind: KittiLayout['kind'];
  name: string;
  /** Files the sizes and the stream topics are relative to. */
  root: string;
  lidar?: SensorFiles;
  cameras: SensorFiles[];
  /** Sensor id of the camera whose pixels the label bboxes are in. */
  labelCameraId: string;
  calibTopic?: string;
  calibCount: number;
  /** The sample's calibration, undefined when the layout has none; a LogError when malformed. */
  calib(sample: string): Promise<KittiCalib | undefined>;
  labels?: LabelSource;
  oxts?: OxtsSource;
  /** Object samples are unrelated snapshots: frame times are synthetic by design. */
  snapshots: boolean;
  warnings: string[];
  clear(): void;
}

const byName = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** Files with an extension in a folder, keyed by name without it, in natural order. */
async function listByStem(dir: string | undefined, ext: string): Promise<Map<string, string>> {
  if (!dir) return new Map();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return new Map();
  }
  const matching = names.filter((n) => extname(n).toLowerCase() === ext);
  const entries = matching.map((n): [string, string] => [n.slice(0, -ext.length), join(dir, n)]);
  entries.sort((a, b) => byName(a[0], b[0]));
  return new Map(entries);
}

/** `2011-09-26 13:02:25.964389445` (UTC) -> integer nanoseconds, exactly. */
export function parseKittiTimestamp(text: string): bigint | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (!Number.isFinite(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[7] ?? '').padEnd(9, '0'));
}

/** timestamps.txt: line k is the stamp of the file numbered k. Returns stamps by sample, or a warning. */
async function readTimestamps(path: string, samples: Iterable<string>): Promise<{ stamps?: Map<string, bigint>; warning?: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { warning: `Cannot read ${path} (${(error as Error).message}); frame times are synthetic (10 Hz)` };
  }
  const lines = text.split(/\r?\n/);
  while (lines.length && !lines[lines.length - 1]!.trim()) lines.pop();
  const stamps = new Map<string, bigint>();
  for (const sample of samples) {
    const k = Number(sample);
    const line = Number.isInteger(k) ? lines[k] : undefined;
    if (line === undefined) return { warning: `${path} has ${lines.length} lines but there is a file numbered ${sample}; frame times are synthetic (10 Hz)` };
    const ns = parseKittiTimestamp(line);
    if (ns === undefined) return { warning: `${path} line ${k + 1}: '${line.trim()}' is not a timestamp like 2011-09-26 13:02:25.964389445; frame times are synthetic (10 Hz)` };
    stamps.set(sample, ns);
  }
  return { stamps };
}

/** Runs `work` over items with at most `limit` in flight (thousands of tiny label files). */
async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  });
  await Promise.all(runners);
  return out;
}

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let memo: Promise<T> | undefined;
  return () => {
    if (!memo) {
      memo = load();
      memo.catch(() => undefined);
    }
    return memo;
  };
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new LogError(`Cannot read ${path}: ${(error as Error).message}`, { path });
  }
}

export async function createSource(layout: KittiLayout): Promise<KittiSource> {
  switch (layout.kind) {
    case 'object':
      return objectSource(layout);
    case 'raw':
      return rawSource(layout);
    case 'tracking':
      return trackingSource(layout);
  }
}

function displayName(root: string): string {
  const base = basename(root);
  return /^(training|testing)$/.test(base) ? `${basename(dirname(root))}/${base}` : base;
}

async function objectSource(layout: KittiObjectLayout): Promise<KittiSource> {
  const calibCache = new CalibCache();
  const warnings: string[] = [];
  const lidarFiles = await listByStem(layout.lidarDir, '.bin');
  const cameras: SensorFiles[] = [];
  for (const cam of layout.cameras) {
    cameras.push({ id: cam.id, kind: 'camera', cameraIndex: cam.index, topic: relative(layout.root, cam.dir), files: await listByStem(cam.dir, '.png') });
  }
  const calibFiles = await listByStem(layout.calibDir, '.txt');
  const labelFiles = await listByStem(layout.labelDir, '.txt');
  if (!layout.calibDir) warnings.push(`${layout.root} has no calib/ folder: camera images and 3D labels cannot be placed and are left out`);
  if (!layout.labelDir) warnings.push(`${layout.root} has no label_2/ folder: no ground-truth labels`);
  const labelCache = new Map<string, Promise<{ labels: KittiLabel[]; warnings: string[] }>>();
  return {
    kind: 'object',
    name: displayName(layout.root),
    root: layout.root,
    lidar: layout.lidarDir
      ? { id: 'velodyne', kind: 'lidar', topic: relative(layout.root, layout.lidarDir), files: lidarFiles }
      : undefined,
    cameras,
    labelCameraId: 'image_2',
    calibTopic: layout.calibDir ? 'calib' : undefined,
    calibCount: calibFiles.size,
    async calib(sample) {
      const path = calibFiles.get(sample);
      return path ? calibCache.object(path) : undefined;
    },
    labels: layout.labelDir
      ? {
          topic: 'label_2',
          tracking: false,
          count: once(async () => {
            const counts = await mapLimited([...labelFiles.values()], 16, async (path) => countLabels(await readText(path), false).boxes);
            return { boxes: counts.reduce((a, b) => a + b, 0), frames: labelFiles.size };
          }),
          forSample(sample) {
            const path = labelFiles.get(sample);
            if (!path) return Promise.resolve({ labels: [], warnings: [`no label file label_2/${sample}.txt`] });
            let entry = labelCache.get(path);
            if (!entry) {
              // Small per-frame files: parse on demand and keep the few recently used.
              entry = readText(path).then((text) => parseLabels(text, path, false));
              entry.catch(() => undefined);
              if (labelCache.size > 256) labelCache.delete(labelCache.keys().next().value!);
              labelCache.set(path, entry);
            }
            return entry;
          },
        }
      : undefined,
    snapshots: true,
    warnings,
    clear() {
      calibCache.clear();
      labelCache.clear();
    },
  };
}

async function rawSource(layout: KittiRawLayout): Promise<KittiSource> {
  const calibCache = new CalibCache();
  const warnings: string[] = [];
  const lidarFiles = await listByStem(layout.lidarDir, '.bin');
  let lidarStamps: Map<string, bigint> | undefined;
  if (layout.lidarDir) {
    if (layout.lidarTimestamps) {
      const read = await readTimestamps(layout.lidarTimestamps, lidarFiles.keys());
      lidarStamps = read.stamps;
      if (read.warning) warnings.push(read.warning);
    } else {
      warnings.push(`${relative(layout.root, dirname(layout.lidarDir))}/timestamps.txt not found: velodyne times unknown`);
    }
  }
  const cameras: SensorFiles[] = [];
  for (const cam of layout.cameras) {
    const files = await listByStem(cam.dir, '.png');
    let stamps: Map<string, bigint> | undefined;
    if (cam.timestamps) {
      const read = await readTimestamps(cam.timestamps, files.keys());
      stamps = read.stamps;
      if (read.warning) warnings.push(read.warning);
    } else {
      warnings.push(`${cam.id}/timestamps.txt not found: ${cam.id} times unknown`);
    }
    cameras.push({ id: cam.id, kind: 'camera', cameraIndex: cam.index, topic: relative(layout.root, cam.dir), files, stamps });
  }
  const { camToCam, veloToCam, imuToVelo } = layout.calib;
  if (!camToCam) warnings.push('calib_cam_to_cam.txt not found (looked beside the drive, in calib/ and in the date folder): camera images are left out');
  if (!veloToCam) warnings.push('calib_velo_to_cam.txt not found: camera images and the lidar cannot be related; camera images are left out');
  const oxtsFiles = await listByStem(layout.oxtsDir, '.txt');
  if (!layout.oxtsDir) warnings.push('No oxts/ folder: no ego poses or driven path');
  else if (!imuToVelo) warnings.push('calib_imu_to_velo.txt not found: ego poses are the IMU poses (velodyne offset ignored)');
  const calibFiles = [camToCam, veloToCam, imuToVelo].filter((f): f is string => !!f);
  const oxtsCache = new Map<string, Promise<OxtsRecord | undefined>>();
  const oxtsRecord = (sample: string): Promise<OxtsRecord | undefined> => {
    const path = oxtsFiles.get(sample);
    if (!path) return Promise.resolve(undefined);
    let entry = oxtsCache.get(sample);
    if (!entry) {
      entry = readText(path).then((text) => parseOxtsLine(text.split(/\r?\n/)[0] ?? '', path, 1));
      entry.catch(() => undefined);
      oxtsCache.set(sample, entry);
    }
    return entry;
  };
  return {
    kind: 'raw',
    name: basename(layout.root),
    root: layout.root,
    lidar: layout.lidarDir
      ? { id: 'velodyne', kind: 'lidar', topic: relative(layout.root, layout.lidarDir), files: lidarFiles, stamps: lidarStamps }
      : undefined,
    cameras,
    labelCameraId: 'image_02',
    calibTopic: calibFiles.length ? calibFiles.map((f) => basename(f)).join('+') : undefined,
    calibCount: calibFiles.length,
    async calib() {
      return calibFiles.length ? calibCache.raw(layout.calib) : undefined;
    },
    oxts: layout.oxtsDir
      ? {
          topic: relative(layout.root, layout.oxtsDir),
          count: async () => oxtsFiles.size,
          record: oxtsRecord,
          first: () => {
            const first = oxtsFiles.keys().next();
            return first.done ? Promise.resolve(undefined) : oxtsRecord(first.value);
          },
        }
      : undefined,
    snapshots: false,
    warnings,
    clear() {
      calibCache.clear();
      oxtsCache.clear();
    },
  };
}

async function trackingSource(layout: KittiTrackingLayout): Promise<KittiSource> {
  const calibCache = new CalibCache();
  const warnings: string[] = [];
  const seq = layout.sequence;
  if (layout.sequences.length > 1) {
    warnings.push(
      `${layout.root} holds ${layout.sequences.length} tracking sequences (${layout.sequences.join(', ')}); opened ${seq}. Open <root>/velodyne/<seq> (or image_02/<seq>) for another`,
    );
  }
  const lidarFiles = await listByStem(layout.lidarDir, '.bin');
  const cameras: SensorFiles[] = [];
  for (const cam of layout.cameras) {
    cameras.push({ id: cam.id, kind: 'camera', cameraIndex: cam.index, topic: relative(layout.root, cam.dir), files: await listByStem(cam.dir, '.png') });
  }
  if (!layout.calibFile) warnings.push(`No calib/${seq}.txt: camera images and 3D labels cannot be placed and are left out`);
  if (!layout.labelFile) warnings.push(`No label_02/${seq}.txt: no ground-truth labels`);
  if (!layout.oxtsFile) warnings.push(`No oxts/${seq}.txt: no ego poses or driven path`);
  warnings.push('KITTI tracking has no timestamps: frame times are synthetic (10 Hz, frame number × 100 ms)');

  const labelsByFrame = once(async () => {
    const path = layout.labelFile!;
    const parsed = parseLabels(await readText(path), path, true);
    const byFrame = new Map<number, KittiLabel[]>();
    for (const label of parsed.labels) {
      const list = byFrame.get(label.frame!) ?? [];
      list.push(label);
      byFrame.set(label.frame!, list);
    }
    return { byFrame, warnings: parsed.warnings };
  });
  const oxtsLines = once(async () => {
    const lines = (await readText(layout.oxtsFile!)).split(/\r?\n/);
    while (lines.length && !lines[lines.length - 1]!.trim()) lines.pop();
    return lines;
  });
  const oxtsRecord = async (sample: string): Promise<OxtsRecord | undefined> => {
    const k = Number(sample);
    const line = Number.isInteger(k) ? (await oxtsLines())[k] : undefined;
    return line === undefined ? undefined : parseOxtsLine(line, layout.oxtsFile!, k + 1);
  };
  return {
    kind: 'tracking',
    name: `${displayName(layout.root)} sequence ${seq}`,
    root: layout.root,
    lidar: layout.lidarDir ? { id: 'velodyne', kind: 'lidar', topic: relative(layout.root, layout.lidarDir), files: lidarFiles } : undefined,
    cameras,
    labelCameraId: 'image_02',
    calibTopic: layout.calibFile ? relative(layout.root, layout.calibFile) : undefined,
    calibCount: layout.calibFile ? 1 : 0,
    async calib() {
      return layout.calibFile ? calibCache.object(layout.calibFile) : undefined;
    },
    labels: layout.labelFile
      ? {
          topic: relative(layout.root, layout.labelFile),
          tracking: true,
          count: once(async () => countLabels(await readText(layout.labelFile!), true)),
          async forSample(sample) {
            const { byFrame, warnings: parseWarnings } = await labelsByFrame();
            return { labels: byFrame.get(Number(sample)) ?? [], warnings: parseWarnings };
          },
        }
      : undefined,
    oxts: layout.oxtsFile
      ? {
          topic: relative(layout.root, layout.oxtsFile),
          count: async () => (await oxtsLines()).length,
          record: oxtsRecord,
          first: () => oxtsRecord('0'),
        }
      : undefined,
    snapshots: false,
    warnings,
    clear() {
      calibCache.clear();
    },
  };
}

/** Total bytes of the sensor files: exact for small logs, else scaled up from a sample of files. */
export async function estimateSize(groups: Map<string, string>[]): Promise<number> {
  let total = 0;
  for (const files of groups) {
    const paths = [...files.values()];
    const sample = paths.length <= 400 ? paths : paths.filter((_, i) => i % Math.ceil(paths.length / 100) === 0);
    const sizes = await mapLimited(sample, 16, async (p) => (await stat(p).catch(() => ({ size: 0 }))).size);
    const sum = sizes.reduce((a, b) => a + b, 0);
    total += sample.length ? Math.round((sum / sample.length) * paths.length) : 0;
  }
  return total;
}
