// `sightline eval | compare | query`: evaluate a run against a label set (COCO, KITTI, nuScenes) and
// store the result, compare two runs, and query the stored per-object records for hard cases.
import { Command, InvalidArgumentError } from 'commander';
import { ApiError } from '../../api/contract.js';
import { defaultDbPath } from '../../app/paths.js';
import { sliceFromQuery, QUERY_HELP } from '../../eval/queries.js';
import { EvalStoreError } from '../../eval/store/errors.js';
import type { EvaluationDetail, EvaluationOptions, EvaluationSummary, MetricDeltaJson, ObjectQueryResult, RunComparison, StoredObject } from '../../eval/store/model.js';
import { METRICS, EvalService } from '../../eval/store/service.js';
import { EvalError, type MetricName } from '../../eval/types.js';
import type { Db } from '../../store/db.js';
import { toCliError, withExistingDb } from './labels.js';

/** Where the output goes (tests collect it). */
export interface CliOutput {
  write(text: string): void;
}
const stdout: CliOutput = { write: (text) => void process.stdout.write(text) };

/** Evaluation errors as the API's error type (bin.ts prints it and maps it to an exit code). */
export function toEvalCliError(error: unknown): ApiError {
  if (error instanceof EvalStoreError) return new ApiError(error.code, error.message, error.details);
  if (error instanceof EvalError) return new ApiError('BAD_INPUT', error.message);
  return toCliError(error);
}

/** Opens an existing workspace database for an evaluation command, mapping its errors. */
export async function withEvalDb<T>(path: string, use: (db: Db) => T | Promise<T>): Promise<T> {
  return withExistingDb(path, async (db) => {
    try {
      return await use(db);
    } catch (error) {
      throw toEvalCliError(error);
    }
  });
}

export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export const parseMetric = (value: string): MetricName => {
  if (!METRICS.includes(value as MetricName)) throw new InvalidArgumentError(`must be one of ${METRICS.join(', ')}`);
  return value as MetricName;
};

const parseNonNegativeInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
};

export const parsePositive = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
};

/** key=value pairs; values are JSON where they parse as JSON (numbers, arrays), else strings. */
function parsePairs(pairs: string[], what: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ApiError('BAD_INPUT', `${what} '${pair}' is not key=value`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      /* a plain string */
    }
    out[pair.slice(0, eq)] = value;
  }
  return out;
}

interface OptionFlags {
  slice?: string[];
  classes?: string;
  sensor?: string;
  classMap?: string[];
  metricOption?: string[];
}

/** Command-line flags -> evaluation options. */
export function optionsFromFlags(opts: OptionFlags): EvaluationOptions {
  const options: EvaluationOptions = {};
  if (opts.classes) options.classes = opts.classes.split(',').map((c) => c.trim()).filter(Boolean);
  if (opts.sensor) options.sensorId = opts.sensor;
  if (opts.slice?.length) options.slices = opts.slice.map((s) => sliceFromQuery(s));
  if (opts.classMap?.length) options.classMap = Object.fromEntries(Object.entries(parsePairs(opts.classMap, '--class-map')).map(([k, v]) => [k, String(v)]));
  if (opts.metricOption?.length) options.metricOptions = parsePairs(opts.metricOption, '--metric-option');
  return options;
}

const addEvalOptions = (c: Command): Command =>
  c
    .option('--classes <list>', 'classes to evaluate, comma-separated (default: the metric’s own)')
    .option('--sensor <id>', 'camera whose 2D boxes are compared (default: the one most ground-truth boxes are on)')
    .option('--slice <query>', "an extra slice, as query conditions (e.g. 'distance<30', 'occlusion>=1 car'); repeatable", collect)
    .option('--class-map <from=to>', "rename a class on both sides (after lower-casing), e.g. 'van=car'; repeatable", collect)
    .option('--metric-option <key=value>', "metric option (coco recordIou; kitti recallPoints, sampling; nuscenes distThresholdTp …); repeatable", collect);

// ---- text output ----

