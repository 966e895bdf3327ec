// One call per frame for the core and the UI: lidar into the ego frame, occupancy grid from the
// non-ground points and the boxes, the reference path along the driven direction, and the corridor
// intrusions of the planned and the driven path.
import type { Box3D, FrameData, PointCloud, Vec3 } from '../logs/model.js';
import { hashPlanInputs, PlanCache } from './cache.js';
import { corridorIntrusions, type CorridorIntrusion } from './corridor.js';
import { buildOccupancyGrid, type OccupancyGrid, type OccupancyOptions } from './occupancy.js';
import { pathAhead, wrapAngle } from './paths.js';
import { DEFAULT_VEHICLE, planReferencePath, type PlannedPath, type PlanOptions, type VehicleShape } from './planner.js';

export interface PlanFrameOptions {
  /** Boxes the planner avoids; the frame's ground truth (labels3d) by default, or a run's detections. */
  obstacles?: readonly Box3D[];
  /** Use the lidar sweep (non-ground points) as well as the boxes. Default true. */
  useLidar?: boolean;
  /**
   * Boxes known to be moving (isMovingBox). 'follow' (default): those heading the ego's way (within
   * 45°) are left out of the grid with their lidar points, so the path follows a lead car instead
   * of overtaking it, while oncoming and crossing traffic is avoided where it is now. 'avoid': every
   * box is an obstacle where it is now (a static world). 'ignore': every moving box is left out.
   * The corridor analysis always includes every box.
   */
  movingObstacles?: 'follow' | 'avoid' | 'ignore';
  /** Plan along the frame's driven path (default); false plans straight ahead of the ego. */
  useDrivenPath?: boolean;
  /** Per-point ground labels of the sweep (1 = ground), e.g. from ground segmentation. */
  groundLabels?: Uint8Array;
  occupancy?: Partial<OccupancyOptions>;
  /** Planner options; goalHint defaults to the frame's ego-driven path. */
  plan?: PlanOptions;
  /** Corridor half-width = vehicle width / 2 + this margin, metres (default: the planner clearance, 0.3). */
  corridorMarginM?: number;
  /** Keep the grid in the result (large; off by default so cached results stay small). */
  includeGrid?: boolean;
}

export interface PlannedFrame {
  frameId: string;
  planned: PlannedPath;
  corridorHalfWidthM: number;
  /** Every obstacle (moving ones included) against the planned path's corridor. */
  intrusions: CorridorIntrusion[];
  /** Obstacles against the driven path ahead, when the frame has one. */
  drivenIntrusions?: CorridorIntrusion[];
  grid: { occupiedCells: number; obstaclePoints: number; boxes: number; resolution: number };
  timings: { transformMs: number; gridMs: number; planMs: number; corridorMs: number; totalMs: number };
  gridData?: OccupancyGrid;
}

let egoPoints = new Float32Array(0);

/** The sweep's points in the ego frame, into a buffer reused by the next call (copy it to keep it). */
export function lidarToEgo(cloud: Pick<PointCloud, 'positions' | 'count' | 'extrinsic'>): Float32Array {
  const n = cloud.count;
  if (egoPoints.length < 3 * n) egoPoints = new Float32Array(3 * n);
  const [qx, qy, qz, qw] = cloud.extrinsic.rotation;
  const [tx, ty, tz] = cloud.extrinsic.translation;
  // Rotation matrix of the unit quaternion.
  const r00 = 1 - 2 * (qy * qy + qz * qz);
  const r01 = 2 * (qx * qy - qz * qw);
  const r02 = 2 * (qx * qz + qy * qw);
  const r10 = 2 * (qx * qy + qz * qw);
  const r11 = 1 - 2 * (qx * qx + qz * qz);
  const r12 = 2 * (qy * qz - qx * qw);
  const r20 = 2 * (qx * qz - qy * qw);
  const r21 = 2 * (qy * qz + qx * qw);
  const r22 = 1 - 2 * (qx * qx + qy * qy);
  const src = cloud.positions;
  for (let i = 0; i < n; i++) {
    const x = src[3 * i]!;
    const y = src[3 * i + 1]!;
    const z = src[3 * i + 2]!;
    egoPoints[3 * i] = r00 * x + r01 * y + r02 * z + tx;
    egoPoints[3 * i + 1] = r10 * x + r11 * y + r12 * z + ty;
    egoPoints[3 * i + 2] = r20 * x + r21 * y + r22 * z + tz;
  }
  return egoPoints.subarray(0, 3 * n);
}

let lastGrid: OccupancyGrid | undefined;

/** Whether a box says it moves: a `moving` attribute, or a speed / velocity attribute above 0.5 m/s. */
export function isMovingBox(box: Box3D): boolean {
  const a = box.attributes;
  if (!a) return false;
  if (a.moving !== undefined) return a.moving === true || a.moving === 'true';
  for (const key of ['speed', 'velocity', 'speed_mps']) {
    const v = Number(a[key]);
    if (Number.isFinite(v)) return Math.abs(v) > 0.5;
  }
  return false;
}

