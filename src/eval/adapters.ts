// Store rows -> evaluation input: a run's detections against a label set's current labels, matched
// by frame id. 2D boxes are compared on one camera (the one most ground-truth 2D boxes are on, unless
// asked); 3D boxes are already in the ego frame on both sides. KITTI truncation and occlusion, DontCare
// (ignore) regions, nuScenes velocities, attributes and point counts come from the labels' attributes.
// Class names are lower-cased on both sides (detectors say 'car', KITTI files 'Car') and then renamed
// through an optional class map, so that one evaluation compares like with like.
import type { Db } from '../store/db.js';
import type { AttributeValue, LabelRecord } from '../labels/model.js';
import { listDetections, listRunFrames, type DetectionRecord } from '../store/detections.js';
import { listLabelRecords } from '../store/labelEvents.js';
import type { EvalBox, EvalFrame, Rect } from './types.js';

export interface EvalSource {
  runId: number;
  labelSetId: number;
  /** Camera whose 2D boxes are compared (default: the one most ground-truth 2D boxes are on). */
  sensorId?: string;
  /** Only these frames (default: every frame the run finished without error). */
  frames?: readonly string[];
  /** Renames applied after lower-casing, keys lower-cased too. */
  classMap?: Record<string, string>;
  /**
   * The geometry the metric compares: ignore regions (DontCare) without it are left out quietly
   * (KITTI DontCare rows have no 3D box; a 3D metric has nothing to do with them).
   */
  geometry?: '2d' | '3d' | 'any';
}

/** The 2D box an object was evaluated with (kept with its record, for crops and size queries). */
export interface ObjectBox {
  sensorId: string | null;
  box2d: Rect | null;
}

export interface AdaptedFrames {
  frames: EvalFrame[];
  /** Frame id -> frame index in the log (from the run's frame table), where known. */
  frameIndex: Map<string, number | null>;
  /** The camera 2D boxes were taken from; null when neither side has 2D boxes. */
  sensorId: string | null;
  gtBoxes: Map<string, ObjectBox>;
  detBoxes: Map<string, ObjectBox>;
  /** The label set's last event id: the state of the ground truth that was read. */
  labelSetEventId: number;
  runDetections: number;
  warnings: string[];
}


const finite = (v: AttributeValue | undefined | null): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Lower case, trimmed, then renamed through the class map. */
export function normaliseClass(name: string, classMap?: Record<string, string>): string {
  const lower = name.trim().toLowerCase();
  const mapped = classMap?.[lower];
  return mapped !== undefined ? mapped.trim().toLowerCase() : lower;
}

function lowerKeys(map: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!map) return undefined;
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k.trim().toLowerCase(), v]));
}

/** The camera most of the given 2D boxes are on (ties: first seen). */
function dominantSensor(sensors: Iterable<string>): string | null {
  const counts = new Map<string, number>();
  for (const s of sensors) counts.set(s, (counts.get(s) ?? 0) + 1);
  let best: string | null = null;
  let bestCount = 0;
  for (const [s, n] of counts) {
    if (n > bestCount) {
      best = s;
      bestCount = n;
    }
  }
  return best;
}

/** The ground-truth EvalBox of one label (2D box only when it is on `sensorId`). */
export function labelToEvalBox(l: LabelRecord, sensorId: string | null, classMap?: Record<string, string>): EvalBox {
  const a = l.attributes;
  const box: EvalBox = { id: String(l.id), label: normaliseClass(l.class, classMap) };
  if (l.box2d && l.box2d.sensorId === sensorId) box.box2d = { x1: l.box2d.x1, y1: l.box2d.y1, x2: l.box2d.x2, y2: l.box2d.y2 };
  if (l.box3d) box.box3d = { center: [...l.box3d.center], size: [...l.box3d.size], yaw: l.box3d.yaw };
  // KITTI writes -1 for "not applicable" (DontCare rows): leave those out rather than count them.
  const truncated = finite(a.truncated);
  if (truncated !== undefined && truncated >= 0) box.truncated = truncated;
  const occluded = finite(a.occluded);
  if (occluded !== undefined && occluded >= 0) box.occluded = occluded;
  if (a.ignore === true || box.label === 'dontcare') box.ignore = true;
  const vx = finite(a.velocity_x);
  const vy = finite(a.velocity_y);
  if (vx !== undefined && vy !== undefined) box.velocity = [vx, vy];
  const attribute = typeof a.attribute_name === 'string' ? a.attribute_name : typeof a.attribute_names === 'string' ? a.attribute_names.split(',')[0] : undefined;
  if (attribute) box.attribute = attribute;
  const lidar = finite(a.num_lidar_pts);
  const radar = finite(a.num_radar_pts);
  if (lidar !== undefined || radar !== undefined) box.numPoints = (lidar ?? 0) + (radar ?? 0);
  const rest: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(a)) if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) rest[k] = v;
  if (Object.keys(rest).length) box.attributes = rest;
  return box;
}

