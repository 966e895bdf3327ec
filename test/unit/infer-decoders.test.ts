// Output decoders, NMS and preprocessing: hand-built tensors whose boxes are known prove the decode
// maths of each family; the real YOLOX and TwinLiteNet fixture models are checked against the
// fixture reference outputs.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  boxIoU,
  checkOutputShapes,
  createOutputDecoder,
  createPreprocessor,
  createSession,
  effectiveClassMap,
  loadUserClassMap,
  ModelError,
  ModelRegistry,
  nms,
  parseManifest,
  type Detection2D,
  type InputTransform,
  type ModelManifest,
  type PreparedInput,
  type RawOutputs,
} from '../../src/infer/index.js';
import { groups, stack, unstack, batchPlan } from '../../src/infer/engines/batch.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';

if (!hasFixtures) console.warn(`infer-decoders real-model tests skipped: ${fixturesSkipReason}`);

const IDENTITY = (w: number, h: number): InputTransform => ({ srcWidth: w, srcHeight: h, scaleX: 1, scaleY: 1, padX: 0, padY: 0 });
const prepared = (transform: InputTransform): PreparedInput => ({ tensor: new Float32Array(0), dims: [1, 3, 0, 0], transform });

/** A detection manifest around a decoder spec (input 416x416 unless told). */
function detManifest(decoder: Record<string, unknown>, classes: string[], input: Partial<ModelManifest['input']> = {}): ModelManifest {
  return parseManifest(
    {
      id: 'synthetic',
      name: 'synthetic',
      task: decoder.kind === 'segmentation' ? 'segment2d' : 'detect2d',
      format: 'onnx',
      file: 'model.onnx',
      input: { width: 416, height: 416, layout: 'NCHW', colorOrder: 'RGB', mean: [0, 0, 0], std: [1, 1, 1], resize: 'stretch', ...input },
      decoder,
      classes,
    },
    'synthetic manifest',
  );
}

const box = (d: Detection2D) => [d.x1, d.y1, d.x2, d.y2];
const expectBox = (d: Detection2D | undefined, want: number[], tol = 1e-3) => {
  expect(d).toBeDefined();
  box(d!).forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(tol));
};

