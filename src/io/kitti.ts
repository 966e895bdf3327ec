// KITTI object label_2 files: one `<sample>.txt` per frame, 15 columns (+ score for results):
//   type truncated occluded alpha x1 y1 x2 y2 h w l x y z rotation_y [score]
// with the 3D box in the rectified camera-0 frame: (x, y, z) the bottom centre, rotation_y about the
// camera's y axis (down). Import places boxes in the ego (velodyne) frame exactly as the KITTI reader
// does (labelsToBoxes); export inverts that with the same calibration: centre' = inverse(egoFromCam)·c,
// y += h/2, rotation_y from the box heading mapped into the camera frame. Values are written with two
// decimals, as the benchmark files are; the score with four.
import { readdir, readFile, stat, mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { mat4ApplyDirection, mat4ApplyPoint } from '../logs/kitti/calib.js';
import { DONT_CARE, labelsToBoxes, parseLabels, type KittiLabel } from '../logs/kitti/labels.js';
import { LogError } from '../logs/errors.js';
import type { Box3D, Vec3 } from '../logs/model.js';
import { boxCorners } from '../logs/geometry.js';
import { wrapAngle } from '../labels/geometry.js';
import type { AttributeValue, LabelRecord, LabelValue } from '../store/labelEvents.js';
import type { CameraFrame, IoLog } from './logAccess.js';
import { WarningList, type ImportedBox, type ReadResult, type WriteResult } from './types.js';

/** Files to read: every .txt in a folder (natural order), or one file. */
async function labelFiles(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new LogError(`No such file or folder: ${path}`, { path });
  if (info.isFile()) return [path];
  const names = (await readdir(path)).filter((n) => extname(n).toLowerCase() === '.txt');
  names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (!names.length) throw new LogError(`${path} holds no KITTI label files (<sample>.txt)`, { path });
  return names.map((n) => join(path, n));
}

/** Reads label_2-style files and places each line on the frame its file names. */
export async function readKitti(log: IoLog, path: string, options: { camera?: string } = {}): Promise<ReadResult> {
  const files = await labelFiles(path);
  const names = await log.frameNames();
  const byName = new Map(names.map((n, i) => [n, i]));
  const warnings = new WarningList();
  const boxes: ImportedBox[] = [];
  const covered = new Set<number>();
  for (const file of files) {
    const stem = basename(file, extname(file));
    // KITTI logs: the sample name; other logs: the frame index (000012.txt -> frame 12).
    const index = byName.get(stem) ?? (log.info.format !== 'kitti' && /^\d+$/.test(stem) && Number(stem) < log.frames.length ? Number(stem) : undefined);
    if (index === undefined) {
      warnings.add(`${file}: no frame '${stem}' in ${log.info.name} (${names.length} frames: ${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}); skipped`);
      continue;
    }
    covered.add(index);
    const text = await readFile(file, 'utf8');
    const parsed = parseLabels(text, file, false);
    for (const w of parsed.warnings) warnings.add(w);
    if (!parsed.labels.length) continue;
    const camera = await log.kittiCamera(index, options.camera);
    if (!camera && parsed.labels.some((l) => l.type !== DONT_CARE)) warnings.add(`${file}: no calibration for frame '${stem}': 3D boxes left out, 2D boxes kept`);
    const sensorId = camera?.sensorId ?? options.camera ?? 'image_2';
    const placed = labelsToBoxes(parsed.labels, stem, sensorId, camera?.egoFromCam);
    const boxes3d = new Map(placed.labels3d.map((b) => [b.id, b]));
    const frameId = log.frames[index]!.id;
    for (const label of parsed.labels) {
      const box = importedBox(label, index, frameId, sensorId, boxes3d.get(`${stem}:${label.line}`), file);
      if ('skip' in box) warnings.add(box.skip);
      else boxes.push(box);
    }
  }
  return { boxes, warnings: warnings.list(), files, frames: covered };
}

/**
 * One parsed label line as an imported box on frame `index`: the 2D box on `sensorId`, the 3D box
 * `labelsToBoxes` placed (none for DontCare and lines without dimensions), the track id (tracking
 * files; −1 means none) and the KITTI columns a label has no field for as attributes.
 */
export function importedBox(label: KittiLabel, index: number, frameId: string, sensorId: string, placed: Box3D | undefined, file: string): ImportedBox | { skip: string } {
  const attributes: Record<string, AttributeValue> = { truncated: label.truncated, occluded: label.occluded, alpha: label.alpha };
  if (label.type === DONT_CARE) attributes.ignore = true;
  const [x1, y1, x2, y2] = label.bbox;
  if (x2 < x1 || y2 < y1) return { skip: `${file} line ${label.line}: bbox has x2 < x1 or y2 < y1; the line is skipped` };
  const value: LabelValue = {
    frameId,
    class: label.type,
    box2d: { sensorId, x1, y1, x2, y2 },
    // Lines without a 3D box carry the DontCare placeholders (h w l = −1).
    box3d: placed && label.dims.every((d) => d >= 0) ? { center: placed.center, size: placed.size, yaw: placed.yaw } : null,
    trackId: label.trackId !== undefined && label.trackId >= 0 ? String(label.trackId) : null,
    score: label.score ?? null,
    attributes,
    sourceDetectionId: null,
  };
  return { frameIndex: index, value, where: `${file} line ${label.line}` };
}

/** KITTI type names: the driving classes Sightline's models emit, capitalised as the benchmark spells them. */
const KITTI_TYPES: Record<string, string> = { car: 'Car', van: 'Van', truck: 'Truck', pedestrian: 'Pedestrian', person_sitting: 'Person_sitting', cyclist: 'Cyclist', tram: 'Tram', misc: 'Misc', dontcare: DONT_CARE };
export const kittiType = (label: string): string => KITTI_TYPES[label.toLowerCase()] ?? label.replace(/\s+/g, '_');

const f2 = (v: number): string => {
  const s = v.toFixed(2);
  return s === '-0.00' ? '0.00' : s;
};

const num = (v: AttributeValue | undefined): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The 2D box a 3D box projects to in the camera, clipped to the image; undefined behind the camera. */
function projectedRect(box: NonNullable<LabelValue['box3d']>, camera: CameraFrame): [number, number, number, number] | undefined {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const corner of boxCorners(box)) {
    const p = mat4ApplyPoint(camera.camFromEgo, corner);
    const P = camera.P;
    const w = P[8]! * p[0] + P[9]! * p[1] + P[10]! * p[2] + P[11]!;
    if (w <= 0.1) return undefined;
    xs.push((P[0]! * p[0] + P[1]! * p[1] + P[2]! * p[2] + P[3]!) / w);
    ys.push((P[4]! * p[0] + P[5]! * p[1] + P[6]! * p[2] + P[7]!) / w);
  }
  const clampX = (v: number) => (camera.width ? Math.min(Math.max(v, 0), camera.width - 1) : v);
  const clampY = (v: number) => (camera.height ? Math.min(Math.max(v, 0), camera.height - 1) : v);
  return [clampX(Math.min(...xs)), clampY(Math.min(...ys)), clampX(Math.max(...xs)), clampY(Math.max(...ys))];
}

