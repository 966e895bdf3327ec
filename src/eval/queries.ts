// Hard-case queries: a small typed language over stored per-object records, e.g.
//   FN pedestrian within 30 m        FP car score>0.8        TP * iou<0.6        ignored reason=dontcare
// A query is a list of terms, all of which must hold:
// - outcome words tp, fp, fn, ignored (plurals too); several are alternatives. FN and FP name ground
//   truth and detections by nature; TP lists the matched detections unless source=gt is given.
// - class names (case-insensitive, plural 's' accepted, '*' any, 'car|van' or 'car,van' alternatives);
//   several class words are alternatives too.
// - conditions `field op value` (spaces optional), op one of < <= > >= = == !=:
//   score, distance (ego, m), iou, centerdist (m), occlusion, truncation, height, width, area (2D box,
//   px), id, matched (an id or none), frame (a frame id), frameindex, class, source (gt|det), band
//   (0-30|30-50|>50), difficulty (easy|moderate|hard), reason (the ignore reason).
// - `within N m` (distance <= N) and `beyond N m` (distance > N); filler words with, and, where, of.
// A field an object lacks (a score on ground truth, a distance on a 2D-only box) makes its condition
// false, as in slices. The same conditions, minus outcomes and match fields, define evaluation slices.
import { EvalError, type Outcome, type SliceCondition, type SliceDef, type SlicePredicate } from './types.js';

export type QueryField =
  | 'score'
  | 'distance'
  | 'iou'
  | 'centerdist'
  | 'occlusion'
  | 'truncation'
  | 'height'
  | 'width'
  | 'area'
  | 'id'
  | 'matched'
  | 'frame'
  | 'frameindex'
  | 'class'
  | 'source'
  | 'band'
  | 'difficulty'
  | 'reason';
export type QueryOp = '<' | '<=' | '>' | '>=' | '=' | '!=';

export interface QueryCondition {
  field: QueryField;
  op: QueryOp;
  /** null only for `matched=none` / `matched!=none`. */
  value: number | string | null;
}

export interface HardCaseQuery {
  outcomes: Outcome[];
  /** Lower-case class names (plural forms expanded); null: any class. */
  classes: string[] | null;
  conditions: QueryCondition[];
}

const NUMERIC: ReadonlySet<QueryField> = new Set(['score', 'distance', 'iou', 'centerdist', 'occlusion', 'truncation', 'height', 'width', 'area', 'id', 'matched', 'frameindex']);
const ALIASES: Readonly<Record<string, QueryField>> = {
  score: 'score', conf: 'score', confidence: 'score',
  distance: 'distance', dist: 'distance', range: 'distance',
  iou: 'iou', overlap: 'iou',
  centerdist: 'centerdist', center_distance: 'centerdist', centredist: 'centerdist',
  occlusion: 'occlusion', occluded: 'occlusion', occ: 'occlusion',
  truncation: 'truncation', truncated: 'truncation', trunc: 'truncation',
  height: 'height', h: 'height', width: 'width', w: 'width', area: 'area',
  id: 'id', matched: 'matched', match: 'matched',
  frame: 'frame', frameid: 'frame', frame_id: 'frame', frameindex: 'frameindex', frame_index: 'frameindex',
  class: 'class', label: 'class', source: 'source',
  band: 'band', difficulty: 'difficulty', reason: 'reason', ignore_reason: 'reason',
};
const OUTCOMES: Readonly<Record<string, Outcome>> = { tp: 'tp', tps: 'tp', fp: 'fp', fps: 'fp', fn: 'fn', fns: 'fn', ignored: 'ignored' };
const FILLER = new Set(['with', 'and', 'where', 'of', 'objects', 'object', 'boxes', 'm', 'meters', 'metres']);
const STRING_VALUES: Partial<Record<QueryField, readonly string[]>> = {
  source: ['gt', 'det'],
  band: ['0-30', '30-50', '>50'],
  difficulty: ['easy', 'moderate', 'hard'],
};

/** The query language, for help texts. */
export const QUERY_HELP = `Query terms (all must hold):
  tp | fp | fn | ignored        outcome (several: any of them); TP lists the matched detections unless source=gt
  car | pedestrian | '*'        class, case-insensitive, plural accepted; car|van or car,van for alternatives
  FIELD OP VALUE                OP: < <= > >= = != ; FIELD: score distance iou centerdist occlusion truncation
                                height width area id matched(=none) frame frameindex class source(gt|det)
                                band(0-30|30-50|>50) difficulty(easy|moderate|hard) reason(ignore reason)
  within N m | beyond N m       ego distance <= N / > N
Examples: "FN pedestrian within 30 m"  "FP car score>0.8"  "fn * distance<30 occlusion>=1"  "tp iou<0.6"`;

