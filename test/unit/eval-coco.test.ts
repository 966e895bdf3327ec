// COCO-style evaluation on small cases whose AP is worked out by hand below, following pycocotools'
// definitions: greedy matching in score order, precision made monotone from the right, then read at
// the 101 recall points r_i = i * 0.01 with searchsorted('left'); AP = mean over those points, the
// ten IoU thresholds .50:.05:.95 and the classes with ground truth. Also: per-object records, the
// confusion matrix, slices and run comparison, which build on the same matching.
import { describe, expect, it } from 'vitest';
import {
  compareEvaluations,
  compilePredicate,
  evaluate,
  evaluateCoco,
  evaluationToJson,
  EvalError,
  type EvalBox,
  type EvalFrame,
  type EvaluationResult,
  type ObjectRecord,
} from '../../src/eval/index.js';

/** A 2D box from its top-left corner and size; a score makes it a detection. */
function box(id: string, label: string, x: number, y: number, w: number, h: number, score?: number, extra: Partial<EvalBox> = {}): EvalBox {
  return { id, label, box2d: { x1: x, y1: y, x2: x + w, y2: y + h }, ...(score !== undefined ? { score } : {}), ...extra };
}

// pycocotools divides by tp + fp + eps (eps = 2.2e-16), so a perfect precision is 1 - 2.2e-16: APs
// equal to 1 are compared to 12 decimals; recalls (tp / npig) are exact.
const one = (v: number | undefined) => expect(v).toBeCloseTo(1, 12);

const record = (res: EvaluationResult, source: 'gt' | 'det', id: string, frameId?: string): ObjectRecord => {
  const r = res.objects.find((o) => o.source === source && o.id === id && (frameId === undefined || o.frameId === frameId));
  if (!r) throw new Error(`no record for ${source} ${id}`);
  return r;
};

