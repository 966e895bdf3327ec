// Path overlays: what the 3D and camera panels draw for paths. Today they come from the log
// (FrameData.paths: the driven path from the poses, planned paths found in the log); a planner's
// reference path with its corridor intrusions plugs in through `planToOverlays` once the API
// serves it, without the panels changing.
import type { FrameData, Polyline, Vec3 } from '../../src/logs/model.js';
import { poseToMat34 } from './geometry.js';

export type PathKind = 'driven' | 'planned' | 'reference';

/** An obstacle (box id from the labels or a run) that enters a path's corridor. */
export interface CorridorIntrusion {
  boxId: string;
  label?: string;
  /** Distance along the path where it starts, metres. */
  alongM?: number;
  /** How far it reaches into the corridor, metres. */
  depthM?: number;
}

export interface PathOverlay {
  id: string;
  kind: PathKind;
  /** 'ego-driven', a log topic, or the planner's name. */
  source: string;
  stampNs: string;
  /** Ego frame of the frame on screen. */
  points: Vec3[];
  /** Half the corridor width, metres (the ego's half width unless the planner says otherwise). */
  corridorHalfWidth: number;
  intrusions: CorridorIntrusion[];
  /** Whether z is on the road already; otherwise the panels put the path on the estimated ground. */
  onGround: boolean;
}

/** Half the width of a typical passenger car, metres: the corridor of a path without a footprint. */
export const EGO_HALF_WIDTH = 0.95;

export function polylineToOverlay(path: Polyline): PathOverlay {
  const driven = path.source === 'ego-driven';
  return {
    id: path.id,
    kind: driven ? 'driven' : 'planned',
    source: path.source,
    stampNs: path.stampNs,
    points: path.points,
    corridorHalfWidth: EGO_HALF_WIDTH,
    intrusions: [],
    // Poses trace the ego origin, which is on the road for base_link but at the sensor for lidar-as-ego logs.
    onGround: false,
  };
}

/** One obstacle against a corridor, as the planner reports it (src/plan CorridorIntrusion, structurally). */
export interface PlanIntrusionLike {
  obstacleId: string;
  label?: string;
  arcLengthM: number;
  /** minDistance − halfWidth: negative = depth of the intrusion. */
  clearanceM: number;
  intrudes: boolean;
}

/** A planner result for one frame (src/plan PlannedFrame, structurally: the renderer sees only the API). */
export interface PlannedFrameLike {
  frameId: string;
  planned: { points: Vec3[] };
  corridorHalfWidthM: number;
  intrusions: PlanIntrusionLike[];
  /** Obstacles against the driven path ahead. */
  drivenIntrusions?: PlanIntrusionLike[];
}

function toIntrusions(list: readonly PlanIntrusionLike[] | undefined): CorridorIntrusion[] {
  return (list ?? []).filter((i) => i.intrudes).map((i) => ({ boxId: i.obstacleId, label: i.label, alongM: i.arcLengthM, depthM: Math.max(0, -i.clearanceM) }));
}

/**
 * The overlays for a frame once the planner's result is known: the log's paths, the driven one
 * with its intrusions, plus the reference path with its corridor and intrusions.
 */
export function withPlan(overlays: readonly PathOverlay[], plan: PlannedFrameLike, stampNs: string): PathOverlay[] {
  const driven = toIntrusions(plan.drivenIntrusions);
  const out = overlays.map((o) => (o.kind === 'driven' && driven.length ? { ...o, intrusions: driven } : o));
  if (plan.planned.points.length >= 2) {
    out.push({
      id: `reference:${plan.frameId}`,
      kind: 'reference',
      source: 'planner',
      stampNs,
      points: plan.planned.points,
      corridorHalfWidth: plan.corridorHalfWidthM,
      intrusions: toIntrusions(plan.intrusions),
      onGround: false,
    });
  }
  return out;
}

export function pathsFromFrame(frame: FrameData): PathOverlay[] {
  return frame.paths.filter((p) => p.points.length >= 2).map(polylineToOverlay);
}

export const PATH_COLORS: Record<PathKind, string> = {
  driven: '#39d98a',
  planned: '#c88bff',
  reference: '#ffb443',
};

export const INTRUSION_COLOR = '#ff3b3b';

/** Ids of boxes that intrude any corridor (highlighted in every panel). */
export function intrudingIds(overlays: readonly PathOverlay[]): Set<string> {
  const out = new Set<string>();
  for (const o of overlays) for (const i of o.intrusions) out.add(i.boxId);
  return out;
}

/**
 * The road height under the ego origin, metres in the ego frame: the mode of lidar heights in a
 * strip ahead of the ego (mostly road). 0 without lidar (base_link sits on the road).
 */
export function estimateGroundZ(frame: FrameData, egoFromSensor: ArrayLike<number> | null): number {
  const cloud = frame.lidar;
  if (!cloud || cloud.count === 0 || !egoFromSensor) return 0;
  const m = egoFromSensor;
  const bins = new Uint32Array(120); // -4 m .. +2 m in 5 cm bins
  const stride = Math.max(1, Math.floor(cloud.count / 30000));
  const p = cloud.positions;
  let used = 0;
  for (let i = 0; i < cloud.count; i += stride) {
    const x = p[i * 3]!;
    const y = p[i * 3 + 1]!;
    const z = p[i * 3 + 2]!;
    const ex = m[0]! * x + m[1]! * y + m[2]! * z + m[3]!;
    const ey = m[4]! * x + m[5]! * y + m[6]! * z + m[7]!;
    if (ex < 3 || ex > 25 || Math.abs(ey) > 4) continue;
    const ez = m[8]! * x + m[9]! * y + m[10]! * z + m[11]!;
    const bin = Math.floor((ez + 4) / 0.05);
    if (bin < 0 || bin >= bins.length) continue;
    bins[bin]!++;
    used++;
  }
  if (used < 50) return 0;
  let best = 0;
  for (let b = 1; b < bins.length; b++) if (bins[b]! > bins[best]!) best = b;
  return -4 + (best + 0.5) * 0.05;
}

const groundCache = new WeakMap<FrameData, number>();

/** `estimateGroundZ` once per frame (camera panels and the 3D view share it). */
export function groundZOf(frame: FrameData): number {
  let z = groundCache.get(frame);
  if (z === undefined) {
    z = estimateGroundZ(frame, frame.lidar ? poseToMat34(frame.lidar.extrinsic) : null);
    groundCache.set(frame, z);
  }
  return z;
}
