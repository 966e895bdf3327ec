// KITTI evaluation: overlap geometry with known answers, the devkit's rules on small synthetic
// frames (difficulty, minimum height, neighbouring classes, DontCare, 40 vs 11 recall points), and
// the real label files of the fixtures evaluated against themselves and against perturbed copies.
//
// How the devkit turns matches into AP (cpp/evaluate_object.cpp), used in the arithmetic below:
// the scores of the TPs, sorted, give the thresholds (getThresholds): walking them, the k-th
// threshold (k = 0, 1, ...) is taken at the first index i >= previous + 1 with
// i >= N * k / 40 - 1.5 (N = counted ground truth), and the last TP always gives one. At each
// threshold precision = TP / (TP + FP) over detections scoring >= it; the 41-slot precision array
// (zeros past the last threshold) is made monotone from the right; AP|R40 = mean of slots 1..40,
// 11-point AP = mean of slots 0, 4, ..., 40. When every detection has the same score, every
// threshold sees the same TP and FP, so AP40 = p * (number of thresholds - 1) / 40.
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { bevIoU, evaluateKitti, iou3d, rectIoU, type EvalBox, type EvalFrame, type EvaluationResult } from '../../src/eval/index.js';
import { egoFromCamera, parseObjectCalib } from '../../src/logs/kitti/calib.js';
import { labelsToBoxes, parseLabels, type KittiLabel } from '../../src/logs/kitti/labels.js';
import { fixture, fixturesSkipReason, hasFixtures } from '../helpers/fixtures.js';

if (!hasFixtures) console.warn(`KITTI real-label evaluation tests skipped: ${fixturesSkipReason}`);

type V3 = [number, number, number];
const b3 = (center: V3, size: V3, yaw: number) => ({ center, size, yaw });

describe('overlap geometry', () => {
  it('rotated BEV IoU: exact for a square turned 90°, 1/√2 at 45°, 1/3 for a crossed 4x2 pair', () => {
    const square = b3([0, 0, 0], [2, 2, 1], 0);
    // A square turned by 90° is the same footprint.
    expect(bevIoU(square, b3([0, 0, 0], [2, 2, 1], Math.PI / 2))).toBeCloseTo(1, 12);
    // Turned by 45°: the corners outside |x| + |y| <= √2 are 4 triangles with legs 2 - √2:
    // intersection = 4 - 2 (2 - √2)^2 = 8√2 - 8, union = 8 - (8√2 - 8) = 16 - 8√2, IoU = 1/√2.
    expect(bevIoU(square, b3([0, 0, 0], [2, 2, 1], Math.PI / 4))).toBeCloseTo(Math.SQRT1_2, 12);
    // 4x2 crossed with itself turned 90°: a 2x2 overlap, union 8 + 8 - 4 = 12.
    expect(bevIoU(b3([0, 0, 0], [4, 2, 1], 0.3), b3([0, 0, 0], [4, 2, 1], 0.3 + Math.PI / 2))).toBeCloseTo(1 / 3, 12);
    // Shifted along its length by l/4: overlap 3/4 of the area, IoU = (3/4) / (5/4) = 0.6, at any yaw.
    const yaw = 1.1;
    expect(bevIoU(b3([5, 5, 0], [4, 2, 1], yaw), b3([5 + Math.cos(yaw), 5 + Math.sin(yaw), 0], [4, 2, 1], yaw))).toBeCloseTo(0.6, 12);
    // Disjoint, and touching at one edge only.
    expect(bevIoU(square, b3([5, 0, 0], [2, 2, 1], 0))).toBe(0);
    expect(bevIoU(square, b3([2, 0, 0], [2, 2, 1], 0))).toBeCloseTo(0, 12);
  });

  it('3D IoU is BEV intersection times height overlap over the union volume', () => {
    // Same 4x2 footprint, height 2, one raised by 1: overlap 8 * 1 = 8 over 16 + 16 - 8 = 24.
    expect(iou3d(b3([0, 0, 0], [4, 2, 2], 0), b3([0, 0, 1], [4, 2, 2], 0))).toBeCloseTo(1 / 3, 12);
    // Crossed (2x2 footprint overlap) and raised by 1: 4 * 1 = 4 over 32 - 4 = 28.
    expect(iou3d(b3([0, 0, 0], [4, 2, 2], 0), b3([0, 0, 1], [4, 2, 2], Math.PI / 2))).toBeCloseTo(1 / 7, 12);
    // Stacked without touching.
    expect(iou3d(b3([0, 0, 0], [4, 2, 2], 0), b3([0, 0, 2.5], [4, 2, 2], 0))).toBe(0);
    // 2D: a box shifted right by a quarter of its width: 0.75 / 1.25 = 0.6.
    expect(rectIoU({ x1: 0, y1: 0, x2: 40, y2: 30 }, { x1: 10, y1: 0, x2: 50, y2: 30 })).toBeCloseTo(0.6, 12);
  });
});

