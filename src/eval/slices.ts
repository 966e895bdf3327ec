// Slices: metrics on a subset of objects chosen by a predicate over object fields.
//
// The filtering rule (the COCO area-range rule, generalised), applied by every metric:
// - ground truth outside the slice is ignored: it is neither a TP nor an FN;
// - a detection matched to ignored (out-of-slice) ground truth is ignored;
// - a detection matched to in-slice ground truth counts as a TP whatever its own fields;
// - an unmatched detection is judged by its own fields: inside the slice it is an FP, outside ignored.
// A condition on a field an object lacks (occlusion on a detection, distance on a 2D-only box) is
// false, so such unmatched detections are ignored: for ground-truth-only fields like occlusion the
// slice's recall is meaningful and its precision counts only matched detections.
import { EvalError, type DistanceBand, type EvalBox, type SliceCondition, type SliceDef, type SlicePredicate, type SliceValue } from './types.js';

export const DISTANCE_BANDS: ReadonlyArray<{ band: DistanceBand; min: number; max: number }> = [
  { band: '0-30', min: 0, max: 30 },
  { band: '30-50', min: 30, max: 50 },
  { band: '>50', min: 50, max: Infinity },
];

/** Ego distance: xy norm of the 3D centre (as nuScenes ego_dist), else EvalBox.distance, else NaN. */
export function egoDistance(box: EvalBox): number {
  if (box.box3d) return Math.hypot(box.box3d.center[0], box.box3d.center[1]);
  return typeof box.distance === 'number' && Number.isFinite(box.distance) ? box.distance : NaN;
}

/** Band of a distance: [0, 30), [30, 50), [50, ∞); null when unknown. */
export function distanceBand(distance: number): DistanceBand | null {
  if (!Number.isFinite(distance) && distance !== Infinity) return null;
  for (const b of DISTANCE_BANDS) if (distance >= b.min && distance < b.max) return b.band;
  return null;
}

/** Fields a predicate may name; `attributes.<key>` reaches EvalBox.attributes. */
export const SLICE_FIELDS = [
  'label',
  'score',
  'distance',
  'occlusion',
  'truncation',
  'height',
  'width',
  'area',
  'x',
  'y',
  'z',
  'length',
  'yaw',
  'speed',
  'attribute',
  'numPoints',
  'frameId',
] as const;

type FieldValue = number | string | boolean | undefined;

const num = (v: number | undefined): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The value of a slice field on a box, undefined when the box lacks it. Pixel fields use the 2D box. */
export function objectField(box: EvalBox, frameId: string, field: string): FieldValue {
  switch (field) {
    case 'label':
      return box.label;
    case 'score':
      return num(box.score);
    case 'distance': {
      const d = egoDistance(box);
      return Number.isNaN(d) ? undefined : d;
    }
    case 'occlusion':
      return num(box.occluded);
    case 'truncation':
      return num(box.truncated);
    case 'height':
      return box.box2d ? box.box2d.y2 - box.box2d.y1 : undefined;
    case 'width':
      return box.box2d ? box.box2d.x2 - box.box2d.x1 : undefined;
    case 'area':
      return num(box.area) ?? (box.box2d ? (box.box2d.x2 - box.box2d.x1) * (box.box2d.y2 - box.box2d.y1) : undefined);
    case 'x':
      return box.box3d?.center[0];
    case 'y':
      return box.box3d?.center[1];
    case 'z':
      return box.box3d?.center[2];
    case 'length':
      return box.box3d?.size[0];
    case 'yaw':
      return box.box3d?.yaw;
    case 'speed':
      return box.velocity ? Math.hypot(box.velocity[0], box.velocity[1]) : undefined;
    case 'attribute':
      return box.attribute;
    case 'numPoints':
      return num(box.numPoints);
    case 'frameId':
      return frameId;
    default:
      if (field.startsWith('attributes.')) return box.attributes?.[field.slice('attributes.'.length)];
      return undefined;
  }
}

const OPS = new Set(['<', '<=', '>', '>=', '==', '!=', 'in']);

function compareCondition(value: FieldValue, cond: SliceCondition): boolean {
  if (value === undefined) return false;
  const target = cond.value;
  switch (cond.op) {
    case '==':
      return value === target;
    case '!=':
      return value !== target;
    case 'in':
      return Array.isArray(target) && (target as ReadonlyArray<number | string>).includes(value as number | string);
    default: {
      if (typeof value !== 'number' || typeof target !== 'number') return false;
      if (cond.op === '<') return value < target;
      if (cond.op === '<=') return value <= target;
      if (cond.op === '>') return value > target;
      return value >= target;
    }
  }
}

export type BoxPredicate = (box: EvalBox, frameId: string) => boolean;

function validValue(v: SliceValue, op: string): boolean {
  if (op === 'in') return Array.isArray(v) && v.every((x) => typeof x === 'number' || typeof x === 'string');
  if (op === '<' || op === '<=' || op === '>' || op === '>=') return typeof v === 'number' && !Number.isNaN(v);
  return typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';
}

