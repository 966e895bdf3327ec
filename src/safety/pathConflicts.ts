// Path conflicts of one frame: the ego corridor along each ego path against the ground-truth and
// the detected obstacles, with the distance along the path, time-to-collision at the logged speed,
// and whether the intrusion lies within the braking horizon.
//
// Ego paths, all in the frame's ego frame:
// - 'driven': the recorded trajectory from the ego's position onwards (the 'ego-driven' polyline);
// - 'planned': every other path the log holds (planned paths, by topic), from the point nearest the ego;
// - 'heading': straight ahead along the ego's heading (what the ego does without reacting; off by
//   default, since the driven path already shows it until the ego reacts).
// Each is extended straight along its last heading to minPathLengthM and past the braking horizon:
// near the end of a log the driven path stops short, yet the ego would not. A conflict on that
// extension says so (onExtension). A frame with none of the asked paths falls back to the heading.
//
// Obstacles are taken as standing where they are: conservative for a lead car (its own braking is
// what the horizon guards against), and the only choice when a detector gives no velocity.
import type { Box3D, FrameData, Vec3 } from '../logs/model.js';
import { corridorIntrusions, timeToCollision } from '../plan/corridor.js';
import { pathAhead, polylineStations } from '../plan/paths.js';
import type { EgoPathKind, PathConflict, SafetyParams } from './model.js';

export interface EgoPath {
  kind: EgoPathKind;
  /** 'driven', 'heading', or the planned path's topic. */
  source: string;
  /** From the ego onwards, extended. */
  points: Vec3[];
  /** Length of the part that came from the log (before the extension). */
  recordedLengthM: number;
}

export const corridorHalfWidth = (p: Pick<SafetyParams, 'egoWidthM' | 'corridorMarginM'>): number => p.egoWidthM / 2 + p.corridorMarginM;

/** Stopping distance from the front bumper: v² / (2a) + v·t_reaction + margin; NaN for an unknown speed. */
export function brakingHorizonM(speedMps: number, p: Pick<SafetyParams, 'brakeDecelMps2' | 'reactionTimeS' | 'horizonMarginM'>): number {
  if (!Number.isFinite(speedMps) || speedMps < 0) return Number.NaN;
  return (speedMps * speedMps) / (2 * p.brakeDecelMps2) + speedMps * p.reactionTimeS + p.horizonMarginM;
}

/** Heading of a path's end is taken over this last stretch (pose jitter makes the last segment unreliable). */
const END_HEADING_SPAN_M = 2;
/** Shorter than this, a path has no usable heading: it continues along the ego's (+x). */
const MIN_HEADING_PATH_M = 0.5;

/** The path extended straight along its end heading so that it is at least minLengthM long. */
export function extendStraight(points: readonly Vec3[], minLengthM: number): { points: Vec3[]; recordedLengthM: number } {
  const pts = points.filter((p) => Number.isFinite(p[0] + p[1] + p[2])).map((p) => [...p] as Vec3);
  if (pts.length === 0) pts.push([0, 0, 0]);
  const stations = polylineStations(pts);
  const length = stations[pts.length - 1]!;
  if (length >= minLengthM) return { points: pts, recordedLengthM: length };
  const end = pts[pts.length - 1]!;
  let dx = 1;
  let dy = 0;
  if (length >= MIN_HEADING_PATH_M) {
    let k = pts.length - 2;
    while (k > 0 && length - stations[k]! < END_HEADING_SPAN_M) k--;
    const from = pts[k]!;
    const norm = Math.hypot(end[0] - from[0], end[1] - from[1]);
    if (norm > 0) {
      dx = (end[0] - from[0]) / norm;
      dy = (end[1] - from[1]) / norm;
    }
  }
  const extra = minLengthM - length;
  pts.push([end[0] + dx * extra, end[1] + dy * extra, end[2]]);
  return { points: pts, recordedLengthM: length };
}

/** The frame's ego paths of the asked kinds, each from the ego onwards and extended to minLengthM. */
export function egoPathsOfFrame(frame: Pick<FrameData, 'paths'>, kinds: readonly EgoPathKind[], minLengthM: number): { paths: EgoPath[]; fellBackToHeading: boolean } {
  const paths: EgoPath[] = [];
  for (const line of frame.paths) {
    const kind: EgoPathKind = line.source === 'ego-driven' ? 'driven' : 'planned';
    if (!kinds.includes(kind) || line.points.length === 0) continue;
    const ahead = line.points.length >= 2 ? pathAhead(line.points, 0, 0) : line.points;
    const extended = extendStraight(ahead, minLengthM);
    paths.push({ kind, source: kind === 'driven' ? 'driven' : line.source, ...extended });
  }
  const fellBack = paths.length === 0 && !kinds.includes('heading');
  if (kinds.includes('heading') || fellBack) {
    const length = Math.max(minLengthM, 1);
    paths.push({ kind: 'heading', source: 'heading', points: [[0, 0, 0], [length, 0, 0]], recordedLengthM: length });
  }
  return { paths, fellBackToHeading: fellBack };
}

