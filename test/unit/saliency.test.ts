// Occlusion-sensitivity saliency on a real detector (YOLOX-nano, ONNX Runtime CPU) and a real KITTI
// frame: the map of a clear car peaks on the car, the heatmap PNG fits the image, progress and
// abort behave, the tensor-space shortcut agrees with occluding the raster, and cache keys are stable.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalJson,
  computeSaliency,
  imageSha256,
  planOcclusion,
  resolveSaliencyParams,
  SaliencyAbortedError,
  SaliencyError,
  saliencyKey,
  saliencyToPng,
  type SaliencyParams,
  type SaliencyResult,
  type SaliencyTarget,
} from '../../src/explain/index.js';
import { boxIoU, createOutputDecoder, createPreprocessor, createSession, ModelRegistry, type EngineSession, type ResolvedModel } from '../../src/infer/index.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';

if (!hasFixtures) console.warn(`saliency real-model tests skipped: ${fixturesSkipReason}`);

let dir: string;
let savedHome: string | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sightline-saliency-'));
  // Keep the user's class map and registry out of the tests.
  savedHome = process.env.SIGHTLINE_HOME;
  process.env.SIGHTLINE_HOME = join(dir, 'home');
});
afterAll(() => {
  if (savedHome === undefined) delete process.env.SIGHTLINE_HOME;
  else process.env.SIGHTLINE_HOME = savedHome;
  rmSync(dir, { recursive: true, force: true });
});

// YOLOX-nano as SOURCES.md describes it: BGR, raw 0..255, top-left letterbox padded with 114, 416x416.
function yoloxManifest(): Record<string, unknown> {
  const classes = readFileSync(fixture('models', 'yolox_nano', 'coco_classes.txt'), 'utf8').trim().split('\n');
  return {
    id: 'yolox-nano',
    name: 'YOLOX-nano',
    task: 'detect2d',
    format: 'onnx',
    file: 'yolox_nano.onnx',
    input: { name: 'images', width: 416, height: 416, layout: 'NCHW', colorOrder: 'BGR', mean: [0, 0, 0], std: [1, 1, 1], resize: 'letterbox', letterboxAlign: 'top-left', padValue: 114 },
    decoder: { kind: 'yolox', output: 'output' },
    classes,
  };
}

/** KITTI label_2 rows that are clearly visible cars: unoccluded, untruncated, >= 25 px tall. */
function clearCars(path: string): [number, number, number, number][] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((p) => p[0] === 'Car' && Number(p[1]) === 0 && Number(p[2]) === 0 && Number(p[7]) - Number(p[5]) >= 25)
    .map((p) => [Number(p[4]), Number(p[5]), Number(p[6]), Number(p[7])]);
}

const FRAME = ['kitti_object_extra', 'training', '000134'] as const;
// 64 px patches every 32 px: 38 x 11 = 418 passes on the 1224x370 frame, about 5 s on 2 idle cores.
const FULL = { patch: 64, stride: 32, fill: 'mean', region: 'full' } as const;

const inBox = (x: number, y: number, b: { x1: number; y1: number; x2: number; y2: number }) => x >= b.x1 && x <= b.x2 && y >= b.y1 && y <= b.y2;

/** Whether grid cell (cx, cy) holds a value: the window is cell-aligned (edge cells may be cut by the image border). */
const cellInWindow = (r: SaliencyResult, cx: number, cy: number) => {
  const [x, y] = [cx * r.cellSize, cy * r.cellSize];
  return x >= r.window.x1 && x < r.window.x2 && y >= r.window.y1 && y < r.window.y2;
};

/** Mean of the positive part (what the heatmap draws) of cells whose centres fall inside / outside the box, over scanned cells. */
function insideOutside(r: SaliencyResult, box: SaliencyTarget): { inside: number; outside: number; signedInside: number; signedOutside: number } {
  const acc = { in: [0, 0, 0], out: [0, 0, 0] };
  for (let cy = 0; cy < r.height; cy++) {
    for (let cx = 0; cx < r.width; cx++) {
      if (!cellInWindow(r, cx, cy)) continue;
      const x = (cx + 0.5) * r.cellSize;
      const y = (cy + 0.5) * r.cellSize;
      const v = r.values[cy * r.width + cx]!;
      const a = inBox(x, y, box) ? acc.in : acc.out;
      a[0]! += Math.max(0, v);
      a[1]! += v;
      a[2]!++;
    }
  }
  return { inside: acc.in[0]! / acc.in[2]!, outside: acc.out[0]! / acc.out[2]!, signedInside: acc.in[1]! / acc.in[2]!, signedOutside: acc.out[1]! / acc.out[2]! };
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>, keep: (i: number) => boolean): number {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (!keep(i)) continue;
    xs.push(a[i]!);
    ys.push(b[i]!);
  }
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