export const fmt = (v: number | null | undefined, digits = 4): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const signed = (v: number | null): string => (v === null ? 'n/a' : `${v > 0 ? '+' : ''}${v.toFixed(4)}`);

/** A plain text table: columns padded to their widest cell, numbers right-aligned. */
export function textTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+]?(\d|n\/a|—|$)/.test(r[i] ?? '')));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] && i > 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const KITTI_VARIANTS = ['2d', 'bev', '3d'];
const DIFFS = ['easy', 'moderate', 'hard'];
const TP = ['ATE', 'ASE', 'AOE', 'AVE', 'AAE'];

/** The figures a person reads first, per metric. */
export function formatEvaluation(e: EvaluationDetail, reused = false): string {
  const out: string[] = [];
  out.push(`Evaluation ${e.id}${reused ? ' (stored, reused)' : ''}: run ${e.runId} against label set ${e.labelSetId}, ${e.metric}, ${e.counts.frames} frames, ${e.counts.gts} ground truth, ${e.counts.dets} detections${e.stale ? ' [STALE: the run or the set changed since]' : ''}`);
  if (e.metric === 'coco') {
    const keys = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100'];
    out.push('', textTable(keys, [keys.map((k) => fmt(e.overall[k]))]));
    const ck = ['AP', 'AP50', 'AP75', 'AR100'];
    out.push('', textTable(['class', 'GT', 'det', ...ck], e.perClass.map((c) => [c.label, String(c.numGt), String(c.numDet), ...ck.map((k) => fmt(c.metrics[k]))])));
  } else if (e.metric === 'kitti') {
    const variants = ((e.params.variants as string[] | undefined) ?? KITTI_VARIANTS).filter((v) => KITTI_VARIANTS.includes(v));
    const keys = variants.flatMap((v) => DIFFS.map((d) => `${v}_${d}`));
    const rows = e.perClass.map((c) => [c.label, String(c.numGt), ...keys.map((k) => fmt(c.metrics[`AP_${k}`]))]);
    rows.push(['mean', '', ...keys.map((k) => fmt(e.overall[`mAP_${k}`]))]);
    out.push('', `AP (${e.params.recallPoints === 11 ? '11-point' : '40 recall points'}), class × variant × difficulty:`);
    out.push(textTable(['class', 'GT(mod)', ...variants.flatMap((v) => DIFFS.map((d) => `${v.toUpperCase()}/${d.slice(0, 3)}`))], rows));
  } else {
    const keys = ['mAP', 'NDS', ...TP.map((m) => `m${m}`)];
    out.push('', textTable(keys, [keys.map((k) => fmt(e.overall[k]))]));
    const ck = ['AP', ...TP];
    out.push('', textTable(['class', 'GT', 'det', ...ck], e.perClass.map((c) => [c.label, String(c.numGt), String(c.numDet), ...ck.map((k) => fmt(c.metrics[k]))])));
  }
  if (e.slices.length) {
    const head = e.metric === 'coco' ? ['AP', 'AP50'] : e.metric === 'nuscenes' ? ['mAP', 'NDS'] : [`mAP_${(e.params.variants as string[] | undefined)?.[0] ?? '2d'}_moderate`];
    out.push('', 'Slices:', textTable(['slice', 'GT', 'det', ...head], e.slices.map((s) => [s.name, String(s.numGt), String(s.numDet), ...head.map((k) => fmt(s.overall[k]))])));
  }
  if (e.warnings.length) out.push('', `Warnings (${e.warnings.length}):`, ...e.warnings.slice(0, 10).map((w) => `  ${w}`), ...(e.warnings.length > 10 ? [`  … ${e.warnings.length - 10} more (--json lists all)`] : []));
  return `${out.join('\n')}\n`;
}