/** A KITTI-style 2D box (optionally with a 3D box); a score makes it a detection. */
function kbox(id: string, label: string, x1: number, y1: number, x2: number, y2: number, extra: Partial<EvalBox> = {}): EvalBox {
  return { id, label, box2d: { x1, y1, x2, y2 }, ...extra };
}

/** Copies of the frames with distinct frame ids (the same labels recorded r times). */
function replicate(frames: EvalFrame[], r: number): EvalFrame[] {
  const out: EvalFrame[] = [];
  for (let i = 0; i < r; i++) for (const f of frames) out.push({ ...f, frameId: `${f.frameId}#${i}` });
  return out;
}

const metric = (res: EvaluationResult, label: string, key: string) => res.perClass.find((c) => c.label === label)!.metrics[key]!;

describe('KITTI rules on synthetic frames', () => {
  it('difficulty from height, occlusion and truncation; detections under the minimum height ignored; 40 vs 11 points', () => {
    // Per frame, three cars: A 50 px tall, occlusion 0 (easy and up); B 30 px (moderate and up);
    // C 60 px but occlusion 2 (hard only). Only A is detected (score 0.8). Two far-away car
    // detections scoring 0.9: S 20 px tall (under every minimum height: ignored) and M 30 px tall
    // (ignored for easy, < 40 px; an FP for moderate and hard). 41 copies of the frame.
    const frame: EvalFrame = {
      frameId: 'f',
      gts: [
        kbox('A', 'Car', 100, 100, 200, 150, { occluded: 0, truncated: 0 }),
        kbox('B', 'Car', 300, 100, 360, 130, { occluded: 0, truncated: 0 }),
        kbox('C', 'Car', 500, 100, 600, 160, { occluded: 2, truncated: 0 }),
      ],
      dets: [kbox('dA', 'Car', 100, 100, 200, 150, { score: 0.8 }), kbox('S', 'Car', 800, 10, 840, 30, { score: 0.9 }), kbox('M', 'Car', 900, 10, 960, 40, { score: 0.9 })],
    };
    const frames = replicate([frame], 41);
    const res = evaluateKitti(frames, { slices: 'none' });
    expect(res.params.variants).toEqual(['2d']);
    // easy: N = 41 (A), TP = 41, FP = 0 (M is < 40 px) -> precision 1; N = 41 gives 41 thresholds
    // (k-th at i = ceil(41k/40 - 1.5), k = 40 at i = 40) -> AP40 = AP11 = 1.
    expect(metric(res, 'Car', 'numGt_easy')).toBe(41);
    expect(metric(res, 'Car', 'AP40_2d_easy')).toBe(1);
    expect(metric(res, 'Car', 'AP11_2d_easy')).toBe(1);
    // moderate: N = 82 (A, B), TP = 41, FP = 41 (M) -> precision 1/2 at every threshold (all scores
    // tie at 0.8). Thresholds: k-th at i = ceil(2.05k - 1.5) while <= 40, i.e. k <= 20 (i = 40 for
    // k = 20): 21 thresholds -> slots 0..20 hold 1/2.
    //   AP40 = 20 * 0.5 / 40 = 0.25;  AP11 = slots 0,4,8,12,16,20 -> 6 * 0.5 / 11 = 3/11.
    expect(metric(res, 'Car', 'numGt_moderate')).toBe(82);
    expect(metric(res, 'Car', 'AP40_2d_moderate')).toBeCloseTo(0.25, 12);
    expect(metric(res, 'Car', 'AP11_2d_moderate')).toBeCloseTo(3 / 11, 12);
    // hard: N = 123 (A, B, C), TP = 41, FP = 41. k-th at i = ceil(3.075k - 1.5): k = 13 at i = 39;
    // k = 14 would need i >= 41.55, but the last TP (i = 40) always adds one: 15 thresholds.
    //   AP40 = 14 * 0.5 / 40 = 0.175;  AP11 = slots 0,4,8,12 -> 4 * 0.5 / 11 = 2/11.
    expect(metric(res, 'Car', 'numGt_hard')).toBe(123);
    expect(metric(res, 'Car', 'AP40_2d_hard')).toBeCloseTo(0.175, 12);
    expect(metric(res, 'Car', 'AP11_2d_hard')).toBeCloseTo(2 / 11, 12);
    // AP_* follows recallPoints (40 by default).
    expect(metric(res, 'Car', 'AP_2d_hard')).toBe(metric(res, 'Car', 'AP40_2d_hard'));
    expect(metric(evaluateKitti(frames, { slices: 'none', recallPoints: 11 }), 'Car', 'AP_2d_hard')).toBeCloseTo(2 / 11, 12);
    // Interpolated sampling reads the monotone precision at recall k/40 over all operating points:
    // hard recall reaches 1/3 at precision 1/2 -> recall points 1/40..13/40 read 1/2:
    //   AP40 = 13 * 0.5 / 40 = 0.1625 (the devkit's extra last threshold gave 0.175);
    //   AP11 = r = 0, .1, .2, .3 -> 4 * 0.5 / 11 = 2/11.
    const exact = evaluateKitti(frames, { slices: 'none', sampling: 'interpolated' });
    expect(metric(exact, 'Car', 'AP40_2d_hard')).toBeCloseTo(0.1625, 12);
    expect(metric(exact, 'Car', 'AP11_2d_hard')).toBeCloseTo(2 / 11, 12);
    expect(metric(exact, 'Car', 'AP40_2d_easy')).toBe(1);
    // Records (taken at 'hard' by default): S is ignored for its height, M is an FP, C counts.
    const rec = (id: string) => res.objects.find((o) => o.frameId === 'f#0' && o.id === id)!;
    expect(rec('S')).toMatchObject({ outcome: 'ignored', ignoreReason: 'min-height' });
    expect(rec('M').outcome).toBe('fp');
    expect(rec('A')).toMatchObject({ outcome: 'tp', matchedId: 'dA', iou: 1, difficulty: 'easy' });
    expect(rec('B')).toMatchObject({ outcome: 'fn', difficulty: 'moderate' });
    expect(rec('C')).toMatchObject({ outcome: 'fn', difficulty: 'hard' });
    expect(res.params.records).toEqual({ variant: '2d', difficulty: 'hard', scoreThreshold: null });
  });

  it('neighbouring classes: a Car detection on a Van (or Pedestrian on Person_sitting) is ignored, not an FP', () => {
    // Per frame: Car X and a second object Y, both easy. Car detections on X (0.8) and on Y (0.9).
    // With Y a Van: Y is ignored for Car and its detection assigned to it -> TP 41, FP 0 -> AP 1.
    // With Y a Truck (not a neighbour): the detection on Y is an FP scoring above the TPs ->
    //   precision 41 / 82 = 1/2 at all 41 thresholds -> AP40 = AP11 = 1/2.
    const frame = (other: string): EvalFrame => ({
      frameId: other,
      gts: [kbox('X', 'Car', 100, 100, 200, 150), kbox('Y', other, 300, 100, 400, 150)],
      dets: [kbox('dX', 'Car', 100, 100, 200, 150, { score: 0.8 }), kbox('dY', 'Car', 300, 100, 400, 150, { score: 0.9 })],
    });
    const van = evaluateKitti(replicate([frame('Van')], 41), { slices: 'none' });
    expect(metric(van, 'Car', 'AP40_2d_moderate')).toBe(1);
    expect(van.objects.find((o) => o.id === 'dY')).toMatchObject({ outcome: 'ignored', ignoreReason: 'neighbour-class', matchedId: 'Y' });
    expect(van.objects.find((o) => o.id === 'Y')).toMatchObject({ outcome: 'ignored', ignoreReason: 'neighbour-class' });
    const truck = evaluateKitti(replicate([frame('Truck')], 41), { slices: 'none' });
    expect(metric(truck, 'Car', 'AP40_2d_moderate')).toBeCloseTo(0.5, 12);
    expect(metric(truck, 'Car', 'AP11_2d_moderate')).toBeCloseTo(0.5, 12);
    // Person_sitting is Pedestrian's neighbour (labels compared case-insensitively, as strcasecmp).
    const sitting: EvalFrame = {
      frameId: 's',
      gts: [kbox('P', 'pedestrian', 100, 100, 130, 180), kbox('Q', 'Person_sitting', 300, 100, 330, 160)],
      dets: [kbox('dP', 'Pedestrian', 100, 100, 130, 180, { score: 0.8 }), kbox('dQ', 'Pedestrian', 300, 100, 330, 160, { score: 0.9 })],
    };
    expect(metric(evaluateKitti(replicate([sitting], 41), { slices: 'none' }), 'Pedestrian', 'AP40_2d_moderate')).toBe(1);
    // A detection labelled Van on the Car is not a Car detection: the Car is missed (AP 0), and the
    // Van detection is no Car FP.
    const vanDet: EvalFrame = { frameId: 'v', gts: [kbox('X', 'Car', 100, 100, 200, 150)], dets: [kbox('dv', 'Van', 100, 100, 200, 150, { score: 0.9 })] };
    const r = evaluateKitti([vanDet], { slices: 'none' });
    expect(metric(r, 'Car', 'AP40_2d_easy')).toBe(0);
    expect(r.objects.find((o) => o.id === 'dv')).toMatchObject({ outcome: 'ignored', ignoreReason: 'class-not-evaluated' });
  });

  it('DontCare: a detection covering a DontCare region is not an FP in 2D (the devkit applies it to the image metric only)', () => {
    // Per frame: Car X (easy) detected at 0.8; a DontCare region R 100x60 and a Car detection inside
    // it (80x50, overlap with R over its own area = 1 > 0.7) scoring 0.9, whose 3D box is far away.
    //   2D: the detection on R is discounted -> TP 41, FP 0 -> AP 1.
    //   BEV/3D: DontCare rows have no 3D geometry, so it is an FP scoring above the TPs ->
    //   precision 1/2 at all 41 thresholds -> AP 1/2.
    // A third detection partly inside another region (overlap 0.4 < 0.7) stays an FP in 2D; it
    // scores 0.1, under the TP threshold 0.8, so it changes no AP and shows in the records.
    const car = b3([20, 0, 0], [4, 1.8, 1.5], 0);
    const frame: EvalFrame = {
      frameId: 'f',
      gts: [
        kbox('X', 'Car', 100, 100, 200, 150, { box3d: car }),
        kbox('R', 'DontCare', 600, 150, 700, 210),
        kbox('R2', 'DontCare', 800, 150, 900, 210),
      ],
      dets: [
        kbox('dX', 'Car', 100, 100, 200, 150, { score: 0.8, box3d: car }),
        kbox('dR', 'Car', 610, 155, 690, 205, { score: 0.9, box3d: b3([60, 30, 0], [4, 1.8, 1.5], 0) }),
        kbox('dHalf', 'Car', 860, 155, 960, 205, { score: 0.1, box3d: b3([70, -30, 0], [4, 1.8, 1.5], 0) }),
      ],
    };
    const res = evaluateKitti(replicate([frame], 41), { slices: 'none' });
    expect(res.params.variants).toEqual(['2d', 'bev', '3d']);
    expect(metric(res, 'Car', 'AP40_2d_moderate')).toBe(1);
    expect(metric(res, 'Car', 'AP40_bev_moderate')).toBeCloseTo(0.5, 12);
    expect(metric(res, 'Car', 'AP40_3d_moderate')).toBeCloseTo(0.5, 12);
    const rec = (id: string) => res.objects.find((o) => o.frameId === 'f#0' && o.id === id)!;
    expect(rec('dR')).toMatchObject({ outcome: 'ignored', ignoreReason: 'dontcare' });
    expect(rec('dHalf').outcome).toBe('fp');
    expect(rec('R')).toMatchObject({ source: 'gt', outcome: 'ignored', ignoreReason: 'dontcare' });
    // The confusion matrix (overlap >= 0.5 with a region discounts) sees one Car-Car match and one
    // Car FP (dHalf) per frame.
    const { labels, counts } = res.confusion;
    const at = (p: string, t: string) => counts[labels.indexOf(p) * labels.length + labels.indexOf(t)];
    expect([at('Car', 'Car'), at('Car', 'background')]).toEqual([41, 41]);
  });
});

