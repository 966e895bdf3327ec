// Lidar perception benchmark: ms per sweep for each stage (ground segmentation, clustering, box
// fitting, camera projection + fusion) on the real KITTI fixture sweeps, single-threaded.
// Run: npm run build:core && node dist/src/bench/lidar.js [--rounds N]
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  clusterPoints,
  clustersToBoxes,
  fuseDetectionsWithLidar,
  positionsFromRecords,
  projectPointsToCamera,
  segmentGround,
  type Detection2DLike,
  type FusionCamera,
} from '../infer/lidar/index.js';
import { invertPose, poseFromMatrix3x4 } from '../logs/transforms.js';

const fixturesDir = resolve(process.env.SIGHTLINE_FIXTURES ?? join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'fixtures'));
const roundsArg = process.argv.indexOf('--rounds');
const rounds = roundsArg > 0 ? Math.max(1, Number(process.argv[roundsArg + 1]) || 1) : 5;

interface BenchSweep {
  name: string;
  positions: Float32Array;
  count: number;
  /** Present on the labelled object frames: the label 2D boxes act as camera detections. */
  fusion?: { camera: FusionCamera; detections: Detection2DLike[] };
}

function readSweep(path: string): { positions: Float32Array; count: number } {
  const bytes = readFileSync(path);
  if (bytes.byteLength % 16 !== 0) throw new Error(`${path}: ${bytes.byteLength} bytes is not a whole number of 16-byte KITTI points`);
  return positionsFromRecords(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)), 4);
}

function parseKeyValues(path: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) out[line.slice(0, colon).trim()] = line.slice(colon + 1).trim().split(/\s+/).map(Number);
  }
  return out;
}

function objectFrame(id: string): BenchSweep {
  const root = join(fixturesDir, 'kitti_object_vis', 'training');
  const calib = parseKeyValues(join(root, 'calib', `${id}.txt`));
  const R0 = calib['R0_rect'];
  const Tr = calib['Tr_velo_to_cam'];
  const P = calib['P2'];
  if (!R0 || !Tr || !P) throw new Error(`${join(root, 'calib', `${id}.txt`)}: missing P2, R0_rect or Tr_velo_to_cam`);
  const rectFromVelo: number[] = [];
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) rectFromVelo.push(R0[3 * r]! * Tr[c]! + R0[3 * r + 1]! * Tr[4 + c]! + R0[3 * r + 2]! * Tr[8 + c]!);
  const camera: FusionCamera = {
    intrinsics: { width: 1242, height: 375, K: [P[0]!, P[1]!, P[2]!, P[4]!, P[5]!, P[6]!, P[8]!, P[9]!, P[10]!], P, distortionModel: 'none', D: [] },
    extrinsic: invertPose(poseFromMatrix3x4(rectFromVelo)),
  };
  const detections = readFileSync(join(root, 'label_2', `${id}.txt`), 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 8 && f[0] !== 'DontCare')
    .map((f) => ({ label: f[0]!.toLowerCase(), score: 1, x1: Number(f[4]), y1: Number(f[5]), x2: Number(f[6]), y2: Number(f[7]) }));
  return { name: `object/${id}`, ...readSweep(join(root, 'velodyne', `${id}.bin`)), fusion: { camera, detections } };
}

function stats(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return `mean ${mean.toFixed(1).padStart(5)}  p50 ${at(0.5).toFixed(1).padStart(5)}  p95 ${at(0.95).toFixed(1).padStart(5)} ms`;
}

if (!existsSync(join(fixturesDir, 'SOURCES.md'))) {
  console.log(`bench:lidar skipped: fixtures not found at ${fixturesDir} (set SIGHTLINE_FIXTURES)`);
  process.exit(0);
}

const rawDir = join(fixturesDir, 'kitti_raw_2011_09_26_sfnd', 'velodyne_points', 'data');
const sweeps: BenchSweep[] = [
  ...readdirSync(rawDir)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((f) => ({ name: `raw/${f}`, ...readSweep(join(rawDir, f)) })),
  ...['000000', '000001', '000002'].map(objectFrame),
];
const meanPoints = sweeps.reduce((a, s) => a + s.count, 0) / sweeps.length;
console.log(`lidar bench: ${sweeps.length} KITTI full sweeps (${Math.round(meanPoints)} points on average), ${rounds} rounds after 1 warm-up, one thread`);

const times = { ground: [] as number[], clustering: [] as number[], boxes: [] as number[], total: [] as number[], fusion: [] as number[] };
let clusterCount = 0;
let fusedCount = 0;
let detectionCount = 0;
for (let round = -1; round < rounds; round++) {
  for (const sweep of sweeps) {
    const t0 = performance.now();
    const ground = segmentGround(sweep.positions, sweep.count);
    const t1 = performance.now();
    const clustering = clusterPoints(sweep.positions, sweep.count, { groundLabels: ground.labels, heights: ground.heights });
    const t2 = performance.now();
    const boxes = clustersToBoxes(sweep.positions, clustering);
    const t3 = performance.now();
    if (sweep.fusion) {
      const { camera, detections } = sweep.fusion;
      const projection = projectPointsToCamera(sweep.positions, sweep.count, camera);
      const fused = fuseDetectionsWithLidar(detections, sweep.positions, sweep.count, camera, { groundLabels: ground.labels, clustering, clusterBoxes: boxes, projection });
      const t4 = performance.now();
      if (round >= 0) {
        times.fusion.push(t4 - t3);
        fusedCount += fused.filter((f) => f.method !== 'none').length;
        detectionCount += detections.length;
      }
    }
    if (round < 0) continue;
    times.ground.push(t1 - t0);
    times.clustering.push(t2 - t1);
    times.boxes.push(t3 - t2);
    times.total.push(t3 - t0);
    clusterCount += clustering.clusters.length;
  }
}
console.log(`ground segmentation:        ${stats(times.ground)}`);
console.log(`clustering:                 ${stats(times.clustering)}`);
console.log(`box fitting:                ${stats(times.boxes)}   (${(clusterCount / times.boxes.length).toFixed(0)} clusters per sweep)`);
console.log(`ground + clustering + boxes: ${stats(times.total)}`);
console.log(`projection + fusion:        ${stats(times.fusion)}   (${detectionCount / times.fusion.length} detections per image, ${fusedCount}/${detectionCount} placed)`);