/** The evaluation as `eval --json` prints it: figures, per class, slices, confusion; no PR curve arrays unless asked. */
export function evaluationJson(e: EvaluationDetail, options: { curves?: boolean; reused?: boolean } = {}): Record<string, unknown> {
  const { prCurves, confusion, ...rest } = e;
  return {
    ...rest,
    reused: options.reused ?? false,
    confusion: { labels: confusion.labels, criterion: confusion.criterion, counts: Array.from(confusion.counts) },
    prCurves: options.curves
      ? prCurves.map((c) => ({ label: c.label, key: c.key, recall: Array.from(c.recall), precision: Array.from(c.precision), scores: Array.from(c.scores) }))
      : prCurves.map((c) => ({ label: c.label, key: c.key, points: c.recall.length })),
  };
}

function summaryLine(e: EvaluationSummary): string {
  const head = e.metric === 'coco' ? `AP ${fmt(e.overall.AP)}` : e.metric === 'nuscenes' ? `mAP ${fmt(e.overall.mAP)} NDS ${fmt(e.overall.NDS)}` : `mAP(mod) ${fmt(Object.entries(e.overall).find(([k]) => k.startsWith('mAP_') && k.endsWith('_moderate'))?.[1])}`;
  return [String(e.id).padEnd(5), String(e.runId).padEnd(5), String(e.labelSetId).padEnd(5), e.metric.padEnd(9), head.padEnd(28), e.createdAt, e.stale ? ' STALE' : ''].join(' ');
}

export function formatComparison(c: RunComparison, limit = 20): string {
  const out: string[] = [];
  out.push(`Run ${c.evaluationB.runId} (B) against run ${c.evaluationA.runId} (A) on label set ${c.labelSetId}, ${c.metric}; Δ = B − A (evaluations ${c.evaluationA.id} and ${c.evaluationB.id})`);
  const row = (d: MetricDeltaJson) => [d.key, fmt(d.a), fmt(d.b), signed(d.delta)];
  const headline = c.metric === 'coco' ? ['AP', 'AP50', 'AP75', 'AR100'] : c.metric === 'nuscenes' ? ['mAP', 'NDS', 'mATE', 'mASE', 'mAOE'] : null;
  const overall = headline ? c.overall.filter((d) => headline.includes(d.key)) : c.overall.filter((d) => /^mAP_.*_moderate$/.test(d.key));
  out.push('', textTable(['metric', 'A', 'B', 'Δ'], overall.map(row)));
  const classKey = c.metric === 'kitti' ? (c.overall.find((d) => /^mAP_.*_moderate$/.test(d.key))?.key.replace(/^mAP_/, 'AP_') ?? 'AP_2d_moderate') : 'AP';
  out.push('', `Per class (${classKey}):`, textTable(['class', 'A', 'B', 'Δ'], c.perClass.map((p) => [p.label, ...row(p.deltas.find((d) => d.key === classKey) ?? { key: classKey, a: null, b: null, delta: null }).slice(1)])));
  if (c.slices.length) {
    const sliceKey = c.metric === 'kitti' ? classKey.replace(/^AP_/, 'mAP_') : c.metric === 'nuscenes' ? 'mAP' : 'AP';
    out.push('', `Slices (${sliceKey}):`, textTable(['slice', 'A', 'B', 'Δ'], c.slices.map((s) => [s.name, ...row(s.overall.find((d) => d.key === sliceKey) ?? { key: sliceKey, a: null, b: null, delta: null }).slice(1)])));
  }
  const changes = (title: string, list: RunComparison['regressed']) => {
    out.push('', `${title}: ${list.length}`);
    if (list.length) out.push(textTable(['frame', 'label id', 'class', 'matched A', 'matched B', 'band'], list.slice(0, limit).map((o) => [o.frameId, String(o.objectId), o.label, String(o.matchedIdA ?? '-'), String(o.matchedIdB ?? '-'), o.distanceBand ?? '-'])));
  };
  changes('Regressed (TP → FN)', c.regressed);
  changes('Improved (FN → TP)', c.improved);
  out.push('', `Frames by regression (${c.frames.length} changed):`);
  if (c.frames.length) out.push(textTable(['frame', 'regressed', 'improved', 'FP A', 'FP B', 'size'], c.frames.slice(0, limit).map((f) => [f.frameId, String(f.regressed), String(f.improved), String(f.fpA), String(f.fpB), String(f.regressionSize)])));
  if (c.warnings.length) out.push('', 'Warnings:', ...c.warnings.map((w) => `  ${w}`));
  return `${out.join('\n')}\n`;
}

