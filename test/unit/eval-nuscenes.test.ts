// nuScenes detection metrics on small cases worked out by hand, following the devkit: predictions
// in descending score take the nearest untaken ground truth by xy centre distance (a match needs
// distance < threshold); precision is interpolated with numpy.interp onto recall r_i = i/100
// (i = 0..100; left of the first recall: the first precision; at a recall value shared by several
// points: the last of them; right of the last: 0); AP = mean over i = 11..100 of
// max(0, precision_i - 0.1), divided by 0.9 — "(sum of clipped terms) / 81" below.
import { describe, expect, it } from 'vitest';
import { evaluateNuscenes, ndsScore, type EvalBox, type EvalFrame, type EvaluationResult } from '../../src/eval/index.js';

type V3 = [number, number, number];

function nbox(id: string, label: string, center: V3, extra: Partial<EvalBox> = {}): EvalBox {
  return { id, label, box3d: { center, size: [4, 2, 1.5], yaw: 0 }, ...extra };
}

const cls = (res: EvaluationResult, label: string) => res.perClass.find((c) => c.label === label)!.metrics;

describe('nuScenes AP', () => {
  it('matches by centre distance at each threshold 0.5, 1, 2, 4 m', () => {
    // Four cars 10 m apart, each with one prediction offset by 0.3, 0.8, 1.5 and 3.0 m, scored
    // 0.9, 0.8, 0.7, 0.6: each prediction's nearest ground truth is its own.
    // 0.5 m: only the first matches. tp 1 1 1 1, fp 0 1 2 3 -> recall .25 .25 .25 .25,
    //   precision 1 1/2 1/3 1/4. Interpolated: i < 25 -> 1 (left value); i = 25 -> 1/4 (last of the
    //   points at recall .25); i > 25 -> 0. Clipped terms i = 11..24: 14 * 0.9; i = 25: 0.15.
    //   AP = (12.6 + 0.15) / 81 = 12.75/81.
    // 1 m: two match. recall .25 .5 .5 .5, precision 1 1 2/3 1/2 -> i <= 49 -> 1, i = 50 -> 1/2.
    //   AP = (39 * 0.9 + 0.4) / 81 = 35.5/81.
    // 2 m: three match. recall .25 .5 .75 .75, precision 1 1 1 3/4 -> i <= 74 -> 1, i = 75 -> 3/4.
    //   AP = (64 * 0.9 + 0.65) / 81 = 58.25/81.
    // 4 m: all match, precision 1 throughout: AP = 90 * 0.9 / 81 = 1.
    const offsets = [0.3, 0.8, 1.5, 3.0];
    const frame: EvalFrame = {
      frameId: 's',
      gts: offsets.map((_, i) => nbox(`g${i}`, 'car', [10 * i, 5, 0])),
      dets: offsets.map((o, i) => nbox(`p${i}`, 'car', [10 * i + o, 5, 0], { score: 0.9 - 0.1 * i })),
    };
    const res = evaluateNuscenes([frame]);
    const m = cls(res, 'car');
    expect(m['AP@0.5']).toBeCloseTo(12.75 / 81, 12);
    expect(m['AP@1']).toBeCloseTo(35.5 / 81, 12);
    expect(m['AP@2']).toBeCloseTo(58.25 / 81, 12);
    expect(m['AP@4']).toBeCloseTo(1, 12);
    expect(res.overall.mAP).toBeCloseTo((12.75 + 35.5 + 58.25 + 81) / (4 * 81), 12);
    const curve = res.prCurves.find((c) => c.key === 'dist=0.5')!;
    expect([curve.precision[24], curve.precision[25], curve.precision[26]]).toEqual([1, 0.25, 0]);
    // Records at 2 m: three TPs with their distances, the 3 m one an FP, its car an FN.
    const rec = (id: string) => res.objects.find((o) => o.id === id)!;
    expect(rec('p2').outcome).toBe('tp');
    expect(rec('p2').centerDistance).toBeCloseTo(1.5, 12);
    expect(rec('p3')).toMatchObject({ outcome: 'fp' });
    expect(rec('g3')).toMatchObject({ outcome: 'fn', matchedId: null });
    expect(rec('g3').centerDistance).toBeCloseTo(3, 12);
  });

  it('excludes precision below 0.1 and recall up to 0.1', () => {
    // Precision: 1 GT, ten FPs scored above the one TP. recall 0 (x10) then 1; precision 0 (x10)
    // then 1/11. Interpolated: i = 0 -> 0 (last point at recall 0); 0 < r < 1 -> linear from
    // (0, 0) to (1, 1/11) = r/11; all below 0.1, so AP = 0 although the car is found.
    // Without the precision floor: AP = mean over i = 11..100 of (i/100)/11
    //   = (5050 - 55) / 100 / 11 / 90 = 4995/99000.
    const crowded: EvalFrame = {
      frameId: 's',
      gts: [nbox('g', 'car', [10, 0, 0])],
      dets: [...Array.from({ length: 10 }, (_, i) => nbox(`f${i}`, 'car', [30 + i, 0, 0], { score: 0.99 - 0.01 * i })), nbox('t', 'car', [10, 0, 0], { score: 0.5 })],
    };
    expect(cls(evaluateNuscenes([crowded]), 'car').AP).toBe(0);
    expect(cls(evaluateNuscenes([crowded], { minPrecision: 0 }), 'car')['AP@2']).toBeCloseTo(4995 / 99000, 12);
    // Recall: 10 GT (4 m apart, all in range), one found (0.2 m off). recall .1, precision 1:
    // i <= 10 -> 1, i > 10 -> 0, and
    // i <= 10 is exactly the excluded range: AP = 0. Without the recall floor (i = 1..100):
    //   AP = 10 * 0.9 / 100 / 0.9 = 0.1.
    // The TP errors are averaged from i = 11 up to the highest recall reached (i = 10): an empty
    // range, so ATE = 1 (the devkit's value), not 0.2.
    const sparse: EvalFrame = {
      frameId: 's',
      gts: Array.from({ length: 10 }, (_, i) => nbox(`g${i}`, 'car', [4 * i, 3, 0])),
      dets: [nbox('t', 'car', [0.2, 3, 0], { score: 0.9 })],
    };
    const res = evaluateNuscenes([sparse]);
    expect(cls(res, 'car').AP).toBe(0);
    expect(cls(res, 'car').ATE).toBe(1);
    expect(cls(evaluateNuscenes([sparse], { minRecall: 0 }), 'car')['AP@2']).toBeCloseTo(0.1, 12);
  });

  it('breaks score ties with the later prediction first, as sorted((score, index))[::-1]', () => {
    // One GT; a TP and an FP both scored 0.5.
    // Listed [FP, TP]: the TP (later) goes first: tp 1 1, fp 0 1 -> recall 1 1, precision 1 1/2:
    //   i < 100 -> 1, i = 100 -> 1/2 -> AP = (89 * 0.9 + 0.4) / 81 = 80.5/81.
    // Listed [TP, FP]: the FP goes first: recall 0 1, precision 0 1/2 -> r/2 -> clipped terms
    //   r/2 - 0.1 for i = 21..100: (0.005 * (5050 - 210) - 8) = 16.2 -> AP = 16.2/81 = 0.2.
    const g = nbox('g', 'car', [10, 0, 0]);
    const tp = nbox('tp', 'car', [10, 0, 0], { score: 0.5 });
    const fp = nbox('fp', 'car', [30, 0, 0], { score: 0.5 });
    expect(cls(evaluateNuscenes([{ frameId: 's', gts: [g], dets: [fp, tp] }]), 'car').AP).toBeCloseTo(80.5 / 81, 12);
    expect(cls(evaluateNuscenes([{ frameId: 's', gts: [g], dets: [tp, fp] }]), 'car').AP).toBeCloseTo(0.2, 12);
  });
});

