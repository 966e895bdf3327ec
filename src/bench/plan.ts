// `npm run bench:plan`: the built-in planner per frame (lidar to ego, occupancy grid, lattice search,
// corridor analysis) on the demo drive, and on real KITTI sweeps where the fixtures are present.
//   node dist/src/bench/plan.js [LOG]   a drive log to use instead of the built-in demo
//   SIGHTLINE_FIXTURES                  where the real-data fixtures live (default ../shared/fixtures)
//   SIGHTLINE_BENCH_PLAN_FRAMES         frames to plan on the drive (default 120, spread evenly)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureDemoLog } from '../cli/demoLog.js';
import { detectLog, logIdFromFingerprint, openDriveLog } from '../logs/open.js';
import { buildOccupancyGrid, planFrame, planReferencePath, type OccupancyGrid, type PlannedFrame } from '../plan/index.js';
import { packageRoot } from '../version.js';

const fixtures = resolve(process.env.SIGHTLINE_FIXTURES ?? join(packageRoot, '..', 'shared', 'fixtures'));
const maxFrames = Number(process.env.SIGHTLINE_BENCH_PLAN_FRAMES ?? 120);

function stats(samples: number[]): string {
  if (samples.length === 0) return 'no samples';
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(1);
  return `p50 ${at(0.5)}  p95 ${at(0.95)}  max ${at(1)} ms`;
}

async function benchDrive(path: string): Promise<void> {
  const detected = await detectLog(path);
  const drive = await openDriveLog(path, detected, { logId: logIdFromFingerprint(detected.fingerprint) });
  try {
    await drive.backgroundWork;
    const total = drive.frames.length;
    const step = Math.max(1, Math.floor(total / maxFrames));
    console.log(`${drive.info.name}: ${total} frames, planning every ${step}${step === 1 ? 'st' : 'th'}`);
    const timings: Record<keyof PlannedFrame['timings'], number[]> = { transformMs: [], gridMs: [], planMs: [], corridorMs: [], totalMs: [] };
    // CPU time as well as wall time: on a shared machine the wall time also counts waiting for a core.
    const cpuMs: number[] = [];
    let first: number | undefined;
    let blocked = 0;
    let intruded = 0;
    let frames = 0;
    for (let index = 0; index < total; index += step) {
      const frame = await drive.readFrame(index, { cameras: false, lidar: true });
      const cpu0 = process.cpuUsage();
      const result = planFrame(frame, { plan: { horizonM: 50 } });
      const cpu = process.cpuUsage(cpu0);
      frames++;
      // The first frames run before the JIT has compiled the hot loops: reported apart.
      if (frames <= 3) {
        first ??= result.timings.totalMs;
        continue;
      }
      for (const key of Object.keys(timings) as Array<keyof PlannedFrame['timings']>) timings[key].push(result.timings[key]);
      cpuMs.push((cpu.user + cpu.system) / 1000);
      if (result.planned.blocked) blocked++;
      if (result.intrusions.some((r) => r.intrudes)) intruded++;
      if (frames % 20 === 4) {
        const hits = result.intrusions.filter((r) => r.intrudes).map((r) => `${r.obstacleId}@${r.arcLengthM.toFixed(0)}m`);
        console.log(
          `  t=${frame.timeS.toFixed(1)} s: ${frame.lidar?.count ?? 0} points, ${result.grid.occupiedCells} occupied cells, ` +
            `${result.planned.blocked ? `blocked (stop at ${result.planned.stopDistanceM!.toFixed(1)} m)` : 'clear'}, ` +
            `peak lateral ${Math.max(...result.planned.lateralOffsets.map(Math.abs)).toFixed(2)} m, ` +
            `${result.planned.edgesChecked} edges checked, intrusions [${hits.join(' ')}], ${result.timings.totalMs.toFixed(1)} ms`,
        );
      }
    }
    console.log(`  first frame (cold JIT): ${first?.toFixed(1)} ms`);
    console.log(`  lidar to ego:   ${stats(timings.transformMs)}`);
    console.log(`  occupancy grid: ${stats(timings.gridMs)}`);
    console.log(`  lattice search: ${stats(timings.planMs)}`);
    console.log(`  corridors:      ${stats(timings.corridorMs)}`);
    console.log(`  total per frame: ${stats(timings.totalMs)}  (goal < 50 ms; ${timings.totalMs.length} frames, ${blocked} blocked, ${intruded} with the planned corridor intruded)`);
    console.log(`  CPU per frame:   ${stats(cpuMs)}  (process CPU time, includes GC and JIT threads)`);
  } finally {
    await drive.close();
  }
}

function benchKitti(): void {
  const dir = join(fixtures, 'kitti_raw_2011_09_26_sfnd', 'velodyne_points', 'data');
  if (!existsSync(dir)) {
    console.log(`KITTI: skipped, no fixtures at ${dir}`);
    return;
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.bin')).sort();
  const grid: number[] = [];
  const plan: number[] = [];
  const cpuMs: number[] = [];
  let reuse: OccupancyGrid | undefined;
  for (let round = 0; round < 3; round++) {
    for (const file of files) {
      const bytes = readFileSync(join(dir, file));
      const raw = new Float32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / 16) * 4);
      const count = raw.length / 4;
      const points = new Float32Array(3 * count);
      for (let i = 0; i < count; i++) {
        points[3 * i] = raw[4 * i]!;
        points[3 * i + 1] = raw[4 * i + 1]!;
        points[3 * i + 2] = raw[4 * i + 2]!;
      }
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      // Velodyne frame = ego frame; the car's own roof and mirror returns lie within ~1.3 m of the sensor.
      reuse = buildOccupancyGrid({ points, count, options: { egoFootprint: { xMin: -2.6, xMax: 2.8, yMin: -1.4, yMax: 1.4 } } }, reuse);
      const t1 = performance.now();
      const result = planReferencePath(reuse, { horizonM: 40, speedMps: 8, vehicle: { length: 4.8, width: 1.8, rearAxleToCenter: 0.3 } });
      const t2 = performance.now();
      const cpu = process.cpuUsage(cpu0);
      if (round === 0) {
        console.log(
          `  ${file}: ${count} points, ${reuse.stats.occupiedCells} occupied cells, ` +
            `${result.blocked ? `blocked (stop at ${result.stopDistanceM!.toFixed(1)} m)` : `clear for ${result.lengthM.toFixed(0)} m`}, ` +
            `peak lateral ${Math.max(...result.lateralOffsets.map(Math.abs)).toFixed(2)} m`,
        );
        continue;
      }
      grid.push(t1 - t0);
      plan.push(t2 - t1);
      cpuMs.push((cpu.user + cpu.system) / 1000);
    }
  }
  console.log(`  occupancy grid: ${stats(grid)}`);
  console.log(`  lattice search: ${stats(plan)}`);
  console.log(`  total per frame: ${stats(grid.map((g, i) => g + plan[i]!))}`);
  console.log(`  CPU per frame:   ${stats(cpuMs)}`);
}

const load = () => loadavg()[0]!.toFixed(1);
console.log(`bench:plan on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${load()}`);
const log = process.argv[2] ?? (await ensureDemoLog());
await benchDrive(log);
console.log('KITTI raw 2011_09_26 (real Velodyne sweeps):');
benchKitti();
console.log(`load average at the end: ${load()} (wall times grow with it; CPU times do not)`);
// The log reader's point-decoding worker pool can keep a MessagePort open after close(): exit explicitly.
process.exit(0);