function objectRow(o: StoredObject): string[] {
  const box = o.box2d ? `${(o.box2d.x2 - o.box2d.x1).toFixed(0)}x${(o.box2d.y2 - o.box2d.y1).toFixed(0)}` : '-';
  return [o.frameId, o.source, String(o.objectId), o.label, o.outcome, fmt(o.score, 3), String(o.matchedId ?? '-'), fmt(o.iou, 3), fmt(o.egoDistance, 1), box, o.ignoreReason ?? ''];
}

export function formatObjects(r: ObjectQueryResult): string {
  const out = [`${r.total} objects in ${r.frames.length} frames${r.query ? ` for "${r.query}"` : ''} (evaluation ${r.evaluationId})`];
  if (r.items.length) {
    out.push('', textTable(['frame', 'side', 'id', 'class', 'outcome', 'score', 'matched', 'iou', 'dist', 'box', 'why ignored'], r.items.map(objectRow)));
    if (r.offset + r.items.length < r.total) out.push(`… ${r.total - r.offset - r.items.length} more (--offset ${r.offset + r.items.length})`);
  }
  return `${out.join('\n')}\n`;
}

const print = (out: CliOutput, value: unknown) => out.write(`${JSON.stringify(value, null, 2)}\n`);

export function registerEvalCommands(program: Command, out: CliOutput = stdout): void {
  addEvalOptions(
    program
      .command('eval')
      .description('evaluate a run against a label set (COCO, KITTI or nuScenes metrics) and store the result with every per-object TP/FP/FN')
      .option('--db <file>', 'workspace database', defaultDbPath())
      .option('--run <run>', 'run id or name')
      .option('--against <set>', 'label set (ground truth) id or name')
      .option('--metric <name>', 'coco | kitti | nuscenes', parseMetric, 'coco' as MetricName),
  )
    .option('--reuse', 'print the newest stored evaluation asked the same thing, if neither side changed, instead of computing')
    .option('--list', 'list stored evaluations (of --run, if given) instead')
    .option('--show <id>', 'print a stored evaluation instead', parsePositive)
    .option('--curves', 'with --json: include the PR curve arrays')
    .option('--json', 'print JSON')
    .action(async (opts: OptionFlags & { db: string; run?: string; against?: string; metric: MetricName; reuse?: boolean; list?: boolean; show?: number; curves?: boolean; json?: boolean }) => {
      await withEvalDb(opts.db, (db) => {
        const service = new EvalService(db);
        if (opts.list) {
          const list = service.list({ runId: opts.run !== undefined ? service.resolveRun(opts.run).id : undefined });
          if (opts.json) return print(out, list);
          if (!list.length) return out.write('No evaluations\n');
          out.write(`${['ID'.padEnd(5), 'RUN'.padEnd(5), 'SET'.padEnd(5), 'METRIC'.padEnd(9), 'HEADLINE'.padEnd(28), 'CREATED'].join(' ')}\n`);
          for (const e of list) out.write(`${summaryLine(e)}\n`);
          return;
        }
        if (opts.show !== undefined) {
          const e = service.get(opts.show);
          return opts.json ? print(out, evaluationJson(e, { curves: opts.curves })) : out.write(formatEvaluation(e));
        }
        if (opts.run === undefined || opts.against === undefined) throw new ApiError('BAD_INPUT', 'eval needs --run RUN and --against SET (or --list / --show ID)');
        const { evaluation, reused } = service.evaluate({ run: opts.run, against: opts.against, metric: opts.metric, options: optionsFromFlags(opts), reuse: opts.reuse });
        if (opts.json) print(out, evaluationJson(evaluation, { curves: opts.curves, reused }));
        else out.write(formatEvaluation(evaluation, reused));
      });
    });

  addEvalOptions(
    program
      .command('compare')
      .description('compare two runs against the same label set: metric deltas per class and slice, objects that regressed (TP→FN) or improved, frames by regression')
      .option('--db <file>', 'workspace database', defaultDbPath())
      .requiredOption('--run <run>', 'run id or name: give it twice, A (baseline) then B', collect)
      .requiredOption('--against <set>', 'label set (ground truth) id or name')
      .option('--metric <name>', 'coco | kitti | nuscenes', parseMetric, 'coco' as MetricName),
  )
    .option('--limit <n>', 'objects and frames listed', parsePositive, 20)
    .option('--json', 'print JSON')
    .action(async (opts: OptionFlags & { db: string; run: string[]; against: string; metric: MetricName; limit: number; json?: boolean }) => {
      if (opts.run.length !== 2) throw new ApiError('BAD_INPUT', `compare needs --run exactly twice (A then B), got ${opts.run.length}`);
      await withEvalDb(opts.db, (db) => {
        const c = new EvalService(db).compare({ runA: opts.run[0]!, runB: opts.run[1]!, against: opts.against, metric: opts.metric, options: optionsFromFlags(opts) });
        if (opts.json) print(out, c);
        else out.write(formatComparison(c, opts.limit));
      });
    });

  program
    .command('query')
    .description('hard-case queries over an evaluation’s per-object records (e.g. "FN pedestrian within 30 m"); save and list queries')
    .argument('[query]', 'the query (see below)')
    .option('--db <file>', 'workspace database', defaultDbPath())
    .option('--eval <id>', 'evaluation id', parsePositive)
    .option('--saved <name>', 'run a saved query (name or id)')
    .option('--save <name>', 'save the query under this name (runs it too when --eval is given)')
    .option('--description <text>', 'with --save: what the query is for')
    .option('--list', 'list saved queries')
    .option('--order <by>', 'frame | score | distance | size', 'frame')
    .option('--limit <n>', 'objects listed', parsePositive, 50)
    .option('--offset <n>', 'skip this many', parseNonNegativeInt, 0)
    .option('--json', 'print JSON')
    .addHelpText('after', `\n${QUERY_HELP}\n\nResults list the matching objects and every frame they are on (timeline markers).`)
    .action(async (text: string | undefined, opts: { db: string; eval?: number; saved?: string; save?: string; description?: string; list?: boolean; order: string; limit: number; offset: number; json?: boolean }) => {
      if (!['frame', 'score', 'distance', 'size'].includes(opts.order)) throw new ApiError('BAD_INPUT', `--order must be frame, score, distance or size, not '${opts.order}'`);
      await withEvalDb(opts.db, (db) => {
        const service = new EvalService(db);
        if (opts.list) {
          const list = service.listQueries();
          if (opts.json) return print(out, list);
          if (!list.length) return out.write('No saved queries\n');
          return out.write(`${textTable(['ID', 'NAME', 'QUERY', 'BY'], list.map((q) => [String(q.id), q.name, q.text, q.createdBy]))}\n`);
        }
        if (opts.save) {
          if (!text) throw new ApiError('BAD_INPUT', '--save needs the query text');
          const saved = service.saveQuery({ name: opts.save, text, description: opts.description });
          if (opts.eval === undefined) return opts.json ? print(out, saved) : out.write(`Saved query ${saved.id} '${saved.name}': ${saved.text}\n`);
        }
        if (opts.eval === undefined) throw new ApiError('BAD_INPUT', 'query needs --eval ID (or --list, or --save NAME)');
        const savedId = opts.saved !== undefined ? service.getQuery(opts.saved).id : undefined;
        if (!text && savedId === undefined) throw new ApiError('BAD_INPUT', 'give a query, or --saved NAME');
        const result = service.objects(opts.eval, { query: text, savedQueryId: savedId, order: opts.order as 'frame', limit: opts.limit, offset: opts.offset });
        if (opts.json) print(out, result);
        else out.write(formatObjects(result));
      });
    });
}