describe('COCO AP, hand-computed cases', () => {
  it('perfect detections: AP, AP50, AP75, every area range and AR are 1', () => {
    // One GT per (image, class), each detected by an identical box: IoU 1 at every threshold, so
    // precision is 1 at every recall point of every threshold, and the final recall is 1.
    // Areas: 20x20 = 400 (small, < 32^2), 50x50 = 2500 (medium), 120x120 = 14400 and 100x100 (large, > 96^2).
    const frames: EvalFrame[] = [
      { frameId: 'a', gts: [box('g1', 'car', 10, 10, 20, 20)], dets: [box('d1', 'car', 10, 10, 20, 20, 0.9)] },
      {
        frameId: 'b',
        gts: [box('g2', 'car', 100, 100, 50, 50), box('g3', 'person', 300, 100, 120, 120)],
        dets: [box('d2', 'car', 100, 100, 50, 50, 0.8), box('d3', 'person', 300, 100, 120, 120, 0.7)],
      },
      { frameId: 'c', gts: [box('g4', 'car', 0, 0, 100, 100)], dets: [box('d4', 'car', 0, 0, 100, 100, 0.6)] },
    ];
    const res = evaluateCoco(frames);
    for (const key of ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl']) one(res.overall[key]);
    for (const key of ['AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl']) expect(res.overall[key], key).toBe(1);
    expect(res.perClass.map((c) => [c.label, c.numGt, c.numDet])).toEqual([
      ['car', 3, 3],
      ['person', 1, 1],
    ]);
    for (const c of res.perClass) one(c.metrics.AP);
    // person has no small or medium ground truth: those figures are undefined for it, not 0.
    expect(res.perClass[1]!.metrics.APs).toBeNaN();
    expect(res.objects.filter((o) => o.outcome === 'tp')).toHaveLength(8);
  });

  it('all missed: AP 0; a class with detections but no ground truth is NaN and left out of the mean', () => {
    // Detections nowhere near the ground truth: no TP at any threshold, precision 0 everywhere.
    const frames: EvalFrame[] = [
      { frameId: 'a', gts: [box('g1', 'car', 0, 0, 50, 50), box('g2', 'car', 200, 0, 50, 50)], dets: [box('d1', 'car', 400, 400, 50, 50, 0.9), box('d2', 'bus', 0, 0, 50, 50, 0.8)] },
      { frameId: 'b', gts: [box('g3', 'car', 0, 0, 50, 50)], dets: [] },
    ];
    const res = evaluateCoco(frames);
    expect(res.overall.AP).toBe(0);
    expect(res.overall.AR100).toBe(0);
    const bus = res.perClass.find((c) => c.label === 'bus')!;
    expect(bus.numGt).toBe(0);
    expect(bus.metrics.AP).toBeNaN();
    expect(res.objects.filter((o) => o.source === 'gt').map((o) => o.outcome)).toEqual(['fn', 'fn', 'fn']);
    // No detections at all: still AP 0 (ground truth exists), not NaN.
    expect(evaluateCoco([{ frameId: 'x', gts: [box('g', 'car', 0, 0, 10, 10)], dets: [] }]).overall.AP).toBe(0);
  });

  it('one FP at the highest score in front of N = 4 TPs: AP = 4/5', () => {
    // Order by score: FP, TP, TP, TP, TP with 4 ground truth.
    //   cumulative tp 0 1 2 3 4, fp 1 1 1 1 1
    //   recall  0   .25  .5   .75  1
    //   prec    0   1/2  2/3  3/4  4/5  -> made monotone from the right: .8 .8 .8 .8 .8
    // Every recall point 0..1 finds an entry (recall reaches 1), so all 101 points read 0.8, at
    // every IoU threshold (boxes are exact): AP = 0.8.
    const gts = [0, 1, 2, 3].map((i) => box(`g${i}`, 'car', i * 100, 0, 50, 50));
    const dets = [box('fp', 'car', 0, 300, 50, 50, 0.95), ...[0, 1, 2, 3].map((i) => box(`t${i}`, 'car', i * 100, 0, 50, 50, 0.9 - i * 0.1))];
    const res = evaluateCoco([{ frameId: 'a', gts, dets }]);
    expect(res.overall.AP).toBeCloseTo(0.8, 12);
    expect(res.overall.AP50).toBeCloseTo(0.8, 12);
    expect(res.overall.AR100).toBe(1);
  });

  it('FP, TP, TP, FP, TP with one GT missed: AP = 49/101, and the PR curve carries the scores', () => {
    // 4 ground truth, detections by score: f1 .95 (FP), t1 .9, t2 .85, f2 .8 (FP), t3 .75; g4 missed.
    //   tp 0 1 2 2 3, fp 1 1 1 2 2
    //   recall 0  .25  .5   .5   .75
    //   prec   0  1/2  2/3  2/4  3/5   -> monotone: 2/3 2/3 2/3 3/5 3/5
    // searchsorted('left') of r_i = i/100 in recall:
    //   i = 0        -> index 0 -> 2/3
    //   i = 1..25    -> index 1 -> 2/3
    //   i = 26..50   -> index 2 -> 2/3
    //   i = 51..75   -> index 4 -> 3/5
    //   i = 76..100  -> past the end -> 0
    // AP = (51 * 2/3 + 25 * 3/5) / 101 = (34 + 15) / 101 = 49/101 at every IoU threshold.
    const gts = [0, 1, 2, 3].map((i) => box(`g${i + 1}`, 'car', i * 100, 0, 50, 50));
    const dets = [
      box('f1', 'car', 0, 300, 50, 50, 0.95),
      box('t1', 'car', 0, 0, 50, 50, 0.9),
      box('t2', 'car', 100, 0, 50, 50, 0.85),
      box('f2', 'car', 100, 300, 50, 50, 0.8),
      box('t3', 'car', 200, 0, 50, 50, 0.75),
    ];
    const res = evaluateCoco([{ frameId: 'a', gts, dets }]);
    expect(res.overall.AP).toBeCloseTo(49 / 101, 12);
    expect(res.overall.AP75).toBeCloseTo(49 / 101, 12);
    expect(res.overall.AR100).toBe(0.75);
    const curve = res.prCurves.find((c) => c.label === 'car' && c.key === 'iou=0.50')!;
    expect(curve.recall).toHaveLength(101);
    expect(curve.precision[50]).toBeCloseTo(2 / 3, 12);
    expect(curve.precision[51]).toBeCloseTo(3 / 5, 12);
    expect(curve.precision[76]).toBe(0);
    // Scores: recall 0 reads the first detection (the FP at .95), then the TP that reaches each recall.
    expect([curve.scores[0], curve.scores[25], curve.scores[50], curve.scores[75], curve.scores[76]]).toEqual([0.95, 0.9, 0.85, 0.75, 0]);
  });

  it('ties in score: images in order, then detections in input order, as pycocotools mergesort', () => {
    // Two images with one GT each; an FP and a TP both scored 0.9.
    // FP first: tp 0 1, fp 1 1 -> recall 0 .5, prec 0 1/2 -> monotone 1/2 1/2 -> points 0..50 read 1/2:
    //   AP = 51 * 0.5 / 101 = 25.5/101.
    // TP first: tp 1 1, fp 0 1 -> recall .5 .5, prec 1 1/2 -> monotone 1 1/2 -> points 0..50 read 1:
    //   AP = 51/101.
    const gtA = box('ga', 'car', 0, 0, 50, 50);
    const gtB = box('gb', 'car', 0, 0, 50, 50);
    const fp = (id: string) => box(id, 'car', 300, 300, 50, 50, 0.9);
    const tp = (id: string) => box(id, 'car', 0, 0, 50, 50, 0.9);
    const fpFirst = evaluateCoco([
      { frameId: 'a', gts: [gtA], dets: [fp('f')] },
      { frameId: 'b', gts: [gtB], dets: [tp('t')] },
    ]);
    expect(fpFirst.overall.AP).toBeCloseTo(25.5 / 101, 12);
    const tpFirst = evaluateCoco([
      { frameId: 'a', gts: [gtA], dets: [tp('t')] },
      { frameId: 'b', gts: [gtB], dets: [fp('f')] },
    ]);
    expect(tpFirst.overall.AP).toBeCloseTo(51 / 101, 12);
    // Within one image (two GT): the listing order decides, the same arithmetic with npig = 2.
    const g2 = box('g2', 'car', 100, 0, 50, 50);
    expect(evaluateCoco([{ frameId: 'a', gts: [gtA, g2], dets: [fp('f'), tp('t')] }]).overall.AP).toBeCloseTo(25.5 / 101, 12);
    expect(evaluateCoco([{ frameId: 'a', gts: [gtA, g2], dets: [tp('t'), fp('f')] }]).overall.AP).toBeCloseTo(51 / 101, 12);
  });

  it('crowd regions absorb any number of detections (overlap over the detection area), which are ignored, not FP', () => {
    // Regular GT g [0,0,40,40]; crowd region c [100,0,300,100] (ignore: true).
    // Detections by score:
    //   P .97 [250,10,330,30]: 80x20 = 1600, inside the crowd 50x20 = 1000 -> overlap 1000/1600 = 0.625
    //   C .95 [110,10,150,50]: fully inside the crowd -> overlap 1
    //   T .90 on g (IoU 1)
    //   F .80 far away
    // IoU thresholds .50 .55 .60 (<= .625): P and C match the crowd and are ignored:
    //   tp 0 0 1 1, fp 0 0 0 1 -> prec 0 0 1 1/2 -> monotone 1 1 1 1/2; recall reaches 1 at T -> AP_t = 1.
    // Thresholds .65 ... .95: P no longer matches (an FP), C still does:
    //   tp 0 0 1 1, fp 1 1 1 2 -> prec 0 0 1/2 1/3 -> monotone 1/2 1/2 1/2 1/3 -> AP_t = 1/2.
    // AP = (3 * 1 + 7 * 1/2) / 10 = 0.65; AP50 = 1; AP75 = 1/2.
    const frames: EvalFrame[] = [
      {
        frameId: 'a',
        gts: [box('g', 'car', 0, 0, 40, 40), box('c', 'car', 100, 0, 200, 100, undefined, { ignore: true })],
        dets: [box('P', 'car', 250, 10, 80, 20, 0.97), box('C', 'car', 110, 10, 40, 40, 0.95), box('T', 'car', 0, 0, 40, 40, 0.9), box('F', 'car', 500, 500, 40, 40, 0.8)],
      },
    ];
    const res = evaluateCoco(frames);
    expect(res.overall.AP).toBeCloseTo(0.65, 12);
    one(res.overall.AP50);
    expect(res.overall.AP75).toBeCloseTo(0.5, 12);
    expect(res.perClass[0]!.numGt).toBe(1); // the crowd does not count
    // Records are taken at IoU .50: both crowd detections ignored, with the overlap that matched.
    expect(record(res, 'det', 'P')).toMatchObject({ outcome: 'ignored', ignoreReason: 'crowd', matchedId: 'c', iou: 0.625 });
    expect(record(res, 'det', 'C')).toMatchObject({ outcome: 'ignored', ignoreReason: 'crowd', matchedId: 'c', iou: 1 });
    expect(record(res, 'det', 'F').outcome).toBe('fp');
    expect(record(res, 'gt', 'c')).toMatchObject({ outcome: 'ignored', ignoreReason: 'crowd' });
    // At IoU .75 the partial one is an FP.
    expect(record(evaluateCoco(frames, { recordIou: 0.75 }), 'det', 'P').outcome).toBe('fp');
  });

  it('maxDets and area ranges: AR1 counts one detection per image and class; GT outside a range is ignored with its matches', () => {
    // Two cars in one image, both detected exactly: with maxDets 1 only the .9 one counts -> AR1 = 1/2,
    // AR10 = AR100 = 1.
    const twoCars = evaluateCoco([
      { frameId: 'a', gts: [box('g1', 'car', 0, 0, 50, 50), box('g2', 'car', 100, 0, 50, 50)], dets: [box('d1', 'car', 0, 0, 50, 50, 0.9), box('d2', 'car', 100, 0, 50, 50, 0.8)] },
    ]);
    expect([twoCars.overall.AR1, twoCars.overall.AR10, twoCars.overall.AR100]).toEqual([0.5, 1, 1]);
    one(twoCars.overall.AP);
    // A small GT (20x20 = 400) missed and a large one (100x100) found (score .9):
    //   small range: the large GT is ignored, so its detection is ignored too; 1 GT, no TP -> APs = 0
    //   large range: the small GT is ignored; 1 GT, 1 TP -> APl = 1
    //   medium range: no GT -> APm undefined (NaN)
    //   all: 2 GT, one TP at the top -> recall .5, precision 1 -> points 0..50 read 1 -> AP = 51/101
    const sizes = evaluateCoco([{ frameId: 'a', gts: [box('s', 'car', 0, 0, 20, 20), box('l', 'car', 200, 0, 100, 100)], dets: [box('d', 'car', 200, 0, 100, 100, 0.9)] }]);
    expect(sizes.overall.APs).toBe(0);
    one(sizes.overall.APl);
    expect(sizes.overall.APm).toBeNaN();
    expect(sizes.overall.AP).toBeCloseTo(51 / 101, 12);
  });
});

describe('per-object records and the confusion matrix', () => {
  // A: car found as 'truck' (IoU 1), B: person found, C: car missed; plus a car FP far away.
  const frames: EvalFrame[] = [
    {
      frameId: 'f1',
      gts: [box('A', 'car', 0, 0, 50, 50), box('B', 'person', 100, 0, 20, 60), box('C', 'car', 300, 0, 50, 50)],
      dets: [box('dt', 'truck', 0, 0, 50, 50, 0.9), box('dp', 'person', 102, 0, 20, 60, 0.8), box('dc', 'car', 500, 400, 50, 50, 0.5)],
    },
  ];
  const res = evaluateCoco(frames);

  it('lists every ground truth and detection with its outcome, match and IoU', () => {
    // person: intersection 18x60 = 1080, union 2 * 1200 - 1080 = 1320 -> IoU 1080/1320 = 9/11.
    expect(record(res, 'gt', 'B')).toMatchObject({ outcome: 'tp', matchedId: 'dp', label: 'person' });
    expect(record(res, 'gt', 'B').iou).toBeCloseTo(9 / 11, 12);
    expect(record(res, 'det', 'dp')).toMatchObject({ outcome: 'tp', matchedId: 'B', score: 0.8 });
    // Per-class matching: the truck box on the car is an FP for 'truck', the car an FN; the records
    // say how close the best same-class counterpart came (none: 0).
    expect(record(res, 'gt', 'A')).toMatchObject({ outcome: 'fn', matchedId: null, iou: 0 });
    expect(record(res, 'det', 'dt')).toMatchObject({ outcome: 'fp', label: 'truck' });
    expect(record(res, 'gt', 'C').outcome).toBe('fn');
    expect(record(res, 'det', 'dc').outcome).toBe('fp');
    expect(res.objects).toHaveLength(6);
    expect(record(res, 'gt', 'A').score).toBeNaN();
  });

  it('cross-tabulates class-agnostic matches: rows detected, columns true, background last', () => {
    const { labels, counts } = res.confusion;
    expect(labels).toEqual(['car', 'person', 'truck', 'background']);
    const at = (pred: string, truth: string) => counts[labels.indexOf(pred) * labels.length + labels.indexOf(truth)];
    expect(at('truck', 'car')).toBe(1); // the mislabelled car
    expect(at('person', 'person')).toBe(1);
    expect(at('car', 'background')).toBe(1); // the FP
    expect(at('background', 'car')).toBe(1); // C, missed
    expect(counts.reduce((s, v) => s + v, 0)).toBe(4);
    expect(res.confusion.criterion).toBe('iou>=0.5');
  });

  it('serialises to JSON with arrays for typed arrays and null for undefined figures', () => {
    const json = JSON.parse(JSON.stringify(evaluationToJson(res))) as {
      overall: Record<string, number | null>;
      confusion: { counts: number[] };
      prCurves: { precision: number[] }[];
      objects: { score: number | null }[];
    };
    expect(json.confusion.counts).toEqual(Array.from(res.confusion.counts));
    expect(json.prCurves[0]!.precision).toHaveLength(101);
    // No medium or large ground truth: APm and APl are undefined.
    expect(json.overall.APl).toBeNull();
    expect(json.overall.AP).toBe(res.overall.AP);
    expect(json.objects.find((o) => o.score === null)).toBeDefined(); // ground truth has no score
    expect((evaluationToJson(res, { objects: false }) as { objects: unknown[] }).objects).toEqual([]);
  });
});

describe('slices', () => {
  // 2D boxes with a 3D centre for the ego distance (xy norm).
  const at = (d: number) => ({ box3d: { center: [d, 0, 0] as [number, number, number], size: [4, 2, 1.5] as [number, number, number], yaw: 0 } });
  const frames: EvalFrame[] = [
    {
      frameId: 'f',
      gts: [box('g1', 'car', 0, 0, 50, 50, undefined, at(10)), box('g2', 'car', 100, 0, 50, 50, undefined, at(40)), box('g3', 'car', 200, 0, 50, 50, undefined, at(29))],
      dets: [
        box('d1', 'car', 0, 0, 50, 50, 0.9, at(10)), // TP on g1
        box('d3', 'car', 200, 0, 50, 50, 0.8, at(31)), // TP on g3, though its own distance is 31 m
        box('d5', 'car', 400, 0, 50, 50, 0.7, at(35)), // unmatched, 35 m
        box('d4', 'car', 400, 300, 50, 50, 0.6, at(60)), // unmatched, 60 m
      ],
    },
  ];

  it('ignores out-of-slice GT and the detections matched to it; judges unmatched detections by their own fields', () => {
    const res = evaluateCoco(frames);
    const slice = (name: string) => res.slices.find((s) => s.name === name)!;
    // Default slices: only bands holding ground truth (10, 29 -> 0-30; 40 -> 30-50), no occlusion.
    expect(res.slices.map((s) => s.name)).toEqual(['distance 0-30 m', 'distance 30-50 m']);
    // 0-30 m: GT g1, g3; d1 and d3 are TPs (d3 matched in-slice GT); d5 and d4 are unmatched and
    // outside -> ignored. All counted detections are TPs and recall reaches 1: AP 1.
    one(slice('distance 0-30 m').overall.AP);
    expect(slice('distance 0-30 m').numGt).toBe(2);
    // 30-50 m: GT g2 only. d1, d3 matched out-of-slice GT -> ignored (d3 although 31 m); d5 (35 m)
    // unmatched inside -> FP; d4 outside -> ignored. No TP: AP 0.
    expect(slice('distance 30-50 m').overall.AP).toBe(0);
    expect(slice('distance 30-50 m').numGt).toBe(1);
    // Records carry the band.
    expect(record(res, 'gt', 'g3').distanceBand).toBe('0-30');
    expect(record(res, 'det', 'd4').distanceBand).toBe('>50');
  });

  it('takes user predicates (all/any/not over fields) and rejects unknown fields', () => {
    const res = evaluateCoco(frames, {
      slices: [
        { name: 'near cars', where: { all: [{ field: 'label', op: '==', value: 'car' }, { field: 'distance', op: '<', value: 30 }] } },
        { name: 'beyond 50', where: { not: { field: 'distance', op: '<', value: 50 } } },
      ],
    });
    one(res.slices[0]!.overall.AP);
    // No ground truth beyond 50 m: undefined, whatever the detections.
    expect(res.slices[1]!.numGt).toBe(0);
    expect(res.slices[1]!.overall.AP).toBeNaN();
    expect(() => evaluateCoco(frames, { slices: [{ name: 'bad', where: { field: 'colour', op: '==', value: 'red' } }] })).toThrow(/unknown field 'colour'/);
    expect(() => compilePredicate({ field: 'distance', op: '<', value: 'far' })).toThrow(EvalError);
    const near = compilePredicate({ any: [{ field: 'attributes.weather', op: 'in', value: ['rain', 'fog'] }, { field: 'score', op: '>=', value: 0.95 }] });
    expect(near({ id: 'x', label: 'car', attributes: { weather: 'fog' } }, 'f')).toBe(true);
    expect(near({ id: 'x', label: 'car', score: 0.5 }, 'f')).toBe(false);
  });
});

describe('run comparison', () => {
  it('lists regressed (TP -> FN) and improved objects and ranks frames by the regression', () => {
    const gts = [box('g1', 'car', 0, 0, 50, 50), box('g2', 'car', 100, 0, 50, 50)];
    const a = evaluateCoco([
      { frameId: 'f1', gts, dets: [box('a1', 'car', 0, 0, 50, 50, 0.9)] },
      { frameId: 'f2', gts: [box('g3', 'car', 0, 0, 50, 50)], dets: [box('a2', 'car', 0, 0, 50, 50, 0.9)] },
    ]);
    const b = evaluateCoco([
      { frameId: 'f1', gts, dets: [box('b1', 'car', 100, 0, 50, 50, 0.9), box('b2', 'car', 400, 400, 50, 50, 0.95)] },
      { frameId: 'f2', gts: [box('g3', 'car', 0, 0, 50, 50)], dets: [] },
    ]);
    const cmp = compareEvaluations(a, b);
    expect(cmp.regressed.map((c) => `${c.frameId}/${c.id}`).sort()).toEqual(['f1/g1', 'f2/g3']);
    expect(cmp.improved.map((c) => `${c.frameId}/${c.id}`)).toEqual(['f1/g2']);
    // f1: one regression + one added FP = 2; f2: one regression = 1.
    expect(cmp.frames.map((f) => [f.frameId, f.regressionSize])).toEqual([
      ['f1', 2],
      ['f2', 1],
    ]);
    const ap = cmp.overall.find((d) => d.key === 'AP')!;
    expect(ap.delta).toBeCloseTo(b.overall.AP! - a.overall.AP!, 12);
    expect(ap.a).toBeGreaterThan(ap.b);
    expect(() => compareEvaluations(a, evaluate([], { metric: 'nuscenes' }))).toThrow(/cannot compare/);
  });
});

describe('input checks', () => {
  it('skips malformed boxes with a warning naming the frame and box, and rejects non-array input', () => {
    const res = evaluateCoco([
      {
        frameId: 'f',
        gts: [box('g', 'car', 0, 0, 50, 50), { id: 'bad', label: 'car', box2d: { x1: 10, y1: 0, x2: 5, y2: 5 } }],
        dets: [box('d', 'car', 0, 0, 50, 50, 0.9), { id: 'noscore', label: 'car', box2d: { x1: 0, y1: 0, x2: 5, y2: 5 } }],
      },
    ]);
    one(res.overall.AP);
    expect(res.warnings).toEqual([
      'frame f gt bad: malformed 2D box (non-finite or x2 < x1 / y2 < y1); 2D box dropped',
      'frame f gt bad: no 2D box; skipped',
      'frame f det noscore: detection without a finite score; skipped',
    ]);
    expect(() => evaluateCoco('nope' as unknown as EvalFrame[])).toThrow(EvalError);
    expect(() => evaluateCoco([], { recordIou: 0.52 })).toThrow(/recordIou 0.52/);
    expect(() => evaluate([], { metric: 'voc' } as never)).toThrow(/unknown metric 'voc'/);
  });
});
