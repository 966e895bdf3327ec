// Whether the run detected a ground-truth obstacle in a frame: a one-to-one match between the
// frame's ground-truth boxes and the run's 3D detections.
//
// A pair qualifies when the classes are compatible and the boxes overlap in bird's-eye view
// (BEV IoU ≥ matchIoU, default 0.1) or their centres lie within matchDistanceM (default 2 m) of
// each other. The thresholds are deliberately loose: a safety audit asks whether the stack knew
// something was there, not how well the box fits (the metrics answer that). Qualifying pairs are
// assigned greedily, highest IoU first, then nearest centres, so one detection never covers two
// obstacles.
import { bevIoU, centerDistance } from '../eval/iou.js';
import type { Box3D } from '../logs/model.js';
import type { ClassMatch, SafetyParams } from './model.js';

/**
 * Class groups for 'group' matching. A detector that calls a van a car, or a motorcycle a
 * cyclist, has still seen the obstacle; one that calls a pedestrian a car has not classified it,
 * but generic classes (lidar clusters are 'obstacle') match anything: the planner avoids them all.
 */
const GROUPS: Readonly<Record<string, string>> = {
  car: 'vehicle', van: 'vehicle', truck: 'vehicle', bus: 'vehicle', trailer: 'vehicle', tram: 'vehicle', vehicle: 'vehicle',
  construction_vehicle: 'vehicle', emergency_vehicle: 'vehicle', other_vehicle: 'vehicle', police: 'vehicle', ambulance: 'vehicle',
  pedestrian: 'person', person: 'person', person_sitting: 'person', adult: 'person', child: 'person', human: 'person',
  construction_worker: 'person', police_officer: 'person',
  cyclist: 'two-wheeler', bicycle: 'two-wheeler', motorcycle: 'two-wheeler', motorcyclist: 'two-wheeler', motorbike: 'two-wheeler',
  rider: 'two-wheeler', scooter: 'two-wheeler',
};

const GENERIC = new Set(['obstacle', 'object', 'unknown', 'cluster', 'misc', 'other']);

function normalise(label: string): string {
  return label.trim().toLowerCase().replace(/[\s-]+/g, '_');
}

/** The class group of a label: 'vehicle', 'person', 'two-wheeler', 'generic', or the normalised label itself. */
export function classGroup(label: string): string {
  const name = normalise(label);
  if (GENERIC.has(name)) return 'generic';
  const direct = GROUPS[name];
  if (direct) return direct;
  // nuScenes-style dotted categories: 'vehicle.emergency.police' -> 'police', else the first part.
  const parts = name.split('.');
  return GROUPS[parts[parts.length - 1]!] ?? GROUPS[parts[0]!] ?? name;
}

export function classesCompatible(gtLabel: string, detLabel: string, mode: ClassMatch): boolean {
  if (mode === 'any') return true;
  if (mode === 'exact') return normalise(gtLabel) === normalise(detLabel);
  const a = classGroup(gtLabel);
  const b = classGroup(detLabel);
  return a === b || a === 'generic' || b === 'generic';
}

/** For each ground-truth index, the index of the detection that detects it (absent: missed). */
export function matchDetections(
  gts: readonly Box3D[],
  dets: readonly Box3D[],
  params: Pick<SafetyParams, 'matchIoU' | 'matchDistanceM' | 'classMatch'>,
): Map<number, number> {
  const pairs: Array<{ g: number; d: number; iou: number; dist: number }> = [];
  for (let g = 0; g < gts.length; g++) {
    const gt = gts[g]!;
    const rg = Math.hypot(gt.size[0], gt.size[1]) / 2;
    for (let d = 0; d < dets.length; d++) {
      const det = dets[d]!;
      if (!classesCompatible(gt.label, det.label, params.classMatch)) continue;
      const dist = centerDistance(gt, det);
      // Footprints farther apart than their circumradii cannot overlap.
      const iou = dist < rg + Math.hypot(det.size[0], det.size[1]) / 2 ? bevIoU(gt, det) : 0;
      if ((iou > 0 && iou >= params.matchIoU) || dist <= params.matchDistanceM) pairs.push({ g, d, iou, dist });
    }
  }
  pairs.sort((a, b) => b.iou - a.iou || a.dist - b.dist || a.g - b.g || a.d - b.d);
  const out = new Map<number, number>();
  const usedDets = new Set<number>();
  for (const p of pairs) {
    if (out.has(p.g) || usedDets.has(p.d)) continue;
    out.set(p.g, p.d);
    usedDets.add(p.d);
  }
  return out;
}
