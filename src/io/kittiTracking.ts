// KITTI tracking label_02 files: one `<seq>.txt` per sequence, every line
//   frame track_id type truncated occluded alpha x1 y1 x2 y2 h w l x y z rotation_y [score]
// (track_id −1 for DontCare). Frame numbers name the sequence's samples (000042.png is frame 42), so
// on a KITTI tracking or raw log frame k is the sample numbered k; on other logs it is the k-th frame.
// Boxes are placed with the same calibration and conventions as label_2 (./kitti.ts).
import { readdir, readFile, stat, mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { DONT_CARE, labelsToBoxes, parseLabels, type KittiLabel } from '../logs/kitti/labels.js';
import { LogError } from '../logs/errors.js';
import type { LabelRecord } from '../store/labelEvents.js';
import { importedBox, kittiLine } from './kitti.js';
import type { IoLog } from './logAccess.js';
import { WarningList, type ImportedBox, type ReadResult, type WriteResult } from './types.js';

/** The sequence a KITTI tracking log opened ('… sequence 0004'), else '0000'. */
export function sequenceOf(log: IoLog): string {
  return /sequence (\S+)$/.exec(log.info.name)?.[1] ?? '0000';
}

/** Whether a label file (or the first .txt of a folder) has tracking lines (frame and track id before the type). */
export async function isTrackingLabels(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return false;
  let file = path;
  if (info.isDirectory()) {
    if (basename(path) === 'label_02') return true;
    const first = (await readdir(path)).filter((n) => extname(n).toLowerCase() === '.txt').sort()[0];
    if (!first) return false;
    file = join(path, first);
  }
  const text = await readFile(file, 'utf8');
  const line = text.split(/\r?\n/).find((l) => l.trim());
  const tokens = line?.trim().split(/\s+/) ?? [];
  return (tokens.length === 17 || tokens.length === 18) && /^\d+$/.test(tokens[0]!) && /^-?\d+$/.test(tokens[1]!) && !/^-?[\d.]+$/.test(tokens[2]!);
}

/** The file to read: the path itself, or in a label_02 folder the log's sequence (or its only file). */
async function trackingFile(log: IoLog, path: string): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new LogError(`No such file or folder: ${path}`, { path });
  if (info.isFile()) return path;
  const names = (await readdir(path)).filter((n) => extname(n).toLowerCase() === '.txt').sort();
  const wanted = `${sequenceOf(log)}.txt`;
  if (names.includes(wanted)) return join(path, wanted);
  if (names.length === 1) return join(path, names[0]!);
  throw new LogError(
    names.length
      ? `${path} holds ${names.length} tracking sequences (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}) and none is ${wanted}, the sequence of ${log.info.name}: name the file`
      : `${path} holds no KITTI tracking label files (<seq>.txt)`,
    { path },
  );
}

/** Frame number -> frame index of the log. */
async function frameNumbers(log: IoLog): Promise<(frame: number) => number | undefined> {
  if (log.info.format === 'kitti') {
    const byNumber = new Map<number, number>();
    (await log.frameNames()).forEach((name, i) => {
      if (/^\d+$/.test(name)) byNumber.set(Number(name), i);
    });
    return (frame) => byNumber.get(frame);
  }
  return (frame) => (frame < log.frames.length ? frame : undefined);
}