/** One label_2 line, or a reason it cannot be written. */
export function kittiLine(label: LabelValue, camera: CameraFrame | undefined, withScore: boolean): string | { skip: string } {
  const type = kittiType(label.class);
  const dontCare = type === DONT_CARE;
  const a = label.attributes;
  let dims = [-1, -1, -1];
  let location: Vec3 = [-1000, -1000, -1000];
  let ry = -10;
  let alpha = num(a.alpha) ?? -10;
  if (label.box3d && !dontCare) {
    if (!camera) return { skip: 'no camera calibration to place its 3D box' };
    const [l, w, h] = label.box3d.size;
    const c = mat4ApplyPoint(camera.camFromEgo, label.box3d.center);
    location = [c[0], c[1] + h / 2, c[2]];
    dims = [h, w, l];
    const heading = mat4ApplyDirection(camera.camFromEgo, [Math.cos(label.box3d.yaw), Math.sin(label.box3d.yaw), 0]);
    ry = wrapAngle(Math.atan2(-heading[2], heading[0]));
    // alpha (observation angle) follows from the box; a stored value is the file's own and is kept (the
    // label service drops it when the 3D box is edited, see GEOMETRY_DERIVED_ATTRIBUTES).
    alpha = num(a.alpha) ?? wrapAngle(ry - Math.atan2(location[0], location[2]));
  }
  let bbox: [number, number, number, number];
  if (label.box2d) bbox = [label.box2d.x1, label.box2d.y1, label.box2d.x2, label.box2d.y2];
  else if (label.box3d && camera) {
    const rect = projectedRect(label.box3d, camera);
    if (!rect) return { skip: 'its 3D box is behind the camera, so it has no image box' };
    bbox = rect;
  } else return { skip: 'it has neither a 2D box nor a placeable 3D box' };
  const truncated = num(a.truncated) ?? (dontCare ? -1 : 0);
  const occluded = Math.round(num(a.occluded) ?? (dontCare ? -1 : 0));
  const fields = [type, f2(truncated), String(occluded), f2(alpha), ...bbox.map(f2), ...dims.map(f2), ...location.map(f2), f2(ry)];
  if (withScore) fields.push((label.score ?? 1).toFixed(4));
  return fields.join(' ');
}

/**
 * Writes `<out>/<sample>.txt` for every frame of the log (empty where it has no labels, as the
 * benchmark expects one file per sample). The score column is written when `withScore` (predictions).
 */
export async function writeKitti(log: IoLog, labels: readonly LabelRecord[], out: string, options: { withScore: boolean; camera?: string }): Promise<WriteResult> {
  await mkdir(out, { recursive: true });
  const names = await log.frameNames();
  const frameIndex = new Map(log.frames.map((f) => [f.id, f.index]));
  const byFrame = new Map<number, LabelRecord[]>();
  const warnings = new WarningList();
  let skipped = 0;
  for (const label of labels) {
    const index = frameIndex.get(label.frameId);
    if (index === undefined) {
      warnings.add(`label ${label.id}: frame ${label.frameId} is not a frame of ${log.info.name}; not written`);
      skipped++;
      continue;
    }
    const list = byFrame.get(index) ?? [];
    list.push(label);
    byFrame.set(index, list);
  }
  const files: string[] = [];
  let written = 0;
  for (let i = 0; i < names.length; i++) {
    const lines: string[] = [];
    const frameLabels = byFrame.get(i) ?? [];
    const camera = frameLabels.length ? await log.kittiCamera(i, options.camera) : undefined;
    for (const label of frameLabels) {
      const line = kittiLine(label, camera, options.withScore);
      if (typeof line === 'string') {
        lines.push(line);
        written++;
      } else {
        warnings.add(`label ${label.id} (${label.class}) in frame '${names[i]}' not written: ${line.skip}`);
        skipped++;
      }
    }
    const file = join(out, `${names[i]}.txt`);
    await writeFile(file, lines.length ? `${lines.join('\n')}\n` : '');
    files.push(file);
  }
  return { files, written, skipped, warnings: warnings.list() };
}