describe.skipIf(!hasFixtures)('occlusion saliency with YOLOX-nano on KITTI 000134', () => {
  let model: ResolvedModel;
  let session: EngineSession;
  let image: Uint8Array;
  let size: { width: number; height: number };
  let car: SaliencyTarget;
  let full: SaliencyResult;
  let fullProgress: [number, number][];

  beforeAll(async () => {
    const manifestPath = join(dir, 'yolox.json');
    writeFileSync(manifestPath, JSON.stringify(yoloxManifest()));
    const registry = ModelRegistry.open(join(dir, 'reg'));
    await registry.add(fixture('models', 'yolox_nano', 'yolox_nano.onnx'), manifestPath);
    model = await registry.resolve('yolox-nano');
    session = await createSession(model, { device: 'cpu' });
    image = readFileSync(fixture(FRAME[0], FRAME[1], 'image_2', `${FRAME[2]}.png`));
    const meta = await sharp(image).metadata();
    size = { width: meta.width, height: meta.height };

    // The target: the model's own car detection (score >= 0.4) on the labelled clear car.
    const input = await createPreprocessor(model.manifest)({ data: image });
    const [raw] = await session.run([input]);
    const cars = createOutputDecoder(model.manifest)(raw!, input).detections.filter((d) => d.label === 'car' && d.score >= 0.4);
    let best = 0;
    for (const gt of clearCars(fixture(FRAME[0], FRAME[1], 'label_2', `${FRAME[2]}.txt`))) {
      for (const d of cars) {
        const iou = boxIoU([...gt, d.x1, d.y1, d.x2, d.y2], 0, 1);
        if (iou > best) [best, car] = [iou, { x1: d.x1, y1: d.y1, x2: d.x2, y2: d.y2, label: d.label, score: d.score }];
      }
    }
    expect(best, 'a car detection on a labelled clear car').toBeGreaterThanOrEqual(0.5);
    console.log(`target: car ${car.score.toFixed(3)} [${[car.x1, car.y1, car.x2, car.y2].map((v) => v.toFixed(0)).join(', ')}] (IoU ${best.toFixed(2)} with the KITTI label)`);
  });
  afterAll(async () => {
    await session?.dispose();
  });

  it('full-image map: peak inside the car, mean inside >= 2x outside, progress monotonic to the total', async () => {
    fullProgress = [];
    full = await computeSaliency({ image, model, session, target: car, params: { ...FULL, device: 'cpu' }, onProgress: (done, total) => fullProgress.push([done, total]) });
    const plan = planOcclusion(full.params, size.width, size.height, car);
    const ms = full.ms / (full.passes + 1);
    console.log(`full map: ${full.passes} occluded passes + 1 baseline, ${full.ms.toFixed(0)} ms per map (${ms.toFixed(1)} ms per pass) on ${full.backend}, grid ${full.width}x${full.height}`);

    expect(full.backend).toBe('onnx:cpu');
    expect(full.passes).toBe(plan.kxs.length * plan.kys.length);
    expect([full.width, full.height, full.cellSize]).toEqual([Math.ceil(size.width / FULL.stride), Math.ceil(size.height / FULL.stride), FULL.stride]);
    expect(full.values.length).toBe(full.width * full.height);
    expect(full.window).toEqual({ x1: 0, y1: 0, x2: size.width, y2: size.height });
    // Same session, same preprocessing: the baseline is the detection we picked.
    expect(full.baselineScore).toBeCloseTo(car.score, 5);

    console.log(`peak (${full.peak.x.toFixed(0)}, ${full.peak.y.toFixed(0)}) drop ${full.peak.value.toFixed(3)} of ${full.baselineScore.toFixed(3)}`);
    expect(inBox(full.peak.x, full.peak.y, car)).toBe(true);
    expect(full.peak.value).toBeGreaterThan(0.1 * full.baselineScore);

    const io = insideOutside(full, car);
    const ratio = io.inside / io.outside;
    console.log(`mean drop inside the box ${io.inside.toFixed(4)}, outside ${io.outside.toFixed(4)}: ratio ${ratio.toFixed(1)} (signed: ${io.signedInside.toFixed(4)} / ${io.signedOutside.toFixed(4)})`);
    expect(ratio).toBeGreaterThanOrEqual(2);
    expect(io.signedInside).toBeGreaterThan(2 * Math.abs(io.signedOutside));

    // Progress: one call per engine call, strictly increasing, ending at the total.
    expect(fullProgress.length).toBeGreaterThan(1);
    expect(fullProgress.every(([, t]) => t === full.passes)).toBe(true);
    expect(fullProgress.every(([d], i) => i === 0 || d > fullProgress[i - 1]![0])).toBe(true);
    expect(fullProgress.at(-1)).toEqual([full.passes, full.passes]);
  });

  it('a window around the target gives the full map inside the window, with fewer passes', async () => {
    const win = await computeSaliency({ image, model, session, target: car, params: { ...FULL, region: 'target' } });
    console.log(`window map: ${win.passes} passes (${(win.passes / full.passes).toFixed(2)} of full), ${win.ms.toFixed(0)} ms, window [${win.window.x1}, ${win.window.y1}, ${win.window.x2}, ${win.window.y2}]`);
    expect(win.passes).toBeLessThan(full.passes / 2);
    // The window holds the 1.5x box.
    const [w, h] = [car.x2 - car.x1, car.y2 - car.y1];
    expect(win.window.x1).toBeLessThanOrEqual(Math.max(0, car.x1 - w / 4));
    expect(win.window.x2).toBeGreaterThanOrEqual(Math.min(size.width, car.x2 + w / 4));
    expect(win.window.y1).toBeLessThanOrEqual(Math.max(0, car.y1 - h / 4));
    expect(win.window.y2).toBeGreaterThanOrEqual(Math.min(size.height, car.y2 + h / 4));
    let compared = 0;
    for (let cy = 0; cy < win.height; cy++) {
      for (let cx = 0; cx < win.width; cx++) {
        const i = cy * win.width + cx;
        if (cellInWindow(win, cx, cy)) {
          expect(win.values[i]).toBeCloseTo(full.values[i]!, 5);
          compared++;
        } else expect(win.values[i]).toBe(0);
      }
    }
    expect(compared).toBeGreaterThan(20);
    expect(win.peak).toEqual(full.peak);
  });

  it('heatmap PNG: RGBA at the source size, opaque where the car is, clear far from it', async () => {
    for (const colormap of ['turbo', 'jet'] as const) {
      const png = await saliencyToPng(full, size, colormap);
      const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([size.width, size.height, 4]);
      const alpha = (x: number, y: number) => data[(Math.round(y) * info.width + Math.round(x)) * 4 + 3]!;
      let maxAlpha = 0;
      for (let i = 3; i < data.length; i += 4) maxAlpha = Math.max(maxAlpha, data[i]!);
      console.log(`${colormap} heatmap: ${png.length} bytes, alpha at peak ${alpha(full.peak.x, full.peak.y)}, max ${maxAlpha}`);
      // The top cell is full colour at 0.75 alpha; bilinear upsampling lands near, not always on, its value.
      expect(maxAlpha).toBeLessThanOrEqual(Math.round(0.75 * 255));
      expect(maxAlpha).toBeGreaterThan(0.9 * 0.75 * 255);
      expect(alpha(full.peak.x, full.peak.y)).toBeGreaterThan(0.5 * maxAlpha);
      // Far from the car (the far side of the image, in the sky): transparent or nearly.
      const farX = car.x1 > size.width / 2 ? 20 : size.width - 20;
      expect(alpha(farX, 10)).toBeLessThan(0.1 * maxAlpha);
    }
    // A smaller overlay for a thumbnail scales the grid with it.
    const half = await sharp(await saliencyToPng(full, { width: 612, height: 185 })).metadata();
    expect([half.width, half.height]).toEqual([612, 185]);
  });

  it('an AbortSignal stops the scan early with a clear error; an aborted signal never starts', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const t0 = performance.now();
    const run = computeSaliency({
      image,
      model,
      backends: ['onnx:cpu'],
      target: car,
      params: { ...FULL, device: 'cpu', batch: 4 },
      signal: controller.signal,
      onProgress: (done) => {
        seen.push(done);
        if (done >= 40) controller.abort();
      },
    });
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    console.log(`aborted after ${seen.at(-1)} passes in ${(performance.now() - t0).toFixed(0)} ms: ${(error as Error).message}`);
    expect(error).toBeInstanceOf(SaliencyAbortedError);
    const aborted = error as SaliencyAbortedError;
    expect(aborted.name).toBe('AbortError');
    expect([aborted.done, aborted.total]).toEqual([40, full.passes]);
    expect(aborted.message).toMatch(/saliency map aborted after 40 of \d+ occluded forward passes/);
    expect(seen.at(-1)).toBe(40);

    const pre = new AbortController();
    pre.abort();
    await expect(computeSaliency({ image, model, session, target: car, params: FULL, signal: pre.signal })).rejects.toThrow(SaliencyAbortedError);
  });

  it('tensor-space occlusion agrees with occluding the raster; grey and blur fills also peak on the car', async () => {
    const params = { ...FULL, region: 'target', fill: 'gray' } as const;
    const tensor = await computeSaliency({ image, model, session, target: car, params });
    const source = await computeSaliency({ image, model, session, target: car, params: { ...params, space: 'source' } });
    const blur = await computeSaliency({ image, model, session, target: car, params: { ...params, fill: 'blur' } });
    const scanned = (i: number) => cellInWindow(tensor, i % tensor.width, Math.floor(i / tensor.width));
    const r = pearson(tensor.values, source.values, scanned);
    console.log(
      `gray fill, ${tensor.passes} passes: tensor space ${tensor.ms.toFixed(0)} ms, source space ${source.ms.toFixed(0)} ms, correlation ${r.toFixed(3)}; ` +
        `blur fill peak drop ${blur.peak.value.toFixed(3)}`,
    );
    expect(r).toBeGreaterThan(0.9);
    for (const m of [tensor, source, blur]) {
      expect(inBox(m.peak.x, m.peak.y, car)).toBe(true);
      expect(insideOutside(m, car).inside).toBeGreaterThan(2 * insideOutside(m, car).outside);
    }
  });

  it('clear errors: a target the model does not see, a non-box, bad params, an undecodable image', async () => {
    const sky = { x1: 20, y1: 5, x2: 120, y2: 60, label: 'car', score: 0.9 };
    await expect(computeSaliency({ image, model, session, target: sky, params: FULL })).rejects.toThrow(/model "yolox-nano" does not detect the target \(car \[20\.0, 5\.0, 120\.0, 60\.0\]\) on this image/);
    await expect(computeSaliency({ image, model, session, target: { ...car, x2: car.x1 - 1 }, params: FULL })).rejects.toThrow(/is not a box/);
    await expect(computeSaliency({ image, model, session, target: { ...car, x1: 5000, x2: 5100 }, params: FULL })).rejects.toThrow(/lies outside the 1224x370 image/);
    await expect(computeSaliency({ image, model, session, target: car, params: { patch: 0 } })).rejects.toThrow(/patch must be an integer from 2/);
    await expect(computeSaliency({ image, model, session, target: car, params: { patch: 32, stride: 64 } })).rejects.toThrow(/stride must be an integer from 1 to 32/);
    await expect(computeSaliency({ image, model, session, target: car, params: { fill: 'noise' as 'gray' } })).rejects.toThrow(/fill must be one of mean, blur, gray/);
    await expect(computeSaliency({ image: image.subarray(0, 500), model, session, target: car })).rejects.toThrow(SaliencyError);
    await expect(computeSaliency({ image: image.subarray(0, 500), model, session, target: car })).rejects.toThrow(/cannot decode the image \(500 bytes\)/);
  });
});