export async function readKittiTracking(log: IoLog, path: string, options: { camera?: string } = {}): Promise<ReadResult> {
  const file = await trackingFile(log, path);
  const indexOf = await frameNumbers(log);
  const names = await log.frameNames();
  const warnings = new WarningList();
  const parsed = parseLabels(await readFile(file, 'utf8'), file, true);
  for (const w of parsed.warnings) warnings.add(w);
  const byFrame = new Map<number, KittiLabel[]>();
  const unknown = new Set<number>();
  for (const label of parsed.labels) {
    const index = indexOf(label.frame!);
    if (index === undefined) {
      unknown.add(label.frame!);
      continue;
    }
    byFrame.set(index, [...(byFrame.get(index) ?? []), label]);
  }
  if (unknown.size) {
    const list = [...unknown].sort((a, b) => a - b);
    warnings.add(`${file}: frames ${list.slice(0, 5).join(', ')}${list.length > 5 ? ', …' : ''} (${list.length}) are not frames of ${log.info.name} (${log.frames.length} frames); their lines are skipped`);
  }
  const boxes: ImportedBox[] = [];
  for (const [index, labels] of [...byFrame].sort((a, b) => a[0] - b[0])) {
    const camera = await log.kittiCamera(index, options.camera);
    if (!camera && labels.some((l) => l.type !== DONT_CARE)) warnings.add(`${file}: no calibration for frame ${labels[0]!.frame}: 3D boxes left out, 2D boxes kept`);
    const sensorId = camera?.sensorId ?? options.camera ?? 'image_02';
    const stem = names[index] ?? String(index);
    const placed = new Map(labelsToBoxes(labels, stem, sensorId, camera?.egoFromCam).labels3d.map((b) => [b.id, b]));
    const frameId = log.frames[index]!.id;
    for (const label of labels) {
      const box = importedBox(label, index, frameId, sensorId, placed.get(`${stem}:${label.line}`), file);
      if ('skip' in box) warnings.add(box.skip);
      else boxes.push(box);
    }
  }
  return { boxes, warnings: warnings.list(), files: [file], frames: new Set(byFrame.keys()) };
}

/**
 * Writes `<out>/<seq>.txt`: lines sorted by frame then track. Numeric track ids are kept; others get
 * numbers above the largest numeric one (a warning says so); labels without a track get −1.
 */
export async function writeKittiTracking(log: IoLog, labels: readonly LabelRecord[], out: string, options: { withScore: boolean; camera?: string }): Promise<WriteResult> {
  await mkdir(out, { recursive: true });
  const names = await log.frameNames();
  const frameIndex = new Map(log.frames.map((f) => [f.id, f.index]));
  const warnings = new WarningList();
  const numeric = labels.flatMap((l) => (l.trackId !== null && /^\d+$/.test(l.trackId) ? [Number(l.trackId)] : []));
  let nextTrack = numeric.length ? Math.max(...numeric) + 1 : 0;
  const renamed = new Map<string, number>();
  const trackNumber = (trackId: string | null): number => {
    if (trackId === null) return -1;
    if (/^\d+$/.test(trackId)) return Number(trackId);
    let n = renamed.get(trackId);
    if (n === undefined) renamed.set(trackId, (n = nextTrack++));
    return n;
  };
  const rows: { frame: number; track: number; line: string }[] = [];
  let skipped = 0;
  const cameras = new Map<number, Awaited<ReturnType<IoLog['kittiCamera']>>>();
  for (const label of labels) {
    const index = frameIndex.get(label.frameId);
    if (index === undefined) {
      warnings.add(`label ${label.id}: frame ${label.frameId} is not a frame of ${log.info.name}; not written`);
      skipped++;
      continue;
    }
    if (!cameras.has(index)) cameras.set(index, await log.kittiCamera(index, options.camera));
    const line = kittiLine(label, cameras.get(index), options.withScore);
    if (typeof line !== 'string') {
      warnings.add(`label ${label.id} (${label.class}) in frame ${index} not written: ${line.skip}`);
      skipped++;
      continue;
    }
    const name = names[index]!;
    const frame = log.info.format === 'kitti' && /^\d+$/.test(name) ? Number(name) : index;
    rows.push({ frame, track: trackNumber(label.trackId), line });
  }
  if (renamed.size) warnings.add(`${renamed.size} non-numeric track ids were numbered from ${nextTrack - renamed.size} (KITTI track ids are integers)`);
  rows.sort((a, b) => a.frame - b.frame || a.track - b.track);
  const file = join(out, `${sequenceOf(log)}.txt`);
  await writeFile(file, rows.map((r) => `${r.frame} ${r.track} ${r.line}\n`).join(''));
  return { files: [file], written: rows.length, skipped, warnings: warnings.list() };
}