describe('detection decoders on hand-built tensors', () => {
  it('YOLOX: grid offsets, exp sizes and strides per level, score = obj x cls, per-class NMS, letterbox undone', () => {
    const classes = ['car', 'person'];
    const m = detManifest({ kind: 'yolox', output: 'output', scoreThreshold: 0.25, iouThreshold: 0.45 }, classes, { resize: 'letterbox', letterboxAlign: 'top-left' });
    const rows = 52 * 52 + 26 * 26 + 13 * 13;
    const step = 5 + classes.length;
    const data = new Float32Array(rows * step);
    const put = (row: number, v: number[]) => data.set(v, row * step);
    // Level stride 16 (after 52x52 rows), cell gx 5, gy 3: cx = (0.5 + 5) * 16 = 88, cy = (0.25 + 3) * 16 = 52, w = 4 * 16, h = 2 * 16.
    const cell = 52 * 52 + 3 * 26 + 5;
    put(cell, [0.5, 0.25, Math.log(4), Math.log(2), 0.9, 0.8, 0.3]);
    // A neighbour cell predicting nearly the same box with a lower score: suppressed by NMS for 'car'.
    put(cell + 1, [-0.45, 0.25, Math.log(4), Math.log(2), 0.9, 0.5, 0.0]);
    // Stride 32, cell (12, 12): a small box whose obj x cls = 0.5 x 0.4 = 0.2 is below the threshold.
    put(rows - 1, [0.5, 0.5, 0, 0, 0.5, 0.4, 0]);
    // Source 832x416 letterboxed into 416x416: scale 0.5, no padding at top-left.
    const t: InputTransform = { srcWidth: 832, srcHeight: 416, scaleX: 0.5, scaleY: 0.5, padX: 0, padY: 0 };
    const out = createOutputDecoder(m, { userClassMap: {} })({ output: { data, dims: [1, rows, step] } }, prepared(t)).detections;
    // Model box [56, 36, 120, 68] -> source pixels x2.
    const car = out.filter((d) => d.modelClass === 'car');
    expect(car).toHaveLength(1);
    expectBox(car[0], [112, 72, 240, 136]);
    expect(car[0]!.score).toBeCloseTo(0.72, 5);
    // The same box's person score (0.9 x 0.3 = 0.27) is its own candidate: NMS is per class.
    const person = out.filter((d) => d.modelClass === 'person');
    expect(person).toHaveLength(1);
    expect(person[0]!.label).toBe('pedestrian');
    expect(person[0]!.score).toBeCloseTo(0.27, 5);
    // multiLabel off keeps only each box's best class.
    const single = detManifest({ kind: 'yolox', output: 'output', multiLabel: false }, classes, { resize: 'letterbox', letterboxAlign: 'top-left' });
    expect(createOutputDecoder(single, { userClassMap: {} })({ output: { data, dims: [1, rows, step] } }, prepared(t)).detections.map((d) => d.modelClass)).toEqual(['car']);
  });

  it('YOLOv5: pixel boxes with objectness; clipped to the source image', () => {
    const classes = ['car', 'truck', 'bus'];
    const m = detManifest({ kind: 'yolov5' }, classes);
    const step = 8;
    const rows = [
      [100, 100, 40, 20, 0.8, 0.1, 0.9, 0.05], // truck 0.72 -> [80, 90, 120, 110]
      [400, 10, 40, 40, 0.9, 0.95, 0, 0], // car 0.855, partly outside: clipped to [380, 0, 416, 30]
      [200, 200, 50, 50, 0.4, 0.5, 0.5, 0.5], // 0.2 each: below 0.25
    ];
    const data = Float32Array.from(rows.flat());
    const out = createOutputDecoder(m, { userClassMap: {} })({ out: { data, dims: [1, rows.length, step] } }, prepared(IDENTITY(416, 416))).detections;
    expect(out.map((d) => d.modelClass)).toEqual(['car', 'truck']);
    expectBox(out[0], [380, 0, 416, 30]);
    expectBox(out[1], [80, 90, 120, 110]);
    expect(out[1]!.score).toBeCloseTo(0.72, 5);
  });

  it('YOLOv8: channel-major [1, 4 + C, N] without objectness decodes like the row-major layout', () => {
    const classes = Array.from({ length: 80 }, (_, i) => `c${i}`);
    const m = detManifest({ kind: 'yolov8', iouThreshold: 0.5 }, classes);
    const anchors = [
      { cx: 50, cy: 60, w: 20, h: 30, cls: 2, score: 0.9 },
      { cx: 52, cy: 61, w: 20, h: 30, cls: 2, score: 0.6 }, // IoU ~0.8 with the first: suppressed
      { cx: 300, cy: 200, w: 100, h: 50, cls: 79, score: 0.5 },
      { cx: 10, cy: 10, w: 5, h: 5, cls: 0, score: 0.1 }, // below threshold
    ];
    const n = anchors.length;
    const width = 4 + classes.length;
    const channelMajor = new Float32Array(width * n);
    const rowMajor = new Float32Array(width * n);
    anchors.forEach((a, i) => {
      const v = new Float32Array(width);
      v.set([a.cx, a.cy, a.w, a.h]);
      v[4 + a.cls] = a.score;
      v.forEach((x, k) => {
        channelMajor[k * n + i] = x;
        rowMajor[i * width + k] = x;
      });
    });
    const decode = createOutputDecoder(m, { userClassMap: {} });
    const a = decode({ output0: { data: channelMajor, dims: [1, width, n] } }, prepared(IDENTITY(416, 416))).detections;
    const b = decode({ output0: { data: rowMajor, dims: [1, n, width] } }, prepared(IDENTITY(416, 416))).detections;
    expect(a).toEqual(b);
    expect(a.map((d) => [d.modelClass, Number(d.score.toFixed(3))])).toEqual([
      ['c2', 0.9],
      ['c79', 0.5],
    ]);
    expectBox(a[0], [40, 45, 60, 75]);
    expectBox(a[1], [250, 175, 350, 225]);
  });

  it('SSD: normalized yxyx boxes with a background channel; TF OD API classes + count', () => {
    const classes = ['person', 'car'];
    const m = detManifest(
      { kind: 'ssd', outputs: { boxes: 'boxes', scores: 'scores' }, boxFormat: 'yxyx', normalized: true, backgroundClass: 0, scoreActivation: 'softmax' },
      classes,
      { width: 300, height: 300 },
    );
    const boxes = Float32Array.from([0.1, 0.2, 0.5, 0.6, 0.0, 0.0, 1.0, 1.0]);
    // Row 0 logits favour 'car' (channel 2); row 1 is background.
    const scores = Float32Array.from([0, 0, 3, 5, 0, 0]);
    const out = createOutputDecoder(m, { userClassMap: {} })(
      { boxes: { data: boxes, dims: [1, 2, 4] }, scores: { data: scores, dims: [1, 2, 3] } },
      prepared(IDENTITY(300, 300)),
    ).detections;
    expect(out).toHaveLength(1);
    expect(out[0]!.modelClass).toBe('car');
    expect(out[0]!.score).toBeCloseTo(Math.exp(3) / (Math.exp(3) + 2), 5);
    expectBox(out[0], [60, 30, 180, 150]);

    const tfod = detManifest(
      { kind: 'ssd', outputs: { boxes: 'b', scores: 's', classes: 'c', count: 'n' }, boxFormat: 'xyxy', classIdOffset: -1 },
      classes,
      { width: 300, height: 300 },
    );
    const out2 = createOutputDecoder(tfod, { userClassMap: {} })(
      {
        b: { data: Float32Array.from([10, 10, 50, 50, 100, 100, 200, 150, 0, 0, 5, 5]), dims: [1, 3, 4] },
        s: { data: Float32Array.from([0.9, 0.8, 0.99]), dims: [1, 3] },
        c: { data: Float32Array.from([1, 2, 1]), dims: [1, 3] },
        n: { data: Float32Array.from([2]), dims: [1] },
      },
      prepared(IDENTITY(300, 300)),
    ).detections;
    // Only the first `count` rows are valid; ids are 1-based.
    expect(out2.map((d) => [d.modelClass, d.score])).toEqual([
      ['person', expect.closeTo(0.9, 5)],
      ['car', expect.closeTo(0.8, 5)],
    ]);
  });

  it('NanoDet: softmax over regMax + 1 bins, expectation x stride from the grid point (index + 0.5) x stride', () => {
    const classes = ['car', 'person', 'bicycle'];
    const regMax = 7;
    const bins = regMax + 1;
    const strides = [8, 16, 32];
    const m = detManifest(
      { kind: 'nanodet', strides, regMax, outputs: { scores: ['s8', 's16', 's32'], distributions: ['d8', 'd16', 'd32'] }, scoresActivated: false },
      classes,
      { width: 64, height: 64 },
    );
    const raw: RawOutputs = {};
    for (const s of strides) {
      const n = (64 / s) ** 2;
      raw[`s${s}`] = { data: new Float32Array(n * classes.length).fill(-10), dims: [1, n, classes.length] };
      raw[`d${s}`] = { data: new Float32Array(n * 4 * bins), dims: [1, n, 4 * bins] };
    }
    // Stride 16 grid is 4x4; cell (gx 2, gy 1) -> point ((2 + 0.5) * 16, (1 + 0.5) * 16) = (40, 24).
    const a = 1 * 4 + 2;
    raw.s16!.data[a * 3 + 1] = 2; // person logit -> sigmoid(2) = 0.881
    // Two equal bins k and k + 1 (all others ~0 weight): expectation k + 0.5.
    const sideBins = [0, 0, 0, 0];
    const peaks = [1, 0, 2, 3]; // left 1.5, top 0.5, right 2.5, bottom 3.5 (in strides)
    peaks.forEach((k, side) => {
      const d = raw.d16!.data;
      for (let j = 0; j < bins; j++) d[a * 4 * bins + side * bins + j] = j === k || j === k + 1 ? 30 : -30;
      sideBins[side] = k + 0.5;
    });
    const out = createOutputDecoder(m, { userClassMap: {} })(raw, prepared(IDENTITY(64, 64))).detections;
    expect(out).toHaveLength(1);
    expect(out[0]!.modelClass).toBe('person');
    expect(out[0]!.score).toBeCloseTo(1 / (1 + Math.exp(-2)), 5);
    // x1 = 40 - 1.5 * 16, y1 = 24 - 0.5 * 16, x2 = 40 + 2.5 * 16, y2 = 24 + 3.5 * 16 (clipped to 64).
    expectBox(out[0], [40 - sideBins[0]! * 16, 24 - sideBins[1]! * 16, Math.min(64, 40 + sideBins[2]! * 16), Math.min(64, 24 + sideBins[3]! * 16)]);

    // The same outputs against a manifest with the wrong regMax: a clear shape error.
    const wrong = detManifest({ ...m.decoder, regMax: 10 }, classes, { width: 64, height: 64 });
    expect(() => createOutputDecoder(wrong, { userClassMap: {} })(raw, prepared(IDENTITY(64, 64)))).toThrow(/d8.*\[1, 64, 32\].*44.*11 bins/);
  });

  it('CenterNet: heatmap peaks (3x3 max) with ltrb sizes, and the graph-decoded [K, 6] detections', () => {
    const classes = ['car', 'person'];
    const h = 8;
    const w = 8;
    const heat = new Float32Array(h * w * 2);
    const wh = new Float32Array(h * w * 4);
    const at = (y: number, x: number, c: number, ch: number) => (y * w + x) * ch + c;
    heat[at(2, 3, 1, 2)] = 0.9; // peak: person at cell (x 3, y 2)
    heat[at(2, 4, 1, 2)] = 0.5; // neighbour of the peak: not a peak itself
    heat[at(6, 6, 0, 2)] = 0.4; // an isolated car peak
    wh.set([8, 4, 12, 6], at(2, 3, 0, 4));
    wh.set([2, 2, 2, 2], at(6, 6, 0, 4));
    const m = detManifest({ kind: 'centernet', outputs: { heatmap: 'hm', wh: 'wh' }, stride: 4 }, classes, { width: 32, height: 32, layout: 'NHWC' });
    const out = createOutputDecoder(m, { userClassMap: {} })({ hm: { data: heat, dims: [1, h, w, 2] }, wh: { data: wh, dims: [1, h, w, 4] } }, prepared(IDENTITY(32, 32))).detections;
    expect(out.map((d) => d.modelClass)).toEqual(['person', 'car']);
    expectBox(out[0], [3 * 4 - 8, 2 * 4 - 4, 3 * 4 + 12, 2 * 4 + 6]);
    expectBox(out[1], [22, 22, 26, 26]);

    const graph = detManifest({ kind: 'centernet', outputs: { detections: 'det' } }, classes, { width: 32, height: 32, layout: 'NHWC' });
    const det = Float32Array.from([4, 4, 24, 14, 0.9, 1, 22, 22, 26, 26, 0.4, 0, 0, 0, 1, 1, 0.01, 0]);
    expect(createOutputDecoder(graph, { userClassMap: {} })({ det: { data: det, dims: [1, 3, 6] } }, prepared(IDENTITY(32, 32))).detections).toEqual(out);
  });

  it('class map: dropped classes vanish before NMS; the user file overrides the manifest', () => {
    const classes = ['car', 'truck', 'vase'];
    const m = parseManifest({ ...detManifest({ kind: 'yolov5' }, classes), classMap: { truck: 'car', vase: null } }, 'm');
    const rows = [
      [50, 50, 20, 20, 1, 0.9, 0, 0],
      [50, 50, 20, 20, 1, 0, 0.8, 0],
      [200, 200, 20, 20, 1, 0, 0, 0.99],
    ];
    const raw = { o: { data: Float32Array.from(rows.flat()), dims: [1, 3, 8] } };
    const out = createOutputDecoder(m, { userClassMap: {} })(raw, prepared(IDENTITY(416, 416))).detections;
    expect(out.map((d) => [d.label, d.modelClass])).toEqual([
      ['car', 'car'],
      ['car', 'truck'],
    ]);
    expect(effectiveClassMap(classes, m.classMap, { truck: 'lorry' })).toEqual({ car: 'car', truck: 'lorry', vase: null });
    expect(effectiveClassMap(['person', 'bicycle', 'motorbike', 'chair'], undefined)).toEqual({ person: 'pedestrian', bicycle: 'cyclist', motorbike: 'motorcycle', chair: 'chair' });

    const dir = mkdtempSync(join(tmpdir(), 'sightline-classmap-'));
    try {
      expect(loadUserClassMap(dir)).toEqual({});
      writeFileSync(join(dir, 'class-map.json'), JSON.stringify({ vase: 'pottery', car: null }));
      const user = loadUserClassMap(dir);
      const out2 = createOutputDecoder(m, { userClassMap: user })(raw, prepared(IDENTITY(416, 416))).detections;
      expect(out2.map((d) => d.label)).toEqual(['pottery', 'car']);
      writeFileSync(join(dir, 'class-map.json'), '{"car": 3}');
      expect(() => loadUserClassMap(dir)).toThrow(new RegExp(`${join(dir, 'class-map.json')}.*class name or null`));
      writeFileSync(join(dir, 'class-map.json'), '{"car": ');
      expect(() => loadUserClassMap(dir)).toThrow(/class-map\.json.*not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks declared output shapes against the classes and decoder options', () => {
    const coco80 = Array.from({ length: 80 }, (_, i) => `c${i}`);
    const yolox = detManifest({ kind: 'yolox', output: 'output' }, coco80.slice(0, 79));
    expect(checkOutputShapes(yolox, [{ name: 'output', dims: [1, 3549, 85] }])).toEqual([expect.stringMatching(/has 85 values per row.*79 classes need 84.*classes list/)]);
    expect(checkOutputShapes(detManifest({ kind: 'yolox', output: 'output' }, coco80), [{ name: 'output', dims: [1, 3549, 85] }])).toEqual([]);
    expect(checkOutputShapes(detManifest({ kind: 'yolox', output: 'out' }, coco80), [{ name: 'output', dims: [1, -1, 85] }])).toEqual([
      expect.stringMatching(/no output "out" \(outputs: output\)/),
    ]);
    const nano = detManifest({ kind: 'nanodet', regMax: 7, outputs: { scores: ['a'], distributions: ['b'] }, strides: [8] }, coco80);
    expect(checkOutputShapes(nano, [{ name: 'a:0', dims: [1, 100, 80] }, { name: 'b:0', dims: [1, 100, 44] }])).toEqual([expect.stringMatching(/44 bins per row.*regMax 10 would fit/)]);
  });
});

describe('NMS and batching', () => {
  it('suppresses overlaps per class (or across classes), best first, capped', () => {
    const boxes = Float32Array.from([0, 0, 10, 10, 1, 1, 11, 11, 0, 0, 10, 10, 50, 50, 60, 60]);
    const scores = Float32Array.from([0.8, 0.9, 0.7, 0.6]);
    const classes = Int32Array.from([0, 0, 1, 0]);
    expect([...nms(boxes, scores, classes, 4, 0.5)]).toEqual([1, 2, 3]);
    expect([...nms(boxes, scores, null, 4, 0.5)]).toEqual([1, 3]);
    expect([...nms(boxes, scores, classes, 4, 0.5, 2)]).toEqual([1, 2]);
    expect(boxIoU(boxes, 0, 1)).toBeCloseTo(81 / 119, 6);
  });

  it('stacks inputs for a dynamic batch axis, pads a static one, and splits outputs back', () => {
    const p = (v: number): PreparedInput => ({ tensor: new Float32Array(6).fill(v), dims: [1, 3, 1, 2], transform: IDENTITY(2, 1) });
    expect(groups(5, batchPlan(-1, 2)).map((g) => [g.start, g.count, g.padded])).toEqual([
      [0, 2, 2],
      [2, 2, 2],
      [4, 1, 1],
    ]);
    expect(groups(3, batchPlan(2, 8)).map((g) => g.padded)).toEqual([2, 2]);
    const { data, dims } = stack([p(1), p(2)], 3, [-1, 3, 1, 2], 'model');
    expect(dims).toEqual([3, 3, 1, 2]);
    expect([...data]).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0]);
    expect(() => stack([p(1)], 1, [1, 3, 4, 4], 'model.onnx')).toThrow(/model\.onnx: prepared input \[1, 3, 1, 2\] does not fit the model input \[1, 3, 4, 4\]/);
    const per = unstack({ y: { data: Float32Array.from([1, 2, 3, 4, 5, 6]), dims: [3, 2] } }, 2, 3);
    expect(per.map((r) => [...r.y!.data])).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(per[0]!.y!.dims).toEqual([1, 2]);
  });
});