describe('nuScenes TP errors and NDS', () => {
  it('averages the running means of ATE, ASE, AOE, AVE and AAE over the recall range', () => {
    // Two cars, both matched at 2 m:
    //   P1 (0.9): 0.3 m off (ATE .3), same size (ASE 0), yaw .1 (AOE .1), velocity (1,.5) vs (1,0)
    //     (AVE .5), attribute right (AAE 0).
    //   P2 (0.8): (0.6, 0.8) m off (ATE 1), size 1x2x2 vs 2x2x2 (aligned IoU 4/8: ASE .5), yaw 3
    //     (AOE 3), velocity (0,1.5) vs (0,0) (AVE 1.5), attribute wrong (AAE 1).
    // Running means c1 = e1, c2 = (e1 + e2)/2. Recall .5 then 1 at confidences .9, .8: for
    // i <= 50 the confidence is .9 -> error c1; for i = 51..100 it falls linearly to .8 and the
    // error moves linearly from c1 to c2: c1 + (c2 - c1)(i - 50)/50. Mean over i = 11..100:
    //   c1 + (c2 - c1) * (1 + 2 + ... + 50)/50/90 = c1 + (c2 - c1) * 25.5/90 = e1 + (e2 - e1) * 17/120.
    const frame: EvalFrame = {
      frameId: 's',
      gts: [
        { id: 'g1', label: 'car', box3d: { center: [10, 0, 0], size: [4, 2, 1.5], yaw: 0 }, velocity: [1, 0], attribute: 'vehicle.moving' },
        { id: 'g2', label: 'car', box3d: { center: [20, 5, 0], size: [2, 2, 2], yaw: 0 }, velocity: [0, 0], attribute: 'vehicle.parked' },
      ],
      dets: [
        { id: 'p1', label: 'car', score: 0.9, box3d: { center: [10.3, 0, 0], size: [4, 2, 1.5], yaw: 0.1 }, velocity: [1, 0.5], attribute: 'vehicle.moving' },
        { id: 'p2', label: 'car', score: 0.8, box3d: { center: [20.6, 5.8, 0], size: [1, 2, 2], yaw: 3 }, velocity: [0, 1.5], attribute: 'vehicle.moving' },
      ],
    };
    const res = evaluateNuscenes([frame]);
    const m = cls(res, 'car');
    const k = 17 / 120;
    const expected = { ATE: 0.3 + k * 0.7, ASE: 0 + k * 0.5, AOE: 0.1 + k * 2.9, AVE: 0.5 + k * 1.0, AAE: 0 + k * 1 };
    for (const [key, value] of Object.entries(expected)) expect(m[key], key).toBeCloseTo(value, 12);
    // AP: at 0.5 m and 1 m only P1 matches (P2 is 1.0 m off; a match needs < 1): recall .5 .5,
    // precision 1 1/2 -> 35.5/81 (as in the threshold test); at 2 m and 4 m both: AP 1.
    const mAP = (2 * (35.5 / 81) + 2) / 4;
    expect(res.overall.mAP).toBeCloseTo(mAP, 12);
    // One class: the mean TP errors are its errors; NDS = (5 mAP + sum of (1 - error)) / 10.
    const nds = (5 * mAP + (1 - expected.ATE) + (1 - expected.ASE) + (1 - expected.AOE) + (1 - expected.AVE) + (1 - expected.AAE)) / 10;
    expect(res.overall.NDS).toBeCloseTo(nds, 12);
    expect(res.overall.mAVE).toBeCloseTo(expected.AVE, 12);
  });

  it('NDS from given mAP and TP errors clips each error at 1', () => {
    // (5 * 0.4 + (1 - .5) + (1 - .25) + max(0, 1 - 1.2) + (1 - .8) + (1 - .1)) / 10 = 4.35/10.
    expect(ndsScore(0.4, { ATE: 0.5, ASE: 0.25, AOE: 1.2, AVE: 0.8, AAE: 0.1 })).toBeCloseTo(0.435, 12);
    // A NaN error scores 0, as max(0.0, nan) in Python.
    expect(ndsScore(0.5, { ATE: 0, ASE: 0, AOE: 0, AVE: NaN, AAE: NaN })).toBeCloseTo((2.5 + 3) / 10, 12);
  });

  it('barrier orientation is π-periodic; traffic cones have no AOE, AVE or AAE', () => {
    // One TP each: the running mean is constant, so the class error is that match's error.
    // Yaw π - 0.1 against 0: 0.1 for a barrier (period π), π - 0.1 for a car.
    const turned = (label: string): EvalFrame => ({
      frameId: label,
      gts: [nbox('g', label, [5, 5, 0])],
      dets: [{ ...nbox('p', label, [5, 5, 0], { score: 0.9 }), box3d: { center: [5, 5, 0], size: [4, 2, 1.5], yaw: Math.PI - 0.1 } }],
    });
    expect(cls(evaluateNuscenes([turned('barrier')]), 'barrier').AOE).toBeCloseTo(0.1, 12);
    expect(cls(evaluateNuscenes([turned('car')]), 'car').AOE).toBeCloseTo(Math.PI - 0.1, 12);
    const cone = cls(evaluateNuscenes([turned('traffic_cone')]), 'traffic_cone');
    expect(cone.AOE).toBeNaN();
    expect(cone.ATE).toBe(0);
    // Without velocities or attributes anywhere, mAVE/mAAE are NaN and NDS counts them as error 1.
    const res = evaluateNuscenes([turned('car')]);
    expect(res.overall.mAVE).toBeNaN();
    expect(res.overall.mAAE).toBeNaN();
    expect(res.warnings.some((w) => w.includes('no velocities'))).toBe(true);
    expect(res.overall.NDS).toBeCloseTo(ndsScore(1, { ATE: 0, ASE: 0, AOE: Math.PI - 0.1, AVE: 1, AAE: 1 }), 12);
  });
});