describe('saliency cache keys', () => {
  const base = resolveSaliencyParams({ patch: 48, stride: 24 }, { width: 1242, height: 375 });
  const target = { x1: 333.28, y1: 177.65, x2: 489.6, y2: 277.55, label: 'car', score: 0.81 };
  const key = (t = target, p: SaliencyParams = base, model = 'a'.repeat(64), img = 'b'.repeat(64)) => saliencyKey(model, img, t, p);

  it('is a sha256 over canonical JSON, stable across key order, float noise and speed-only settings', () => {
    expect(key()).toMatch(/^[0-9a-f]{64}$/);
    expect(canonicalJson({ b: 1, a: [{ d: 'x', c: null }] })).toBe('{"a":[{"c":null,"d":"x"}],"b":1}');
    const reordered = Object.fromEntries(Object.entries(base).reverse()) as SaliencyParams;
    expect(key(target, reordered)).toBe(key());
    expect(key({ ...target, x1: target.x1 + 1e-9 })).toBe(key());
    expect(key({ ...target, score: 0.5 })).toBe(key());
    expect(key(target, { ...base, batch: 8, device: 'gpu' })).toBe(key());
  });

  it('changes with the model, the image, the target and every parameter that changes the map', () => {
    const keys = new Set([
      key(),
      key(target, base, 'c'.repeat(64)),
      key(target, base, undefined, imageSha256(new Uint8Array([1, 2, 3]))),
      key({ ...target, x2: 490 }),
      key({ ...target, label: 'truck' }),
      key(target, { ...base, patch: 64 }),
      key(target, { ...base, stride: 16 }),
      key(target, { ...base, fill: 'blur' }),
      key(target, { ...base, region: 'target' }),
      key(target, { ...base, matchIoU: 0.5 }),
      key(target, { ...base, space: 'source' }),
    ]);
    expect(keys.size).toBe(11);
  });

  it('resolves defaults from the image size', () => {
    expect(resolveSaliencyParams({}, { width: 1242, height: 375 })).toEqual({
      patch: 46,
      stride: 23,
      fill: 'mean',
      region: 'full',
      windowScale: 1.5,
      matchIoU: 0.3,
      scoreFloor: 0.01,
      space: 'tensor',
      batch: 1,
      device: 'auto',
    });
    expect(() => resolveSaliencyParams({ windowScale: 0.5 }, { width: 100, height: 100 })).toThrow(/windowScale must be from 1 to 20/);
  });
});
