// Lidar perception on real KITTI sweeps: ground segmentation, Euclidean clustering, box fitting and
// camera-lidar fusion, checked against the KITTI 3D labels (converted into the Velodyne frame here).
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pointInBox } from '../../src/logs/geometry.js';
import type { Box3D, CameraIntrinsics, Pose, Vec3 } from '../../src/logs/model.js';
import { applyPose, invertPose, poseFromMatrix3x4 } from '../../src/logs/transforms.js';
import {
  clusterPoints,
  clustersToBoxes,
  detectLidarObstacles,
  fastAtan2,
  fuseDetection2DWithLidar,
  fuseDetectionsWithLidar,
  positionsFromRecords,
  projectPointsToCamera,
  segmentGround,
  selectSmallest,
  type FusionCamera,
} from '../../src/infer/lidar/index.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';

if (!hasFixtures) console.warn(`lidar-perception: skipped, ${fixturesSkipReason}`);

// ---- KITTI helpers (test-only: the ingestion readers live elsewhere) ----

interface Sweep {
  name: string;
  positions: Float32Array;
  count: number;
}

function readSweep(path: string, name: string): Sweep {
  const bytes = readFileSync(path);
  if (bytes.byteLength % 16 !== 0) throw new Error(`${path}: ${bytes.byteLength} bytes is not a whole number of 16-byte points`);
  const records = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const { positions, count } = positionsFromRecords(records, 4);
  return { name, positions, count };
}

function parseCalib(path: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    out[line.slice(0, colon).trim()] = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
  }
  return out;
}

interface KittiLabel {
  type: string;
  truncated: number;
  occluded: number;
  bbox: { x1: number; y1: number; x2: number; y2: number };
  /** In the Velodyne frame. */
  box: Box3D;
}

/** velo <- rectified camera 0, from R0_rect · Tr_velo_to_cam. */
function veloFromRect(calib: Record<string, number[]>): Pose {
  const R0 = calib['R0_rect']!;
  const Tr = calib['Tr_velo_to_cam']!;
  const m: number[] = [];
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 4; c++) {
      let sum = 0;
      for (let k = 0; k < 3; k++) sum += R0[3 * r + k]! * Tr[4 * k + c]!;
      m.push(sum);
    }
  return invertPose(poseFromMatrix3x4(m));
}

function parseLabels(path: string, veloFromCam: Pose): KittiLabel[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((line, i) => {
      const f = line.trim().split(/\s+/);
      const n = f.slice(1).map(Number);
      const [truncated, occluded, , x1, y1, x2, y2, h, w, l, x, y, z, ry] = n as number[];
      const center = applyPose(veloFromCam, [x!, y! - h! / 2, z!]);
      return {
        type: f[0]!,
        truncated: truncated!,
        occluded: occluded!,
        bbox: { x1: x1!, y1: y1!, x2: x2!, y2: y2! },
        box: { id: `label-${i}`, label: f[0]!, center, size: [l!, w!, h!] as Vec3, yaw: -ry! - Math.PI / 2 },
      };
    });
}

interface LabelledFrame extends Sweep {
  labels: KittiLabel[];
  camera: FusionCamera;
}

function readLabelledFrame(set: string, id: string): LabelledFrame {
  const root = fixture(set, 'training');
  const calib = parseCalib(`${root}/calib/${id}.txt`);
  const extrinsic = veloFromRect(calib);
  const P = calib['P2']!;
  const intrinsics: CameraIntrinsics = { width: 1242, height: 375, K: [P[0]!, P[1]!, P[2]!, P[4]!, P[5]!, P[6]!, P[8]!, P[9]!, P[10]!], P, distortionModel: 'none', D: [] };
  return {
    ...readSweep(`${root}/velodyne/${id}.bin`, `${set}/${id}`),
    labels: parseLabels(`${root}/label_2/${id}.txt`, extrinsic),
    camera: { intrinsics, extrinsic },
  };
}

function pointsInBox(sweep: Sweep, box: Box3D, margin = 0): number[] {
  const inside: number[] = [];
  for (let i = 0; i < sweep.count; i++) {
    const p: Vec3 = [sweep.positions[3 * i]!, sweep.positions[3 * i + 1]!, sweep.positions[3 * i + 2]!];
    if (pointInBox(box, p, margin)) inside.push(i);
  }
  return inside;
}