function fail(text: string, at: number, message: string): never {
  throw new EvalError(message, `query "${text}" at character ${at + 1}`);
}

/** Plural and singular forms a class word may stand for. */
function classForms(word: string): string[] {
  const w = word.toLowerCase();
  const forms = [w];
  if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss')) forms.push(w.slice(0, -1));
  if (w.endsWith('ies') && w.length > 4) forms.push(`${w.slice(0, -3)}y`);
  return forms;
}

const OP_RE = /^(<=|>=|!=|==|=|<|>)/;

/** Parses a query; throws EvalError naming the character where it went wrong. */
export function parseQuery(text: string): HardCaseQuery {
  if (typeof text !== 'string') throw new EvalError('a query must be a string', 'query');
  const outcomes = new Set<Outcome>();
  const classes = new Set<string>();
  let anyClass = false;
  const conditions: QueryCondition[] = [];
  let i = 0;
  const n = text.length;
  const skipSpace = () => {
    while (i < n && /\s/.test(text[i]!)) i++;
  };
  /** A value: a quoted string or a run of non-space characters. */
  const readValue = (): { value: string; at: number } => {
    skipSpace();
    const at = i;
    if (i >= n) fail(text, at, 'expected a value');
    const q = text[i]!;
    if (q === '"' || q === "'") {
      const end = text.indexOf(q, i + 1);
      if (end < 0) fail(text, at, 'unterminated quoted value');
      i = end + 1;
      return { value: text.slice(at + 1, end), at };
    }
    while (i < n && !/\s/.test(text[i]!)) i++;
    return { value: text.slice(at, i), at };
  };
  const readNumber = (field: string): { value: number; at: number } => {
    const { value, at } = readValue();
    const num = Number(value.replace(/m$/i, ''));
    if (value === '' || !Number.isFinite(num)) fail(text, at, `'${value}' is not a number (${field} takes a number)`);
    return { value: num, at };
  };

  while (true) {
    skipSpace();
    if (i >= n) break;
    const start = i;
    if (text[i] === '*') {
      anyClass = true;
      i++;
      continue;
    }
    const word = /^[A-Za-z_][\w.\-|,]*/.exec(text.slice(i))?.[0];
    if (!word) fail(text, start, `unexpected '${text[i]}'`);
    i += word.length;
    const lower = word.toLowerCase();
    // A condition: a field name followed (after optional spaces) by an operator.
    const afterWord = i;
    skipSpace();
    const op = OP_RE.exec(text.slice(i))?.[1];
    if (op) {
      const field = ALIASES[lower];
      if (!field) fail(text, start, `unknown field '${word}' (known: ${[...new Set(Object.values(ALIASES))].join(', ')})`);
      i += op.length;
      const qop: QueryOp = op === '==' ? '=' : (op as QueryOp);
      if (field === 'matched') {
        const { value, at } = readValue();
        if (value.toLowerCase() === 'none') {
          if (qop !== '=' && qop !== '!=') fail(text, at, "'none' takes = or !=");
          conditions.push({ field, op: qop, value: null });
        } else {
          const num = Number(value);
          if (!Number.isInteger(num)) fail(text, at, `'${value}' is not an object id or 'none'`);
          conditions.push({ field, op: qop, value: num });
        }
      } else if (NUMERIC.has(field)) {
        conditions.push({ field, op: qop, value: readNumber(field).value });
      } else {
        const { value, at } = readValue();
        if (qop !== '=' && qop !== '!=') fail(text, at - op.length, `${field} takes = or != (it is text)`);
        const allowed = STRING_VALUES[field];
        const v = field === 'frame' ? value : value.toLowerCase();
        if (allowed && !allowed.includes(v)) fail(text, at, `${field} is one of ${allowed.join(', ')}, not '${value}'`);
        conditions.push({ field, op: qop, value: v });
      }
      continue;
    }
    i = afterWord;
    if (lower === 'within' || lower === 'beyond') {
      const { value } = readNumber('distance');
      conditions.push({ field: 'distance', op: lower === 'within' ? '<=' : '>', value });
      continue;
    }
    const outcome = OUTCOMES[lower];
    if (outcome) {
      outcomes.add(outcome);
      continue;
    }
    if (FILLER.has(lower)) continue;
    if (ALIASES[lower] && !/[|,]/.test(word)) fail(text, i, `expected an operator after '${word}' (e.g. ${word}<30)`);
    for (const part of lower.split(/[|,]/)) {
      if (part === '*') anyClass = true;
      else if (part) for (const form of classForms(part)) classes.add(form);
    }
  }
  return { outcomes: [...outcomes], classes: anyClass || classes.size === 0 ? null : [...classes], conditions };
}