describe('preprocessing', () => {
  const base = { id: 'p', name: 'p', task: 'detect2d', format: 'onnx', file: 'm.onnx', decoder: { kind: 'yolov5' }, classes: ['a'] };

  it('letterboxes top-left with the pad value, in BGR NCHW with mean and std', async () => {
    const m = parseManifest(
      { ...base, input: { width: 4, height: 4, layout: 'NCHW', colorOrder: 'BGR', mean: [10, 20, 30], std: [2, 4, 5], resize: 'letterbox', letterboxAlign: 'top-left', padValue: 114 } },
      'p',
    );
    // 4x2 RGB pixels: r = 10 + x, g = 100 + y, b = 200.
    const raw = new Uint8Array(4 * 2 * 3);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) raw.set([10 + x, 100 + y, 200], (y * 4 + x) * 3);
    const p = await createPreprocessor(m)({ raw, width: 4, height: 2, channels: 3 });
    expect(p.dims).toEqual([1, 3, 4, 4]);
    expect(p.transform).toEqual({ srcWidth: 4, srcHeight: 2, scaleX: 1, scaleY: 1, padX: 0, padY: 0 });
    const at = (c: number, y: number, x: number) => p.tensor[c * 16 + y * 4 + x]!;
    // Channel 0 is blue: (200 - 10) / 2; channel 1 green: (100 + y - 20) / 4; channel 2 red: (10 + x - 30) / 5.
    expect(at(0, 1, 3)).toBeCloseTo(95, 5);
    expect(at(1, 1, 2)).toBeCloseTo(81 / 4, 5);
    expect(at(2, 0, 3)).toBeCloseTo(-17 / 5, 5);
    // Rows 2-3 are the border: 114 normalized per channel.
    expect([at(0, 3, 0), at(1, 2, 1), at(2, 3, 3)].map((v) => Number(v.toFixed(4)))).toEqual([52, 23.5, 16.8]);
  });

  it('resizes bilinearly with half-pixel centres and centres the letterbox; maps boxes back exactly', async () => {
    const m = parseManifest(
      { ...base, input: { width: 2, height: 2, layout: 'NHWC', colorOrder: 'RGB', mean: [0, 0, 0], std: [1, 1, 1], resize: 'letterbox', padValue: 7 } },
      'p',
    );
    // 4x2 grey ramp 0, 40, 80, 120 -> 2x1: each output samples halfway between two inputs (20, 100).
    const raw = Uint8Array.from([0, 40, 80, 120, 0, 40, 80, 120]);
    const p = await createPreprocessor(m)({ raw, width: 4, height: 2, channels: 1 });
    expect(p.transform).toEqual({ srcWidth: 4, srcHeight: 2, scaleX: 0.5, scaleY: 0.5, padX: 0, padY: 0 });
    expect([...p.tensor]).toEqual([20, 20, 20, 100, 100, 100, 7, 7, 7, 7, 7, 7]);

    const wide = parseManifest({ ...base, input: { ...m.input, width: 4, height: 4 } }, 'p');
    expect((await createPreprocessor(wide)({ raw, width: 4, height: 2, channels: 1 })).transform.padY).toBe(1);
  });

  it('decodes PNG and JPEG through sharp (grey expands to three channels)', async () => {
    const grey = await sharp(Buffer.from([0, 50, 100, 150]), { raw: { width: 2, height: 2, channels: 1 } }).png().toBuffer();
    const m = parseManifest({ ...base, input: { width: 2, height: 2, layout: 'NHWC', colorOrder: 'RGB', mean: [0, 0, 0], std: [1, 1, 1], resize: 'stretch' } }, 'p');
    const p = await createPreprocessor(m)({ data: grey });
    expect([...p.tensor]).toEqual([0, 0, 0, 50, 50, 50, 100, 100, 100, 150, 150, 150]);
    await expect(createPreprocessor(m)({ data: Uint8Array.from([1, 2, 3, 4]) })).rejects.toThrow();
  });
});