const fmt = (x: number, digits = 2) => x.toFixed(digits);

describe.skipIf(!hasFixtures)('lidar perception on KITTI sweeps', () => {
  const labelled = hasFixtures
    ? [
        ...['000000', '000001', '000002'].map((id) => readLabelledFrame('kitti_object_vis', id)),
        ...['000008', '000134'].map((id) => readLabelledFrame('kitti_object_extra', id)),
      ]
    : [];
  const fullScans = labelled.slice(0, 3);
  const rawDir = fixture('kitti_raw_2011_09_26_sfnd', 'velodyne_points', 'data');
  const raw = hasFixtures
    ? readdirSync(rawDir)
        .filter((f) => f.endsWith('.bin'))
        .sort()
        .map((f) => readSweep(`${rawDir}/${f}`, `raw/${f}`))
    : [];
  const cars = (frame: LabelledFrame) => frame.labels.filter((l) => l.type === 'Car');

  it('converts KITTI labels into the Velodyne frame (points fall inside the boxes)', () => {
    let aligned = 0;
    let turned = 0;
    for (const frame of labelled) {
      for (const label of frame.labels.filter((l) => l.type !== 'DontCare')) {
        const inside = pointsInBox(frame, label.box).length;
        const rotated = pointsInBox(frame, { ...label.box, yaw: label.box.yaw + Math.PI / 2 }).length;
        console.log(`${frame.name} ${label.type.padEnd(10)} ${fmt(Math.hypot(label.box.center[0], label.box.center[1]), 1).padStart(5)} m: ${inside} points inside (${rotated} turned 90°)`);
        aligned += inside;
        turned += rotated;
      }
    }
    // A wrong yaw convention would put many points outside the long, thin boxes.
    expect(aligned).toBeGreaterThan(1.2 * turned);
    expect(cars(labelled[2]!).every((c) => pointsInBox(labelled[2]!, c.box).length > 50)).toBe(true);
  });

  it('labels the points below the sensor-height plane as ground, and few car points', () => {
    const sensorHeight = 1.73;
    for (const sweep of [...fullScans, ...raw]) {
      const t0 = performance.now();
      const ground = segmentGround(sweep.positions, sweep.count, { sensorHeight });
      const ms = performance.now() - t0;
      let low = 0;
      let lowGround = 0;
      for (let i = 0; i < sweep.count; i++) {
        const x = sweep.positions[3 * i]!;
        const y = sweep.positions[3 * i + 1]!;
        const z = sweep.positions[3 * i + 2]!;
        // Below the sensor-height plane (plus 0.15 m for road camber and sensor noise), within 40 m.
        if (z < -sensorHeight + 0.15 && x * x + y * y < 40 * 40) {
          low++;
          lowGround += ground.labels[i]!;
        }
      }
      const recall = lowGround / low;
      const accepted = ground.patchAccepted.reduce((a, b) => a + b, 0);
      console.log(
        `${sweep.name}: ${sweep.count} points, ${ground.groundCount} ground; low points labelled ground ${lowGround}/${low} = ${fmt(100 * recall, 1)}%; ` +
          `global plane n=(${ground.globalPlane.normal.map((v) => fmt(v, 3)).join(', ')}) d=${fmt(ground.globalPlane.d)}; patches accepted ${accepted}/${ground.patchAccepted.length}; ${fmt(ms, 1)} ms`,
      );
      expect(low).toBeGreaterThan(1000);
      expect(recall).toBeGreaterThanOrEqual(0.9);
      expect(ground.labels.length).toBe(sweep.count);
      expect(ground.globalPlane.d).toBeGreaterThan(1.4);
      expect(ground.globalPlane.d).toBeLessThan(2.0);
    }

    // Car body points (above the bottom 0.3 m of the labelled box) must stay non-ground.
    let body = 0;
    let bodyGround = 0;
    for (const frame of labelled) {
      const ground = segmentGround(frame.positions, frame.count, { sensorHeight });
      for (const car of cars(frame)) {
        const bottom = car.box.center[2] - car.box.size[2] / 2;
        let n = 0;
        let g = 0;
        for (const i of pointsInBox(frame, car.box)) {
          if (frame.positions[3 * i + 2]! <= bottom + 0.3) continue;
          n++;
          g += ground.labels[i]!;
        }
        console.log(`${frame.name} car at ${fmt(Math.hypot(car.box.center[0], car.box.center[1]), 1)} m: ${g}/${n} body points labelled ground`);
        body += n;
        bodyGround += g;
      }
    }
    console.log(`car body points labelled ground: ${bodyGround}/${body} = ${fmt((100 * bodyGround) / body, 2)}%`);
    expect(body).toBeGreaterThan(1000);
    expect(bodyGround / body).toBeLessThan(0.1);
  });

  it('follows a slope: the same sweep bent onto a 10% ramp keeps its ground labels', () => {
    // Real points, synthetic terrain: beyond 10 m ahead everything is lifted by 10% of the distance,
    // as if the road (and everything on it) climbed a ramp. The grade is far above what the global
    // plane allows, so only the patch-to-patch propagation can follow it.
    for (const sweep of [fullScans[1]!, raw[0]!]) {
      const flat = segmentGround(sweep.positions, sweep.count);
      const ramp = new Float32Array(sweep.positions);
      for (let i = 0; i < sweep.count; i++) {
        const x = ramp[3 * i]!;
        if (x > 10) ramp[3 * i + 2]! += 0.1 * (x - 10);
      }
      const bent = segmentGround(ramp, sweep.count);
      let onRamp = 0;
      let kept = 0;
      let obstacles = 0;
      let obstaclesKept = 0;
      for (let i = 0; i < sweep.count; i++) {
        const x = sweep.positions[3 * i]!;
        if (x < 12 || x > 40) continue;
        if (flat.labels[i] === 1) {
          onRamp++;
          kept += bent.labels[i]!;
        } else if (flat.heights[i]! > 0.5 && flat.heights[i]! < 2.5) {
          obstacles++;
          if (bent.labels[i] === 0) obstaclesKept++;
        }
      }
      console.log(
        `${sweep.name} on a 10% ramp: ground points still ground ${kept}/${onRamp} = ${fmt((100 * kept) / onRamp, 1)}%, ` +
          `obstacle points (0.5-2.5 m) still non-ground ${obstaclesKept}/${obstacles} = ${fmt((100 * obstaclesKept) / obstacles, 1)}%`,
      );
      expect(onRamp).toBeGreaterThan(2000);
      expect(kept / onRamp).toBeGreaterThanOrEqual(0.9);
      expect(obstaclesKept / obstacles).toBeGreaterThanOrEqual(0.95);
    }
  });

  it('finds a cluster inside most labelled cars, with a fitted box near the label', () => {
    let eligible = 0;
    let found = 0;
    let near = 0;
    for (const frame of labelled) {
      const { clustering, boxes } = detectLidarObstacles(frame.positions, frame.count);
      expect(boxes.length).toBe(clustering.clusters.length);
      for (const car of cars(frame)) {
        const inside = pointsInBox(frame, car.box, 0.1);
        const range = Math.hypot(car.box.center[0], car.box.center[1]);
        if (inside.length < 20) {
          console.log(`${frame.name} car at ${fmt(range, 1)} m: ${inside.length} points, not eligible`);
          continue;
        }
        eligible++;
        // For each cluster touching the box: the share of its points inside the box.
        const hits = new Map<number, number>();
        for (const i of inside) {
          const id = clustering.clusterIds[i]!;
          if (id >= 0) hits.set(id, (hits.get(id) ?? 0) + 1);
        }
        let best = -1;
        let bestShare = 0;
        for (const [id, n] of hits) {
          const share = n / clustering.clusters[id]!.count;
          if (share > bestShare || (share === bestShare && n > (hits.get(best) ?? 0))) {
            bestShare = share;
            best = id;
          }
        }
        const ok = bestShare >= 0.5;
        if (ok) found++;
        let line = `${frame.name} car at ${fmt(range, 1)} m (occluded ${car.occluded}): ${inside.length} points; best cluster ${best} holds ${best >= 0 ? hits.get(best) : 0}/${best >= 0 ? clustering.clusters[best]!.count : 0} (${fmt(100 * bestShare, 0)}% inside)`;
        if (ok) {
          const box = boxes[best]!;
          const err = Math.hypot(box.center[0] - car.box.center[0], box.center[1] - car.box.center[1]);
          if (err <= 1.5) near++;
          line += `; fitted box centre off by ${fmt(err)} m, size ${box.size.map((v) => fmt(v, 1)).join('x')} vs ${car.box.size.map((v) => fmt(v, 1)).join('x')}, yaw ${fmt(box.yaw)} vs ${fmt(car.box.yaw)}`;
        }
        console.log(line);
      }
    }
    console.log(`cars with a cluster inside: ${found}/${eligible}; fitted centre within 1.5 m: ${near}/${found}`);
    expect(eligible).toBeGreaterThanOrEqual(8);
    expect(found / eligible).toBeGreaterThanOrEqual(0.75);
    expect(near / found).toBeGreaterThanOrEqual(0.75);
  });

  it('places unoccluded cars at their labelled distance from their 2D boxes', () => {
    let checked = 0;
    let within = 0;
    for (const frame of labelled) {
      const { ground, clustering, boxes } = detectLidarObstacles(frame.positions, frame.count);
      const targets = cars(frame).filter((c) => c.occluded === 0 && c.truncated < 0.3);
      const results = fuseDetectionsWithLidar(
        targets.map((c) => ({ ...c.bbox, label: 'car', score: 1 })),
        frame.positions,
        frame.count,
        frame.camera,
        { groundLabels: ground.labels, clustering, clusterBoxes: boxes },
      );
      targets.forEach((car, k) => {
        const fused = results[k]!;
        const truth = Math.hypot(car.box.center[0], car.box.center[1]);
        const err = Math.abs(fused.distance - truth);
        const ok = err <= Math.max(0.1 * truth, 2);
        checked++;
        if (ok) within++;
        console.log(
          `${frame.name} car: true ${fmt(truth, 1)} m, fused ${fmt(fused.distance, 1)} m via ${fused.method} (${fused.frustumPoints.length} frustum points), error ${fmt(err)} m${ok ? '' : '  <-- outside 10%/2 m'}`,
        );
        // Without clusters the depth-mode estimate must agree too.
        const plain = fuseDetection2DWithLidar({ ...car.bbox, label: 'car', score: 1 }, frame.positions, frame.count, frame.camera, { groundLabels: ground.labels });
        console.log(`   depth-mode only: ${fmt(plain.distance, 1)} m (error ${fmt(Math.abs(plain.distance - truth))} m)`);
        expect(plain.method).toBe('depth-mode');
        expect(Math.abs(plain.distance - truth)).toBeLessThanOrEqual(Math.max(0.15 * truth, 2.5));
      });
    }
    console.log(`fused distance within 10% or 2 m: ${within}/${checked}`);
    expect(checked).toBeGreaterThanOrEqual(4);
    expect(within).toBe(checked);
  });

  it('projects points like geometry.projectEgoPoint and reports no box for an empty frustum', async () => {
    const { projectEgoPoint } = await import('../../src/logs/geometry.js');
    const frame = labelled[2]!;
    const projection = projectPointsToCamera(frame.positions, frame.count, frame.camera);
    let compared = 0;
    for (let i = 0; i < frame.count; i += 997) {
      const p: Vec3 = [frame.positions[3 * i]!, frame.positions[3 * i + 1]!, frame.positions[3 * i + 2]!];
      const expected = projectEgoPoint(frame.camera.intrinsics, frame.camera.extrinsic, p);
      if (!expected || projection.depth[i]! <= 0) continue;
      expect(projection.u[i]).toBeCloseTo(expected[0], 1);
      expect(projection.v[i]).toBeCloseTo(expected[1], 1);
      compared++;
    }
    expect(compared).toBeGreaterThan(20);
    // A box in the sky above the horizon holds no lidar points.
    const sky = fuseDetection2DWithLidar({ x1: 600, y1: 0, x2: 640, y2: 20, label: 'car', score: 1 }, frame.positions, frame.count, frame.camera, { projection });
    expect(sky.method).toBe('none');
    expect(sky.box).toBeUndefined();
    expect(() => fuseDetection2DWithLidar({ x1: 5, y1: 5, x2: 5, y2: 9, label: 'car', score: 1 }, frame.positions, frame.count, frame.camera)).toThrow(/empty/);
  });

  it('rejects malformed inputs with clear errors', () => {
    expect(() => segmentGround(new Float32Array(5), 2)).toThrow(/fewer than count 2/);
    expect(() => clusterPoints(new Float32Array(9), 3, { heights: new Float32Array(1) })).toThrow(/1 heights for 3 points/);
    expect(() => segmentGround(new Float32Array(3), 1, { ringEdges: [1, 2] })).toThrow(/ringEdges/);
    expect(() => positionsFromRecords(new Float32Array(8), 2)).toThrow(/stride/);
    expect(segmentGround(new Float32Array(0), 0).groundCount).toBe(0);
    expect(clusterPoints(new Float32Array(0), 0).clusters).toEqual([]);
    // Missing returns (NaN) are labelled non-ground, never clustered, and do not poison the planes.
    const holes = new Float32Array(raw[0]!.positions);
    for (let i = 0; i < raw[0]!.count; i += 50) holes.fill(Number.NaN, 3 * i, 3 * i + 3);
    for (let i = 25; i < raw[0]!.count; i += 50) holes[3 * i + 2] = Number.NaN;
    const holed = detectLidarObstacles(holes, raw[0]!.count);
    expect(holed.ground.labels[0]).toBe(0);
    expect(holed.ground.labels[25]).toBe(0);
    expect(holed.clustering.clusterIds[25]).toBe(-1);
    expect(Array.from(holed.ground.patchPlanes).every(Number.isFinite)).toBe(true);
    expect(holed.boxes.every((b) => [...b.center, ...b.size, b.yaw].every(Number.isFinite))).toBe(true);
    expect(holed.ground.groundCount).toBeGreaterThan(0.9 * segmentGround(raw[0]!.positions, raw[0]!.count).groundCount);

    // Quickselect leaves exactly the k smallest values in front, whatever the input order.
    const values = Float32Array.from({ length: 501 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 - Math.floor(Math.sin(i * 12.9898) * 43758.5453));
    for (const input of [values, values.slice().sort(), values.slice().sort().reverse(), new Float32Array(64).fill(2)]) {
      const a = input.slice();
      selectSmallest(a, a.length, 20);
      expect(Array.from(a.subarray(0, 20)).sort((p, q) => p - q)).toEqual(Array.from(input.slice().sort().subarray(0, 20)));
    }
    for (const [y, x] of [
      [0.3, 1],
      [-2, -0.5],
      [5, -5],
      [-1e-3, -4],
    ] as const) {
      expect(fastAtan2(y, x)).toBeCloseTo(Math.atan2(y, x), 2);
    }
  });

  it('times the stages on the full raw scans', () => {
    const totals = { ground: 0, clustering: 0, boxes: 0, points: 0, clusters: 0 };
    // One warm-up sweep so JIT compilation is not billed to the first frame.
    detectLidarObstacles(raw[0]!.positions, raw[0]!.count);
    for (const sweep of raw) {
      const result = detectLidarObstacles(sweep.positions, sweep.count);
      totals.ground += result.timings.groundMs;
      totals.clustering += result.timings.clusteringMs;
      totals.boxes += result.timings.boxesMs;
      totals.points += sweep.count;
      totals.clusters += result.clustering.clusters.length;
      expect(clustersToBoxes(sweep.positions, result.clustering).length).toBe(result.boxes.length);
    }
    const n = raw.length;
    console.log(
      `raw scans: ${n} sweeps, ${Math.round(totals.points / n)} points and ${Math.round(totals.clusters / n)} clusters per sweep; ms per sweep: ` +
        `ground ${fmt(totals.ground / n, 1)}, clustering ${fmt(totals.clustering / n, 1)}, boxes ${fmt(totals.boxes / n, 1)}`,
    );
    expect(n).toBe(10);
  });
});