describe('nuScenes filtering, regions and slices', () => {
  it('drops boxes beyond the class range and ground truth without points, before matching', () => {
    // Ranges: car 50, pedestrian 40, barrier 30 m (ego distance = xy norm of the centre).
    const frame: EvalFrame = {
      frameId: 's',
      gts: [
        nbox('car49', 'car', [49, 0, 0]),
        nbox('car55', 'car', [55, 0, 0]),
        nbox('ped45', 'pedestrian', [0, 45, 0]),
        nbox('bar35', 'barrier', [21, 28, 0]), // 35 m
        nbox('empty', 'car', [10, 0, 0], { numPoints: 0 }),
      ],
      dets: [
        nbox('p49', 'car', [49, 0.1, 0], { score: 0.9 }),
        nbox('p55', 'car', [55, 0, 0], { score: 0.9 }),
        nbox('pped', 'pedestrian', [0, 45, 0], { score: 0.9 }),
        nbox('pempty', 'car', [10, 0, 0], { score: 0.3 }),
      ],
    };
    const res = evaluateNuscenes([frame]);
    const car = res.perClass.find((c) => c.label === 'car')!;
    expect(car.numGt).toBe(1);
    // Left: car49 found by p49 (0.9); the prediction on the point-less car is an FP below it.
    // recall 1 1, precision 1 1/2: i < 100 -> 1, but i = 100 (recall exactly 1) reads the last
    // point, 1/2: AP = (89 * 0.9 + 0.4) / 81 = 80.5/81 at every threshold, though the FP ranks last.
    expect(car.metrics.AP).toBeCloseTo(80.5 / 81, 12);
    expect(res.perClass.map((c) => [c.label, c.numGt])).toEqual([
      ['barrier', 0],
      ['car', 1],
      ['pedestrian', 0],
    ]);
    expect(res.perClass.find((c) => c.label === 'pedestrian')!.metrics.AP).toBeNaN();
    expect(res.overall.mAP).toBeCloseTo(80.5 / 81, 12); // classes without ground truth are left out
    const rec = (id: string) => res.objects.find((o) => o.id === id)!;
    expect(rec('car55')).toMatchObject({ outcome: 'ignored', ignoreReason: 'out-of-range' });
    expect(rec('p55')).toMatchObject({ outcome: 'ignored', ignoreReason: 'out-of-range' });
    expect(rec('bar35')).toMatchObject({ outcome: 'ignored', ignoreReason: 'out-of-range' });
    expect(rec('empty')).toMatchObject({ outcome: 'ignored', ignoreReason: 'zero-points' });
    expect(rec('pempty').outcome).toBe('fp');
  });

  it('ignore regions swallow unmatched predictions; slices ignore predictions matched to out-of-slice ground truth', () => {
    // A car at 10 m found; an ignore region at (20, 0) with a prediction on it scoring 0.95 (above
    // the TP): ignored rather than an FP, so AP stays 1 (an FP on top would cost precision).
    const frame: EvalFrame = {
      frameId: 's',
      gts: [nbox('g10', 'car', [10, 0, 0]), nbox('region', 'car', [20, 0, 0], { ignore: true }), nbox('g40', 'car', [40, 0, 0])],
      dets: [nbox('p10', 'car', [10, 0.3, 0], { score: 0.9 }), nbox('pr', 'car', [20.3, 0, 0], { score: 0.95 }), nbox('p29', 'car', [40, 29, 0], { score: 0.97 })],
    };
    // p29 sits 29 m from g40 (no match) at ego distance 49.4 m, i.e. in the 30-50 band. Slices:
    //   0-30 m: GT g10 (region aside); p10 TP; p29 unmatched and outside -> ignored: AP 1.
    //   30-50 m: GT g40, missed; p10 matched out-of-slice GT -> ignored; p29 unmatched inside -> FP: AP 0.
    const res = evaluateNuscenes([frame]);
    expect(res.objects.find((o) => o.id === 'pr')).toMatchObject({ outcome: 'ignored', ignoreReason: 'ignore-region' });
    const near = res.slices.find((s) => s.name === 'distance 0-30 m')!;
    const mid = res.slices.find((s) => s.name === 'distance 30-50 m')!;
    expect(near.numGt).toBe(1);
    expect(near.overall.mAP).toBeCloseTo(1, 12);
    expect(mid.numGt).toBe(1);
    expect(mid.overall.mAP).toBe(0);
    // Overall: 2 GT; by score p29 (FP), p10 (TP); pr ignored. recall 0 .5, precision 0 1/2:
    // linear from (0, 0) to (.5, .5), i.e. r, up to i = 50, then 0; clipped r - .1 for i = 11..50:
    //   sum = (11 + ... + 50)/100 - 40 * 0.1 = 12.2 - 4 = 8.2 -> AP = 8.2/81 at every threshold.
    expect(res.overall.mAP).toBeCloseTo(8.2 / 81, 12);
    // The confusion matrix: one car-car match, the p29 FP, and g40 missed; the region is not counted.
    const { labels, counts } = res.confusion;
    expect(labels).toEqual(['car', 'background']);
    expect(Array.from(counts)).toEqual([1, 1, 1, 0]);
  });
});