describe('segmentation decoder', () => {
  it('argmax per pixel (NCHW) and sigmoid threshold (NHWC), sampled nearest onto the source image', () => {
    const m = parseManifest(
      {
        id: 's',
        name: 's',
        task: 'segment2d',
        format: 'onnx',
        file: 's.onnx',
        input: { width: 4, height: 2, layout: 'NCHW', colorOrder: 'RGB', mean: [0, 0, 0], std: [1, 1, 1], resize: 'stretch' },
        decoder: {
          kind: 'segmentation',
          heads: [
            { output: 'seg', name: 'classes', classes: ['bg', 'road', 'curb'] },
            { output: 'lane', name: 'lane', activation: 'sigmoid', threshold: 0.5, layout: 'NHWC', classes: ['background', 'lane'] },
          ],
        },
        classes: ['bg', 'road', 'curb'],
      },
      's',
    );
    // 3 channels over a 4x2 output; the winning class of each output pixel, row by row.
    const win = [0, 1, 2, 1, 2, 2, 0, 1];
    const seg = new Float32Array(3 * 8);
    win.forEach((c, p) => (seg[c * 8 + p] = 5));
    const lane = Float32Array.from([-1, 2, -3, 0.5, 1, -1, -2, 3]);
    // Source 8x4 stretched to 4x2: each output cell covers 2x2 source pixels.
    const t: InputTransform = { srcWidth: 8, srcHeight: 4, scaleX: 0.5, scaleY: 0.5, padX: 0, padY: 0 };
    const masks = createOutputDecoder(m)({ seg: { data: seg, dims: [1, 3, 2, 4] }, lane: { data: lane, dims: [1, 2, 4, 1] } }, prepared(t)).masks;
    expect(masks.map((k) => [k.head, k.width, k.height, k.classes])).toEqual([
      ['classes', 8, 4, ['bg', 'road', 'curb']],
      ['lane', 8, 4, ['background', 'lane']],
    ]);
    const row = (k: number, y: number) => [...masks[k]!.labels.slice(y * 8, y * 8 + 8)];
    expect(row(0, 0)).toEqual([0, 0, 1, 1, 2, 2, 1, 1]);
    expect(row(0, 3)).toEqual([2, 2, 2, 2, 0, 0, 1, 1]);
    expect(row(1, 1)).toEqual([0, 0, 1, 1, 0, 0, 1, 1]);
    expect(row(1, 2)).toEqual([1, 1, 0, 0, 0, 0, 1, 1]);
    expect(() => createOutputDecoder(m)({ seg: { data: seg, dims: [1, 2, 3, 4] }, lane: { data: lane, dims: [1, 2, 4, 1] } }, prepared(t))).toThrow(/seg.*3 channel\(s\) \(NCHW\)/);
  });
});