export interface FrameObstacles {
  frameId: string;
  frameIndex: number;
  /** Logged ego speed, m/s; NaN when unknown. */
  speedMps: number;
  paths: readonly EgoPath[];
  /** Ground truth; trackId names the track (a box without one is a track of its own). */
  groundTruth: readonly Box3D[];
  /** The run's 3D detections; id = the stored detection id. */
  detections: readonly Box3D[];
  /** Ground-truth index -> detection index (matchDetections); undefined when the run has no result for the frame. */
  matches?: ReadonlyMap<number, number>;
}

/**
 * Every obstacle that intrudes a corridor, or passes within nearMissM of it, once per path. Paths
 * must already reach past the braking horizon (egoPathsOfFrame with a long enough minLengthM).
 */
export function frameConflicts(frame: FrameObstacles, params: SafetyParams): PathConflict[] {
  const halfWidth = corridorHalfWidth(params);
  const speed = frame.speedMps;
  const horizon = brakingHorizonM(speed, params);
  const speedKnown = Number.isFinite(speed);
  const out: PathConflict[] = [];
  const detectedBy = new Map<number, number>();
  const gtOfDet = new Map<number, number>();
  for (const [g, d] of frame.matches ?? []) {
    detectedBy.set(g, d);
    gtOfDet.set(d, g);
  }
  const sides: Array<{ origin: 'gt' | 'det'; boxes: readonly Box3D[] }> = [
    { origin: 'gt', boxes: frame.groundTruth },
    { origin: 'det', boxes: frame.detections },
  ];
  for (const path of frame.paths) {
    for (const { origin, boxes } of sides) {
      if (boxes.length === 0) continue;
      // Obstacle ids may repeat across boxes (they are per frame); index them by position instead.
      const indexed = boxes.map((b, i) => ({ ...b, id: String(i) }));
      for (const hit of corridorIntrusions(path.points, halfWidth, indexed, { maxDistanceM: halfWidth + params.nearMissM })) {
        if (!hit.intrudes && hit.clearanceM > params.nearMissM) continue;
        const i = Number(hit.obstacleId);
        const box = boxes[i]!;
        const distanceM = Math.max(0, hit.arcLengthM - params.egoFrontM);
        const ttc = speedKnown ? timeToCollision(hit, speed, { frontOffsetM: params.egoFrontM }) : Infinity;
        let matchedId: string | null = null;
        let detected: boolean | null = null;
        if (origin === 'gt') {
          if (frame.matches) {
            const d = detectedBy.get(i);
            detected = d !== undefined;
            matchedId = d !== undefined ? frame.detections[d]!.id : null;
          }
        } else {
          const g = gtOfDet.get(i);
          matchedId = g !== undefined ? trackKey(frame.groundTruth[g]!, frame.frameId) : null;
        }
        out.push({
          frameId: frame.frameId,
          frameIndex: frame.frameIndex,
          path: path.source,
          origin,
          obstacleId: box.id,
          trackId: origin === 'gt' ? trackKey(box, frame.frameId) : box.id,
          label: box.label,
          arcLengthM: hit.arcLengthM,
          distanceM,
          minDistanceM: hit.minDistanceM,
          clearanceM: hit.clearanceM,
          intrudes: hit.intrudes,
          ttcS: Number.isFinite(ttc) ? ttc : null,
          critical: hit.intrudes && speedKnown && distanceM <= horizon,
          onExtension: hit.arcLengthM > path.recordedLengthM,
          detected,
          matchedId,
          speedMps: speedKnown ? speed : null,
          horizonM: speedKnown ? horizon : null,
        });
      }
    }
  }
  return out;
}

/** The key ground truth is tracked by across frames: the track id, else the box in its frame (a track of its own). */
export function trackKey(box: Pick<Box3D, 'id' | 'trackId'>, frameId: string): string {
  return box.trackId ?? `${frameId}#${box.id}`;
}