/** Checks a predicate and turns it into a function; throws EvalError naming the bad part. */
export function compilePredicate(pred: SlicePredicate, where = 'slice'): BoxPredicate {
  if (!pred || typeof pred !== 'object') throw new EvalError('predicate must be an object', where);
  if ('all' in pred || 'any' in pred) {
    const list = 'all' in pred ? pred.all : (pred as { any: SlicePredicate[] }).any;
    if (!Array.isArray(list)) throw new EvalError(`'${'all' in pred ? 'all' : 'any'}' must be an array`, where);
    const parts = list.map((p, i) => compilePredicate(p, `${where}.${'all' in pred ? 'all' : 'any'}[${i}]`));
    return 'all' in pred ? (b, f) => parts.every((p) => p(b, f)) : (b, f) => parts.some((p) => p(b, f));
  }
  if ('not' in pred) {
    const inner = compilePredicate(pred.not, `${where}.not`);
    return (b, f) => !inner(b, f);
  }
  const cond = pred as SliceCondition;
  if (typeof cond.field !== 'string') throw new EvalError("a condition needs a 'field' (or use all/any/not)", where);
  if (!(SLICE_FIELDS as readonly string[]).includes(cond.field) && !cond.field.startsWith('attributes.')) {
    throw new EvalError(`unknown field '${cond.field}' (known: ${SLICE_FIELDS.join(', ')}, attributes.<key>)`, where);
  }
  if (!OPS.has(cond.op)) throw new EvalError(`unknown operator '${String(cond.op)}' (known: ${[...OPS].join(' ')})`, where);
  if (!validValue(cond.value, cond.op)) throw new EvalError(`value ${JSON.stringify(cond.value)} does not suit operator '${cond.op}'`, where);
  return (b, f) => compareCondition(objectField(b, f, cond.field), cond);
}

export function compileSlice(def: SliceDef): BoxPredicate {
  if (!def || typeof def.name !== 'string' || def.name === '') throw new EvalError('a slice needs a non-empty name', 'slice');
  return compilePredicate(def.where, `slice '${def.name}'`);
}

export function distanceBandSlice(band: (typeof DISTANCE_BANDS)[number]): SliceDef {
  const lower = { field: 'distance', op: '>=', value: band.min } as const;
  return {
    name: `distance ${band.band} m`,
    where: band.max === Infinity ? lower : { all: [lower, { field: 'distance', op: '<', value: band.max }] },
  };
}

export function occlusionSlice(level: number): SliceDef {
  return { name: `occlusion ${level}`, where: { field: 'occlusion', op: '==', value: level } };
}

/**
 * The standard slices that apply to these frames: each distance band and occlusion level that some
 * ground truth falls in. Per-class figures are in perClass already.
 */
export function defaultSlices(frames: ReadonlyArray<{ frameId: string; gts: readonly EvalBox[] }>): SliceDef[] {
  const bands = new Set<DistanceBand>();
  const levels = new Set<number>();
  for (const f of frames) {
    for (const g of f.gts) {
      if (g.ignore) continue;
      const band = distanceBand(egoDistance(g));
      if (band) bands.add(band);
      if (typeof g.occluded === 'number' && Number.isInteger(g.occluded) && g.occluded >= 0) levels.add(g.occluded);
    }
  }
  const out: SliceDef[] = [];
  for (const b of DISTANCE_BANDS) if (bands.has(b.band)) out.push(distanceBandSlice(b));
  for (const level of [...levels].sort((a, b) => a - b)) out.push(occlusionSlice(level));
  return out;
}

/** The slices to compute for an options value. */
export function resolveSlices(option: SliceDef[] | 'default' | 'none' | undefined, frames: ReadonlyArray<{ frameId: string; gts: readonly EvalBox[] }>): SliceDef[] {
  if (option === 'none') return [];
  if (option === undefined || option === 'default') return defaultSlices(frames);
  if (!Array.isArray(option)) throw new EvalError("slices must be 'default', 'none' or a list", 'options.slices');
  const names = new Set<string>();
  for (const s of option) {
    compileSlice(s);
    if (names.has(s.name)) throw new EvalError(`slice name '${s.name}' repeated`, 'options.slices');
    names.add(s.name);
  }
  return option;
}

/** Per-box out-of-slice flags (1 = outside) for one side, in frame order then box order. */
export function sliceMask(frames: ReadonlyArray<{ frameId: string; gts: readonly EvalBox[]; dets: readonly EvalBox[] }>, pred: BoxPredicate, side: 'gts' | 'dets'): Uint8Array[] {
  return frames.map((f) => {
    const boxes = f[side];
    const out = new Uint8Array(boxes.length);
    for (let i = 0; i < boxes.length; i++) out[i] = pred(boxes[i]!, f.frameId) ? 0 : 1;
    return out;
  });
}