interface RealFrame {
  name: string;
  labels: KittiLabel[];
  gts: EvalBox[];
}

/** The real label files, through the KITTI reader's parser and calibration, as evaluation boxes. */
async function loadRealFrames(): Promise<RealFrame[]> {
  const out: RealFrame[] = [];
  for (const [dir, names] of [
    ['kitti_object_vis', ['000000', '000001', '000002']],
    ['kitti_object_extra', ['000008', '000134']],
  ] as const) {
    for (const name of names) {
      const labelPath = fixture(dir, 'training', 'label_2', `${name}.txt`);
      const calibPath = fixture(dir, 'training', 'calib', `${name}.txt`);
      const { labels } = parseLabels(await readFile(labelPath, 'utf8'), labelPath, false);
      const calib = parseObjectCalib(await readFile(calibPath, 'utf8'), calibPath);
      const { labels2d, labels3d } = labelsToBoxes(labels, name, 'cam2', egoFromCamera(calib));
      const gts = labels2d.map((b2, i): EvalBox => {
        const b3d = labels3d.find((b) => b.id === b2.id);
        return {
          id: b2.id,
          label: b2.label,
          box2d: { x1: b2.x1, y1: b2.y1, x2: b2.x2, y2: b2.y2 },
          ...(b3d ? { box3d: { center: b3d.center, size: b3d.size, yaw: b3d.yaw } } : {}),
          ...(b2.ignore ? { ignore: true } : { truncated: labels[i]!.truncated, occluded: labels[i]!.occluded }),
        };
      });
      out.push({ name, labels, gts });
    }
  }
  return out;
}