/** A manifest for a fixture model, written to the temp folder (fixture paths are never committed). */
function writeManifest(dir: string, name: string, manifest: Record<string, unknown>): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(manifest, null, 2));
  return path;
}

describe.skipIf(!hasFixtures)('fixture ONNX models against their reference outputs', () => {
  let dir: string;
  let registry: ModelRegistry;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sightline-infer-dec-'));
    registry = ModelRegistry.open(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('YOLOX-nano (ONNX, CPU) reproduces the reference detections within tolerance', async () => {
    const onnx = fixture('models', 'yolox_nano', 'yolox_nano.onnx');
    const classes = readFileSync(fixture('models', 'yolox_nano', 'coco_classes.txt'), 'utf8').trim().split('\n');
    const manifestPath = writeManifest(dir, 'yolox.json', {
      id: 'yolox-nano',
      name: 'YOLOX-nano (COCO)',
      task: 'detect2d',
      format: 'onnx',
      file: onnx,
      input: { name: 'images', width: 416, height: 416, layout: 'NCHW', colorOrder: 'BGR', mean: [0, 0, 0], std: [1, 1, 1], resize: 'letterbox', letterboxAlign: 'top-left', padValue: 114 },
      // 0.2 (below the reference's 0.25) so borderline reference boxes are still compared.
      decoder: { kind: 'yolox', output: 'output', strides: [8, 16, 32], scoreThreshold: 0.2, iouThreshold: 0.45 },
      classes,
    });
    await registry.add(onnx, manifestPath);
    const model = await registry.resolve('yolox-nano');
    const session = await createSession(model, { device: 'cpu' });
    expect(session.backend).toBe('onnx:cpu');
    const preprocess = createPreprocessor(model.manifest);
    const decode = createOutputDecoder(model.manifest, { userClassMap: {} });
    const reference = JSON.parse(readFileSync(fixture('models', 'reference_outputs.json'), 'utf8')).yolox_nano.results as Record<
      string,
      { class_id: number; label: string; score: number; box_xyxy: number[] }[]
    >;
    const ious: number[] = [];
    const scoreDiffs: number[] = [];
    let ms = 0;
    let frames = 0;
    for (const [file, refs] of Object.entries(reference)) {
      const input = await preprocess({ data: readFileSync(fixture(file)) });
      const t0 = performance.now();
      const [raw] = await session.run([input]);
      ms += performance.now() - t0;
      frames++;
      const dets = decode(raw!, input).detections;
      for (const ref of refs) {
        let best = 0;
        let match: Detection2D | undefined;
        for (const d of dets) {
          if (d.classIndex !== ref.class_id) continue;
          const iou = boxIoU([...ref.box_xyxy, ...box(d)], 0, 1);
          if (iou > best) [best, match] = [iou, d];
        }
        console.log(`yolox ${file.split('/').pop()} ${ref.label} ${ref.score}: IoU ${best.toFixed(3)} score ${match?.score.toFixed(4) ?? '-'}`);
        // Every reference box is found; confident ones tightly (the reference resized slightly differently).
        expect(best, `${file} ${ref.label} ${ref.score}`).toBeGreaterThan(0.5);
        if (ref.score >= 0.4) {
          expect(best, `${file} ${ref.label} ${ref.score}`).toBeGreaterThan(0.85);
          expect(Math.abs(match!.score - ref.score), `${file} ${ref.label}`).toBeLessThan(0.07);
        }
        ious.push(best);
        scoreDiffs.push(Math.abs(match!.score - ref.score));
      }
      // No confident detection that the reference lacks.
      for (const d of dets.filter((x) => x.score >= 0.45)) {
        expect(refs.some((r) => r.class_id === d.classIndex && boxIoU([...r.box_xyxy, ...box(d)], 0, 1) > 0.5), `${file} extra ${d.modelClass} ${d.score}`).toBe(true);
      }
    }
    const meanIoU = ious.reduce((a, b) => a + b, 0) / ious.length;
    const meanDiff = scoreDiffs.reduce((a, b) => a + b, 0) / scoreDiffs.length;
    console.log(`yolox-nano onnx:cpu: ${(ms / frames).toFixed(1)} ms/frame (session.run), mean IoU ${meanIoU.toFixed(3)}, mean |score diff| ${meanDiff.toFixed(4)} over ${ious.length} boxes`);
    expect(meanIoU).toBeGreaterThan(0.9);
    expect(meanDiff).toBeLessThan(0.03);
    await session.dispose();
  });

  it('TwinLiteNet (ONNX): two masks at source resolution, classes {0, 1}, the road ahead drivable', async () => {
    const onnx = fixture('models', 'twinlitenet', 'twinlitenet_best.onnx');
    const manifestPath = writeManifest(dir, 'twinlitenet.json', {
      id: 'twinlitenet',
      name: 'TwinLiteNet (BDD100K drivable area + lanes)',
      task: 'segment2d',
      format: 'onnx',
      file: onnx,
      input: { name: 'images', width: 640, height: 360, layout: 'NCHW', colorOrder: 'RGB', mean: [0, 0, 0], std: [255, 255, 255], resize: 'stretch' },
      decoder: {
        kind: 'segmentation',
        heads: [
          { output: 'da', name: 'drivable', activation: 'argmax', classes: ['background', 'drivable area'] },
          { output: 'll', name: 'lane', activation: 'argmax', classes: ['background', 'lane line'] },
        ],
      },
      classes: ['background', 'foreground'],
    });
    await registry.add(onnx, manifestPath);
    const model = await registry.resolve('twinlitenet');
    const session = await createSession(model, { device: 'cpu' });
    const preprocess = createPreprocessor(model.manifest);
    const decode = createOutputDecoder(model.manifest, { userClassMap: {} });
    const reference = JSON.parse(readFileSync(fixture('models', 'reference_outputs.json'), 'utf8')).twinlitenet.results as Record<string, { da_positive_fraction: number; ll_positive_fraction: number }>;
    const samples = {
      bdd: { file: 'models/twinlitenet/sample_images_bdd100k/caeb782d-4a20b7c4.jpg', width: 1280, height: 720 },
      kitti: { file: 'kitti_raw_2011_09_26_sfnd/image_02/data/0000000000.png', width: 1242, height: 375 },
    };
    let ms = 0;
    for (const [name, s] of Object.entries(samples)) {
      const input = await preprocess({ data: readFileSync(fixture(s.file)) });
      const t0 = performance.now();
      const [raw] = await session.run([input]);
      ms += performance.now() - t0;
      const { masks, detections } = decode(raw!, input);
      expect(detections).toEqual([]);
      expect(masks.map((k) => [k.head, k.width, k.height, k.labels.length])).toEqual([
        ['drivable', s.width, s.height, s.width * s.height],
        ['lane', s.width, s.height, s.width * s.height],
      ]);
      const fraction = (labels: Uint8Array) => labels.reduce((a, v) => a + v, 0) / labels.length;
      for (const k of masks) expect(new Set(k.labels)).toEqual(new Set([0, 1]));
      const [da, ll] = [fraction(masks[0]!.labels), fraction(masks[1]!.labels)];
      const ref = reference[s.file]!;
      console.log(`twinlitenet ${name}: drivable ${da.toFixed(4)} (reference ${ref.da_positive_fraction}), lane ${ll.toFixed(4)} (reference ${ref.ll_positive_fraction})`);
      expect(Math.abs(da - ref.da_positive_fraction)).toBeLessThan(0.01);
      expect(Math.abs(ll - ref.ll_positive_fraction)).toBeLessThan(0.005);
      if (name === 'bdd') {
        // The lane ahead of the car, above the hood: rows 55-78 %, columns 30-70 %.
        const m = masks[0]!;
        let on = 0;
        let n = 0;
        for (let y = Math.floor(m.height * 0.55); y < Math.floor(m.height * 0.78); y++) {
          for (let x = Math.floor(m.width * 0.3); x < Math.floor(m.width * 0.7); x++, n++) on += m.labels[y * m.width + x]!;
        }
        console.log(`twinlitenet bdd: lower-middle region ${((on / n) * 100).toFixed(1)} % drivable`);
        expect(on / n).toBeGreaterThan(0.85);
      }
    }
    console.log(`twinlitenet onnx:cpu: ${(ms / 2).toFixed(1)} ms/frame (session.run)`);
    await session.dispose();
  });

  it('a model error names the model and what it produced', () => {
    const m = detManifest({ kind: 'yolox', output: 'output' }, ['a']);
    expect(() => createOutputDecoder(m, { userClassMap: {} })({ other: { data: new Float32Array(6), dims: [1, 1, 6] } }, prepared(IDENTITY(1, 1)))).toThrow(ModelError);
    expect(() => createOutputDecoder(m, { userClassMap: {} })({ other: { data: new Float32Array(6), dims: [1, 1, 6] } }, prepared(IDENTITY(1, 1)))).toThrow(/synthetic: the model has no output "output" \(outputs: other\)/);
  });
});