/** Drops the points inside any of the boxes (grown by `margin`), compacting points (and labels) in place; returns the new count. */
function removePointsInBoxes(points: Float32Array, count: number, boxes: readonly Box3D[], margin: number, labels?: Uint8Array): number {
  if (boxes.length === 0) return count;
  const shapes = boxes.map((b) => ({
    cx: b.center[0],
    cy: b.center[1],
    c: Math.cos(b.yaw),
    s: Math.sin(b.yaw),
    hl: b.size[0] / 2 + margin,
    hw: b.size[1] / 2 + margin,
    r2: (b.size[0] / 2 + margin) ** 2 + (b.size[1] / 2 + margin) ** 2,
  }));
  let kept = 0;
  for (let i = 0; i < count; i++) {
    const x = points[3 * i]!;
    const y = points[3 * i + 1]!;
    let inside = false;
    for (const b of shapes) {
      const dx = x - b.cx;
      const dy = y - b.cy;
      if (dx * dx + dy * dy > b.r2) continue;
      if (Math.abs(b.c * dx + b.s * dy) <= b.hl && Math.abs(-b.s * dx + b.c * dy) <= b.hw) {
        inside = true;
        break;
      }
    }
    if (inside) continue;
    if (kept !== i) {
      points[3 * kept] = x;
      points[3 * kept + 1] = y;
      points[3 * kept + 2] = points[3 * i + 2]!;
      if (labels) labels[kept] = labels[i]!;
    }
    kept++;
  }
  return kept;
}

export function planFrame(frame: FrameData, options: PlanFrameOptions = {}): PlannedFrame {
  const t0 = performance.now();
  const vehicle: VehicleShape = { ...DEFAULT_VEHICLE, ...options.plan?.vehicle };
  const useLidar = options.useLidar ?? true;
  const allObstacles = options.obstacles ?? frame.labels3d;
  const mode = options.movingObstacles ?? 'follow';
  const heading = options.plan?.start?.heading ?? 0;
  const moving =
    mode === 'avoid' ? [] : allObstacles.filter((b) => isMovingBox(b) && (mode === 'ignore' || Math.abs(wrapAngle(b.yaw - heading)) < Math.PI / 4));
  const obstacles = moving.length ? allObstacles.filter((b) => !moving.includes(b)) : allObstacles;
  let points = useLidar && frame.lidar ? lidarToEgo(frame.lidar) : undefined;
  let groundLabels = options.groundLabels;
  if (points && moving.length) {
    groundLabels = groundLabels?.slice(0, points.length / 3); // compacted alongside the points
    points = points.subarray(0, 3 * removePointsInBoxes(points, points.length / 3, moving, 0.3, groundLabels));
  }
  const t1 = performance.now();
  const start = options.plan?.start;
  const atOrigin = !start || (start.x === 0 && start.y === 0 && start.heading === 0);
  const occupancy: Partial<OccupancyOptions> = { ...options.occupancy };
  if (atOrigin && !occupancy.egoFootprint) {
    // Returns from the ego's own body would block the start.
    const rear = vehicle.rearAxleToCenter - vehicle.length / 2;
    occupancy.egoFootprint = { xMin: rear - 0.3, xMax: rear + vehicle.length + 0.3, yMin: -vehicle.width / 2 - 0.2, yMax: vehicle.width / 2 + 0.2 };
  }
  // Reuse the previous grid's buffers unless the caller keeps the grid.
  const grid = buildOccupancyGrid(
    { points, count: points ? points.length / 3 : 0, groundLabels, obstacles, options: occupancy },
    options.includeGrid ? undefined : lastGrid,
  );
  lastGrid = options.includeGrid ? undefined : grid;
  const t2 = performance.now();
  const driven = frame.paths.find((p) => p.source === 'ego-driven');
  const hint = options.useDrivenPath === false ? undefined : driven?.points;
  const planned = planReferencePath(grid, { goalHint: hint, ...options.plan });
  const t3 = performance.now();
  const halfWidth = vehicle.width / 2 + (options.corridorMarginM ?? options.plan?.clearance ?? 0.3);
  const intrusions = corridorIntrusions(planned.points, halfWidth, allObstacles);
  let drivenIntrusions: CorridorIntrusion[] | undefined;
  if (driven && driven.points.length >= 2) {
    const ahead: Vec3[] = pathAhead(driven.points, start?.x ?? 0, start?.y ?? 0);
    drivenIntrusions = corridorIntrusions(ahead, halfWidth, allObstacles);
  }
  const t4 = performance.now();
  const result: PlannedFrame = {
    frameId: frame.id,
    planned,
    corridorHalfWidthM: halfWidth,
    intrusions,
    grid: { occupiedCells: grid.stats.occupiedCells, obstaclePoints: grid.stats.obstaclePoints, boxes: grid.stats.boxes, resolution: grid.resolution },
    timings: { transformMs: t1 - t0, gridMs: t2 - t1, planMs: t3 - t2, corridorMs: t4 - t3, totalMs: t4 - t0 },
  };
  if (drivenIntrusions) result.drivenIntrusions = drivenIntrusions;
  if (options.includeGrid) result.gridData = grid;
  return result;
}

/** planFrame through a PlanCache keyed by the frame id and the options. */
export function planFrameCached(cache: PlanCache<PlannedFrame>, frame: FrameData, options: PlanFrameOptions = {}): PlannedFrame {
  return cache.getOrCompute(frame.id, hashPlanInputs(options), () => planFrame(frame, options));
}