const CLASSES = ['Car', 'Pedestrian', 'Cyclist'];
const DIFFS = ['easy', 'moderate', 'hard'] as const;
// The devkit's criteria, written out here: minimum bbox height, maximum occlusion and truncation.
const CRITERIA = { easy: [40, 0, 0.15], moderate: [25, 1, 0.3], hard: [25, 2, 0.5] } as const;

describe.skipIf(!hasFixtures)('KITTI on the real label files of the fixtures', () => {
  let real: RealFrame[] = [];
  /** Counted ground truth per class and difficulty, straight from the label rows. */
  const counted: Record<string, Record<string, number>> = {};
  /** All rows per class, whatever their difficulty. */
  const rows: Record<string, number> = {};
  beforeAll(async () => {
    real = await loadRealFrames();
    for (const c of CLASSES) {
      rows[c] = 0;
      counted[c] = { easy: 0, moderate: 0, hard: 0 };
      for (const f of real) {
        for (const l of f.labels) {
          if (l.type !== c) continue;
          rows[c]!++;
          for (const d of DIFFS) {
            const [minH, maxOcc, maxTrunc] = CRITERIA[d];
            if (l.bbox[3] - l.bbox[1] >= minH && l.occluded <= maxOcc && l.truncated <= maxTrunc) counted[c]![d]!++;
          }
        }
      }
    }
  });

  const frames = (dets: (f: RealFrame) => EvalBox[]): EvalFrame[] => real.map((f) => ({ frameId: f.name, gts: f.gts, dets: dets(f) }));
  const copies = (f: RealFrame) => f.gts.filter((g) => !g.ignore).map((g) => ({ ...g, id: `d-${g.id}`, score: 0.9 }));

  it('ground truth against itself: AP 1 for every class and difficulty with ground truth, in 2D, BEV and 3D (41 copies)', () => {
    // 41 copies make every counted N >= 41, so the devkit takes 41 thresholds (see the header),
    // all with precision 1: AP40 = AP11 = 1. Classes/difficulties without ground truth are NaN.
    const res = evaluateKitti(replicate(frames(copies), 41), { slices: 'none' });
    expect(res.params.variants).toEqual(['2d', 'bev', '3d']);
    for (const c of CLASSES) {
      for (const d of DIFFS) {
        expect(metric(res, c, `numGt_${d}`), `${c} ${d}`).toBe(41 * counted[c]![d]!);
        for (const v of ['2d', 'bev', '3d']) {
          for (const k of ['AP40', 'AP11']) {
            if (counted[c]![d]! > 0) expect(metric(res, c, `${k}_${v}_${d}`), `${k} ${c} ${v} ${d}`).toBe(1);
            else expect(metric(res, c, `${k}_${v}_${d}`)).toBeNaN();
          }
        }
      }
    }
    expect(res.overall.mAP_3d_moderate).toBe(1);
    // Records: every counted ground truth is a TP with IoU 1; nothing is an FP or FN.
    expect(res.objects.filter((o) => o.outcome === 'fp' || o.outcome === 'fn')).toEqual([]);
    expect(res.objects.filter((o) => o.source === 'gt' && o.outcome === 'tp').every((o) => o.iou === 1)).toBe(true);
    expect(res.objects.find((o) => o.label === 'Misc')).toMatchObject({ outcome: 'ignored', ignoreReason: 'class-not-evaluated' });
  });

  it('one copy only: the devkit gives (N - 1)/40 for a perfect detector with N <= 40 ground truth; interpolated sampling gives 1', () => {
    // With N <= 40 every TP adds a threshold (k/40 <= (2k+3)/(2N) holds for all k), so N
    // thresholds of precision 1: AP40 = (N - 1)/40 and AP11 = (floor((N - 1)/4) + 1)/11.
    const res = evaluateKitti(frames(copies), { slices: 'none', variants: ['2d'] });
    const exact = evaluateKitti(frames(copies), { slices: 'none', variants: ['2d'], sampling: 'interpolated' });
    for (const c of CLASSES) {
      for (const d of DIFFS) {
        const n = counted[c]![d]!;
        if (n === 0) continue;
        expect(metric(res, c, `AP40_2d_${d}`), `${c} ${d}`).toBeCloseTo((n - 1) / 40, 12);
        expect(metric(res, c, `AP11_2d_${d}`), `${c} ${d}`).toBeCloseTo((Math.floor((n - 1) / 4) + 1) / 11, 12);
        expect(metric(exact, c, `AP40_2d_${d}`)).toBe(1);
        expect(metric(exact, c, `AP11_2d_${d}`)).toBe(1);
      }
    }
  });

  /** Each detection moved by a quarter of its width (2D) and length (3D, along the yaw), forward (+1) or back (-1). */
  const shifted = (sign: 1 | -1) => (f: RealFrame) =>
    copies(f).map((d) => {
      const b = d.box2d!;
      const w = (sign * (b.x2 - b.x1)) / 4;
      const c = d.box3d!;
      const q = (sign * c.size[0]) / 4;
      return {
        ...d,
        box2d: { ...b, x1: b.x1 + w, x2: b.x2 + w },
        box3d: { ...c, center: [c.center[0] + q * Math.cos(c.yaw), c.center[1] + q * Math.sin(c.yaw), c.center[2]] as V3 },
      };
    });

  it('shifted copies (IoU 0.6): Cars fail their 0.7 threshold in 2D, BEV and 3D; Pedestrians and Cyclists pass 0.5', () => {
    // Moving a box by a quarter of its width/length leaves IoU (3/4)/(5/4) = 0.6 with the original.
    // Moved left/back, each detection overlaps its own ground truth most, so every Car is an FN plus
    // an FP (AP 0) and every Pedestrian/Cyclist a TP (AP 1 with 41 copies).
    const res = evaluateKitti(replicate(frames(shifted(-1)), 41), { slices: 'none' });
    for (const d of DIFFS) {
      for (const v of ['2d', 'bev', '3d']) {
        if (counted.Car![d]! > 0) expect(metric(res, 'Car', `AP40_${v}_${d}`), `Car ${v} ${d}`).toBe(0);
        for (const c of ['Pedestrian', 'Cyclist']) if (counted[c]![d]! > 0) expect(metric(res, c, `AP40_${v}_${d}`), `${c} ${v} ${d}`).toBeCloseTo(1, 12);
      }
    }
    // Records (3D, hard): each counted Car is an FN whose best same-class IoU is its own copy's 0.6.
    const cars = evaluateKitti(frames(shifted(-1)), { slices: 'none', recordsAt: { variant: '3d' } }).objects.filter((o) => o.source === 'gt' && o.label === 'Car');
    expect(cars.filter((o) => o.outcome === 'fn')).toHaveLength(counted.Car!.hard!);
    for (const o of cars.filter((o) => o.outcome === 'fn')) expect(o.iou).toBeCloseTo(0.6, 9);
  });

  it('assignment by largest overlap in file order: two overlapping pedestrians in 000134 swap detections when moved right', () => {
    // 000134 lists pedestrian P8 [196.36,177.31,229.19,234.95] (occlusion 1: not easy) before P9
    // [189.12,181.00,219.25,236.74] (easy). Moved right by a quarter width, P9's detection overlaps
    // P8 by 0.835, more than P8's own detection (0.6), so P8 (ignored for easy) takes it; P9 is then
    // left with P8's detection at IoU 0.285 < 0.5: one FN, and P8's detection one FP.
    // Easy pedestrians per copy: 000000's one, and 000134's at x 562, 189 (P9), 241 and 210: 5.
    // So TP 4, FP 1 per copy: precision 4/5 at all 41 thresholds -> AP40 = 4/5 (2D, easy).
    expect(counted.Pedestrian!.easy).toBe(5);
    const res = evaluateKitti(replicate(frames(shifted(1)), 41), { slices: 'none', variants: ['2d'] });
    expect(metric(res, 'Pedestrian', 'AP40_2d_easy')).toBeCloseTo(4 / 5, 12);
    const one = evaluateKitti(frames(shifted(1)), { slices: 'none', variants: ['2d'], recordsAt: { difficulty: 'easy' } });
    const p9 = one.objects.find((o) => o.frameId === '000134' && o.id === '000134:9')!;
    expect(p9).toMatchObject({ outcome: 'fn', label: 'Pedestrian' });
    expect(one.objects.find((o) => o.frameId === '000134' && o.id === '000134:8')).toMatchObject({ outcome: 'ignored', ignoreReason: 'difficulty', matchedId: 'd-000134:9' });
  });

  it('a high-scoring FP per ground-truth row: precision N_d / (N_d + rows) at every threshold', () => {
    // Each labelled object of a class gets a far-away FP of that class scoring 0.95 (60 px tall,
    // so counted at every difficulty) next to its exact copy at 0.9. The thresholds are the TP
    // scores (0.9), where all FPs are active: TP = N_d, FP = rows of the class (both x41), so the
    // precision is p = N_d / (N_d + rows) at all 41 thresholds: AP40 = AP11 = p.
    const withFp = (f: RealFrame) => [
      ...copies(f),
      ...f.gts
        .filter((g) => !g.ignore)
        .map((g, i) => ({ id: `fp-${i}`, label: g.label, score: 0.95, box2d: { x1: 10 * i, y1: 400, x2: 10 * i + 40, y2: 460 }, box3d: { ...g.box3d!, center: [g.box3d!.center[0] + 500, 0, 0] as V3 } })),
    ];
    const res = evaluateKitti(replicate(frames(withFp), 41), { slices: 'none' });
    for (const c of CLASSES) {
      for (const d of DIFFS) {
        const n = counted[c]![d]!;
        if (n === 0) continue;
        const p = n / (n + rows[c]!);
        for (const v of ['2d', '3d']) {
          expect(metric(res, c, `AP40_${v}_${d}`), `${c} ${v} ${d}`).toBeCloseTo(p, 12);
          expect(metric(res, c, `AP11_${v}_${d}`)).toBeCloseTo(p, 12);
        }
      }
    }
  });
});