/** Canonical text of a parsed query (what was understood). */
export function formatQuery(q: HardCaseQuery): string {
  const parts: string[] = [...q.outcomes.map((o) => o.toUpperCase())];
  parts.push(q.classes ? q.classes.filter((c, i, all) => !all.some((o, j) => j !== i && classForms(o).includes(c) && o !== c)).join('|') : '*');
  for (const c of q.conditions) {
    const value = c.value === null ? 'none' : typeof c.value === 'string' && /\s/.test(c.value) ? JSON.stringify(c.value) : String(c.value);
    parts.push(`${c.field}${c.op}${value}`);
  }
  return parts.join(' ');
}

const COLUMN: Readonly<Record<QueryField, string>> = {
  score: 'o.score',
  distance: 'o.ego_distance',
  iou: 'o.iou',
  centerdist: 'o.center_distance',
  occlusion: 'o.occlusion',
  truncation: 'o.truncation',
  height: '(o.y2 - o.y1)',
  width: '(o.x2 - o.x1)',
  area: '((o.x2 - o.x1) * (o.y2 - o.y1))',
  id: 'o.object_id',
  matched: 'o.matched_id',
  frame: 'o.frame_id',
  frameindex: 'o.frame_index',
  class: 'lower(o.label)',
  source: 'o.source',
  band: 'o.distance_band',
  difficulty: 'o.difficulty',
  reason: 'o.ignore_reason',
};

export interface SqlFilter {
  /** A boolean SQL expression over `evaluation_objects o`, '1' when empty. */
  where: string;
  params: (string | number)[];
}

/** The query as a parameterised SQL condition over `evaluation_objects o`. */
export function queryToSql(q: HardCaseQuery): SqlFilter {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (q.outcomes.length) {
    where.push(`o.outcome IN (${q.outcomes.map(() => '?').join(', ')})`);
    params.push(...q.outcomes);
    // A TP pair has a record on each side; list it once (the detection) unless a source is named.
    if (q.outcomes.includes('tp') && !q.conditions.some((c) => c.field === 'source')) where.push("(o.outcome != 'tp' OR o.source = 'det')");
  }
  if (q.classes) {
    where.push(`lower(o.label) IN (${q.classes.map(() => '?').join(', ')})`);
    params.push(...q.classes);
  }
  for (const c of q.conditions) {
    const column = COLUMN[c.field];
    if (c.value === null) where.push(`${column} IS ${c.op === '=' ? '' : 'NOT '}NULL`);
    else {
      where.push(`${column} ${c.op} ?`);
      params.push(c.field === 'class' && typeof c.value === 'string' ? c.value.toLowerCase() : c.value);
    }
  }
  return { where: where.length ? where.map((w) => `(${w})`).join(' AND ') : '1', params };
}

const SLICE_FIELD: Partial<Record<QueryField, string>> = {
  score: 'score',
  distance: 'distance',
  occlusion: 'occlusion',
  truncation: 'truncation',
  height: 'height',
  width: 'width',
  area: 'area',
  frame: 'frameId',
  class: 'label',
};

/**
 * A slice from query text (conditions and class names; no outcomes or match fields), named by its
 * text. Class names match the lower-cased labels the adapter produces.
 */
export function sliceFromQuery(text: string, name?: string): SliceDef {
  const q = parseQuery(text);
  if (q.outcomes.length) throw new EvalError('a slice selects objects before matching: outcome words (tp, fp, fn, ignored) do not apply', `slice "${text}"`);
  const parts: SlicePredicate[] = [];
  if (q.classes) parts.push({ field: 'label', op: 'in', value: q.classes });
  for (const c of q.conditions) {
    const field = SLICE_FIELD[c.field];
    if (!field) throw new EvalError(`'${c.field}' is not a slice field (slices use: ${Object.keys(SLICE_FIELD).join(', ')})`, `slice "${text}"`);
    const op = c.op === '=' ? '==' : c.op;
    const value = c.field === 'class' && typeof c.value === 'string' ? c.value.toLowerCase() : c.value!;
    parts.push({ field, op, value } as SliceCondition);
  }
  if (!parts.length) throw new EvalError('a slice needs at least one condition or class', `slice "${text}"`);
  return { name: name ?? text.trim(), where: parts.length === 1 ? parts[0]! : { all: parts } };
}