function detectionToEvalBox(d: DetectionRecord, sensorId: string | null, classMap?: Record<string, string>): EvalBox {
  const box: EvalBox = { id: String(d.id), label: normaliseClass(d.class, classMap), score: d.score };
  if (d.box2d && d.sensorId === sensorId) box.box2d = { x1: d.box2d[0], y1: d.box2d[1], x2: d.box2d[2], y2: d.box2d[3] };
  if (d.box3d) box.box3d = { center: [d.box3d.cx, d.box3d.cy, d.box3d.cz], size: [d.box3d.length, d.box3d.width, d.box3d.height], yaw: d.box3d.yaw };
  return box;
}

/**
 * Reads a run's detections and a label set's labels into evaluation frames. Frames are the run's
 * finished frames (labels elsewhere are left out, with a warning: the run never saw them); a frame
 * the run finished with no labels has no ground truth (every detection there is a false positive).
 */
export function loadEvalFrames(db: Db, source: EvalSource): AdaptedFrames {
  const warnings: string[] = [];
  const classMap = lowerKeys(source.classMap);
  const runFrames = listRunFrames(db, source.runId);
  const failed = runFrames.filter((f) => f.error !== null);
  if (failed.length) warnings.push(`${failed.length} frames the run could not use (${failed[0]!.frameId}: ${failed[0]!.error}${failed.length > 1 ? ', …' : ''}) are left out`);
  let frameIds = runFrames.filter((f) => f.error === null).map((f) => f.frameId);
  const frameIndex = new Map<string, number | null>(runFrames.map((f) => [f.frameId, f.frameIndex]));
  if (source.frames) {
    const wanted = new Set(source.frames);
    const known = new Set(frameIds);
    const missing = source.frames.filter((f) => !known.has(f));
    if (missing.length) warnings.push(`${missing.length} requested frames were not finished by run ${source.runId} (${missing[0]}${missing.length > 1 ? ', …' : ''}); left out`);
    frameIds = frameIds.filter((f) => wanted.has(f));
  }
  const inScope = new Set(frameIds);

  const labels = listLabelRecords(db, source.labelSetId);
  const detections = listDetections(db, source.runId);

  const sensorId =
    source.sensorId ??
    dominantSensor(labels.flatMap((l) => (l.box2d && inScope.has(l.frameId) ? [l.box2d.sensorId] : []))) ??
    dominantSensor(detections.flatMap((d) => (d.box2d && inScope.has(d.frameId) ? [d.sensorId] : [])));

  const byFrame = new Map<string, EvalFrame>(frameIds.map((id) => [id, { frameId: id, gts: [], dets: [] }]));
  const gtBoxes = new Map<string, ObjectBox>();
  const detBoxes = new Map<string, ObjectBox>();
  let labelsOutside = 0;
  let gtOtherCamera = 0;
  for (const l of labels) {
    const frame = byFrame.get(l.frameId);
    if (!frame) {
      labelsOutside++;
      continue;
    }
    const box = labelToEvalBox(l, sensorId, classMap);
    if (l.box2d && !box.box2d) gtOtherCamera++;
    // A label only on another camera is not ground truth for this one.
    if (!box.box2d && !box.box3d) continue;
    if (box.ignore && ((source.geometry === '3d' && !box.box3d) || (source.geometry === '2d' && !box.box2d))) continue;
    frame.gts.push(box);
    gtBoxes.set(box.id, { sensorId: box.box2d ? sensorId : null, box2d: box.box2d ?? null });
  }
  if (labelsOutside) warnings.push(`${labelsOutside} labels of set ${source.labelSetId} are on frames run ${source.runId} did not finish; left out`);
  if (gtOtherCamera) warnings.push(`${gtOtherCamera} ground-truth 2D boxes are on cameras other than ${sensorId}; compared in 3D only where they have a 3D box`);

  let detOtherCamera = 0;
  let detDropped = 0;
  for (const d of detections) {
    const frame = byFrame.get(d.frameId);
    if (!frame) continue;
    const box = detectionToEvalBox(d, sensorId, classMap);
    if (d.box2d && !box.box2d) detOtherCamera++;
    if (!box.box2d && !box.box3d) {
      detDropped++;
      continue;
    }
    frame.dets.push(box);
    detBoxes.set(box.id, { sensorId: box.box2d ? sensorId : null, box2d: box.box2d ?? null });
  }
  if (detOtherCamera) warnings.push(`${detOtherCamera} detections are on cameras other than ${sensorId}${detDropped ? `; ${detDropped} of them have no 3D box and are left out` : ''}`);

  const labelSetEventId = (db.prepare('SELECT coalesce(max(id), 0) FROM label_events WHERE label_set_id = ?').pluck().get(source.labelSetId) as number) ?? 0;
  return { frames: [...byFrame.values()], frameIndex, sensorId, gtBoxes, detBoxes, labelSetEventId, runDetections: detections.length, warnings };
}
