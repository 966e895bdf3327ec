// `npm run bench:eval`: COCO AP on 5,000 images with 100 detections each (goal: under 2 s).
// The data is synthetic and seeded: 80 classes, about 7 ground-truth boxes per image (some crowd),
// detections that are jittered copies of the ground truth (right or wrong class) plus clutter.
import { evaluateCoco } from '../eval/coco.js';
import type { EvalBox, EvalFrame } from '../eval/types.js';
import { createRng } from '../util/rng.js';

const IMAGES = 5000;
const DETS_PER_IMAGE = 100;
const CLASSES = Array.from({ length: 80 }, (_, i) => `class${i}`);

function makeFrames(): EvalFrame[] {
  const rng = createRng(2024);
  const frames: EvalFrame[] = [];
  for (let im = 0; im < IMAGES; im++) {
    const gts: EvalBox[] = [];
    const nGt = 1 + Math.floor(rng() * 13);
    for (let g = 0; g < nGt; g++) {
      const w = 8 + rng() ** 2 * 400;
      const h = w * (0.5 + rng() * 1.5);
      const x1 = rng() * 640;
      const y1 = rng() * 480;
      gts.push({ id: `g${im}-${g}`, label: CLASSES[Math.floor(rng() ** 1.5 * CLASSES.length)]!, box2d: { x1, y1, x2: x1 + w, y2: y1 + h }, ignore: rng() < 0.02 });
    }
    const dets: EvalBox[] = [];
    for (let d = 0; d < DETS_PER_IMAGE; d++) {
      const score = rng();
      if (d < nGt * 3) {
        const g = gts[d % nGt]!.box2d!;
        const w = g.x2 - g.x1;
        const h = g.y2 - g.y1;
        const jx = (rng() - 0.5) * 0.3 * w;
        const jy = (rng() - 0.5) * 0.3 * h;
        const label = rng() < 0.8 ? gts[d % nGt]!.label : CLASSES[Math.floor(rng() * CLASSES.length)]!;
        dets.push({ id: `d${im}-${d}`, label, score, box2d: { x1: g.x1 + jx, y1: g.y1 + jy, x2: g.x2 + jx * rng(), y2: g.y2 + jy * rng() } });
      } else {
        const w = 8 + rng() * 200;
        const h = 8 + rng() * 200;
        const x1 = rng() * 640;
        const y1 = rng() * 480;
        dets.push({ id: `d${im}-${d}`, label: CLASSES[Math.floor(rng() * CLASSES.length)]!, score: score * 0.5, box2d: { x1, y1, x2: x1 + w, y2: y1 + h } });
      }
    }
    frames.push({ frameId: `image${im}`, gts, dets });
  }
  return frames;
}

const t0 = performance.now();
const frames = makeFrames();
const gtCount = frames.reduce((s, f) => s + f.gts.length, 0);
console.log(`generated ${IMAGES} images, ${gtCount} ground-truth boxes, ${IMAGES * DETS_PER_IMAGE} detections in ${(performance.now() - t0).toFixed(0)} ms`);

for (const [name, records] of [
  ['COCO AP, metrics only', false],
  ['COCO AP, with per-object records', true],
] as const) {
  const runs: number[] = [];
  const cpu: number[] = [];
  let ap = NaN;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    const result = evaluateCoco(frames, { records, slices: 'none' });
    runs.push(performance.now() - start);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1000);
    ap = result.overall.AP!;
  }
  runs.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  // CPU time next to wall time: on a busy machine the wall time says more about the neighbours.
  console.log(`${name.padEnd(34)} median ${(runs[1]! / 1000).toFixed(2)} s wall, ${(cpu[1]! / 1000).toFixed(2)} s cpu  (best ${(runs[0]! / 1000).toFixed(2)} s; goal < 2 s)  AP ${ap.toFixed(4)}`);
}
