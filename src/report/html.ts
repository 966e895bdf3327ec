// The audit report as one self-contained HTML document: inline CSS, charts as inline SVG, thumbnails
// as data: URIs; nothing is fetched. Print CSS lays it out on A4 for the PDF.
import type { LabelSetRecord, StageSignOff } from '../labels/model.js';
import type { LogRecord } from '../store/logs.js';
import type { RunRecord } from '../store/runs.js';
import type { EvaluationDetail, RunComparison, StoredClassResult, StoredObject } from '../eval/store/model.js';
import type { PrCurve } from '../eval/types.js';
import { classBarChart, confusionHeatmap, formatFigure, prCurveChart } from './charts.js';

/**
 * One safety-critical miss, as the path-conflict audit will list it: a ground-truth obstacle in the
 * ego corridor within the braking horizon that the run missed or detected late.
 */
export interface SafetyMissRow {
  frameId: string;
  frameIndex?: number | null;
  /** The ground-truth object (label id). */
  objectId: number | string;
  label: string;
  /** Why it is critical, in words (e.g. "in the corridor 14 m ahead, TTC 1.6 s, never detected"). */
  reason: string;
  distanceM?: number | null;
  ttcS?: number | null;
  /** For the thumbnail. */
  sensorId?: string | null;
  box2d?: { x1: number; y1: number; x2: number; y2: number } | null;
}

export interface AuditHead {
  seq: number;
  hash: string;
  events: number;
  chainOk: boolean;
}

export interface ReportData {
  generatedAt: string;
  generatedBy: string;
  /** Who signs this report off (typed in at export); null when nobody did. */
  reviewer: string | null;
  softwareVersion: string;
  evaluation: EvaluationDetail;
  run: RunRecord;
  log: LogRecord | undefined;
  labelSet: LabelSetRecord;
  signOffs: StageSignOff[];
  /** The chain head when the report was built (its own export event follows it). */
  audit: AuditHead;
  /** Stand-in until the path-conflict audit lands: the largest missed objects by 2D box area. */
  largestMisses: StoredObject[];
  /** The path-conflict audit's rows; null when no audit has been run for this run. */
  safetyMisses: SafetyMissRow[] | null;
  comparison: RunComparison | null;
  compareRun: RunRecord | null;
  /** Thumbnail data: URIs by key ('miss:<seq>', 'safety:<i>'). */
  thumbnails: Map<string, string>;
  warnings: string[];
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (value: unknown): string => String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
const fig = formatFigure;
const num = (v: number | null | undefined, digits = 1): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '—');
/** JSON one top-level key per line, values compact (deep parameter trees stay short in print). */
const json = (v: unknown): string => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return esc(JSON.stringify(v));
  const entries = Object.entries(v as Record<string, unknown>);
  return entries.length ? esc(entries.map(([k, x]) => `${k}: ${JSON.stringify(x)}`).join('\n')) : '{}';
};

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 12px/1.45 Helvetica, Arial, sans-serif; color: #1d1d1f; margin: 24px auto; max-width: 1040px; padding: 0 16px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #1f4e79; color: #1f4e79; }
h3 { font-size: 13px; margin: 16px 0 6px; }
.meta { color: #555; margin: 0 0 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid #d0d4da; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #eef2f7; font-weight: 600; }
tbody th { width: 190px; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 600; background: #f6f8fb; }
.pos { color: #1a7f37; } .neg { color: #c62828; }
.charts { display: flex; flex-wrap: wrap; gap: 8px; }
figure.chart { margin: 0; break-inside: avoid; page-break-inside: avoid; }
figure.chart svg { display: block; }
.note { background: #fff8e1; border-left: 4px solid #f2b600; padding: 6px 10px; }
.warn { color: #8a5300; }
code, pre { font: 11px/1.35 Menlo, Consolas, monospace; }
pre { white-space: pre-wrap; word-break: break-all; background: #f6f8fa; padding: 6px; margin: 0; }
.hash { font: 11px Menlo, Consolas, monospace; word-break: break-all; }
img.thumb { display: block; max-width: 200px; max-height: 140px; border: 1px solid #ccc; }
section { break-inside: auto; }
@page { size: A4; margin: 12mm; }
@media print { body { margin: 0; max-width: none; padding: 0; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
`;

function table(headers: string[] | null, rows: string[][], numeric: boolean[] = [], rowClass: (i: number) => string = () => ''): string {
  const head = headers ? `<thead><tr>${headers.map((h, i) => `<th${numeric[i] ? ' class="n"' : ''}>${h}</th>`).join('')}</tr></thead>` : '';
  // Without headers the first column names the row.
  const cell = (c: string, i: number) => (headers === null && i === 0 ? `<th>${c}</th>` : `<td${numeric[i] ? ' class="n"' : ''}>${c}</td>`);
  const body = rows.map((r, ri) => `<tr${rowClass(ri) ? ` class="${rowClass(ri)}"` : ''}>${r.map(cell).join('')}</tr>`).join('\n');
  return `<table>${head}<tbody>\n${body}\n</tbody></table>`;
}

/** Which figure leads: COCO AP (.50:.95), KITTI moderate AP of the first variant, nuScenes mAP. */
export function headlineKeys(e: EvaluationDetail): { overall: string; perClass: string } {
  if (e.metric === 'kitti') {
    const variant = (e.params.variants as string[] | undefined)?.[0] ?? '2d';
    return { overall: `mAP_${variant}_moderate`, perClass: `AP_${variant}_moderate` };
  }
  if (e.metric === 'nuscenes') return { overall: 'mAP', perClass: 'AP' };
  return { overall: 'AP', perClass: 'AP' };
}

const KITTI_VARIANTS = ['2d', 'bev', '3d'];
const DIFFS = ['easy', 'moderate', 'hard'];
const TP_ERRORS = ['ATE', 'ASE', 'AOE', 'AVE', 'AAE'];

function metricsTables(e: EvaluationDetail): string {
  const classRow = (c: StoredClassResult, keys: string[]) => [esc(c.label), String(c.numGt), String(c.numDet), ...keys.map((k) => fig(c.metrics[k]))];
  if (e.metric === 'coco') {
    const overallKeys = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl'];
    const classKeys = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR100'];
    return `<h3>Overall (COCO: AP averaged over IoU .50:.05:.95, 101 recall points)</h3>
${table(overallKeys, [overallKeys.map((k) => fig(e.overall[k]))], overallKeys.map(() => true))}
<h3>Per class</h3>
${table(['class', 'GT', 'det', ...classKeys], e.perClass.map((c) => classRow(c, classKeys)), [false, true, true, ...classKeys.map(() => true)])}`;
  }
  if (e.metric === 'kitti') {
    const variants = ((e.params.variants as string[] | undefined) ?? KITTI_VARIANTS).filter((v) => KITTI_VARIANTS.includes(v));
    const keys = variants.flatMap((v) => DIFFS.map((d) => `${v}_${d}`));
    const headers = ['class', 'GT (mod.)', 'det', ...variants.flatMap((v) => DIFFS.map((d) => `${v.toUpperCase()} ${d}`))];
    const numeric = [false, true, true, ...keys.map(() => true)];
    const rows = e.perClass.map((c) => classRow(c, keys.map((k) => `AP_${k}`)));
    rows.push(['mean', '', '', ...keys.map((k) => fig(e.overall[`mAP_${k}`]))]);
    const points = e.params.recallPoints === 11 ? '11-point' : '40 recall points';
    return `<h3>AP per class × difficulty × 2D/BEV/3D (KITTI, ${points}; overlap ${esc(JSON.stringify(e.params.minOverlap ?? {}))})</h3>
${table(headers, rows, numeric, (i) => (i === rows.length - 1 ? 'total' : ''))}`;
  }
  const dists = Object.keys(e.overall).filter((k) => k.startsWith('mAP@')).map((k) => k.slice(4));
  const overallKeys = ['mAP', 'NDS', ...TP_ERRORS.map((m) => `m${m}`), ...dists.map((d) => `mAP@${d}`)];
  const classKeys = ['AP', ...dists.map((d) => `AP@${d}`), ...TP_ERRORS];
  return `<h3>Overall (nuScenes: centre-distance matching, TP errors at ${esc(e.params.distThresholdTp ?? 2)} m)</h3>
${table(overallKeys, [overallKeys.map((k) => fig(e.overall[k]))], overallKeys.map(() => true))}
<h3>Per class</h3>
${table(['class', 'GT', 'det', ...classKeys], e.perClass.map((c) => classRow(c, classKeys)), [false, true, true, ...classKeys.map(() => true)])}`;
}

function slicesTable(e: EvaluationDetail): string {
  if (!e.slices.length) return '<p>No slices.</p>';
  const { overall } = headlineKeys(e);
  const keys = e.metric === 'coco' ? ['AP', 'AP50', 'AR100'] : e.metric === 'nuscenes' ? ['mAP', 'NDS'] : [overall];
  return table(
    ['slice', 'GT', 'det', ...keys],
    e.slices.map((s) => [esc(s.name), String(s.numGt), String(s.numDet), ...keys.map((k) => fig(s.overall[k]))]),
    [false, true, true, ...keys.map(() => true)],
  );
}

function chartFigure(svg: string, attrs: Record<string, string>): string {
  const data = Object.entries(attrs)
    .map(([k, v]) => ` data-${k}="${esc(v)}"`)
    .join('');
  return `<figure class="chart"${data}>${svg}</figure>`;
}

function prCharts(e: EvaluationDetail): string {
  const byClass = new Map<string, PrCurve[]>();
  for (const c of e.prCurves) byClass.set(c.label, [...(byClass.get(c.label) ?? []), c]);
  const metricsOf = (label: string) => e.perClass.find((c) => c.label === label)?.metrics ?? {};
  const out: string[] = [];
  for (const [label, curves] of byClass) {
    const m = metricsOf(label);
    if (e.metric === 'kitti') {
      for (const variant of KITTI_VARIANTS) {
        const vc = curves.filter((c) => c.key.startsWith(`${variant}/`));
        if (!vc.length) continue;
        const key = `AP_${variant}_moderate`;
        const svg = prCurveChart({
          title: `${label} ${variant.toUpperCase()} — AP ${fig(m[key])}`,
          subtitle: DIFFS.map((d) => `${d} ${fig(m[`AP_${variant}_${d}`])}`).join(' · '),
          curves: vc,
          name: (c) => c.key.split('/')[1] ?? c.key,
        });
        out.push(chartFigure(svg, { class: label, figure: key, value: fig(m[key]) }));
      }
    } else if (e.metric === 'nuscenes') {
      const svg = prCurveChart({
        title: `${label} — AP ${fig(m.AP)}`,
        subtitle: curves.map((c) => `${c.key.replace('dist=', '@')} m ${fig(m[`AP@${c.key.replace('dist=', '')}`])}`).join(' · '),
        curves,
      });
      out.push(chartFigure(svg, { class: label, figure: 'AP', value: fig(m.AP) }));
    } else {
      const svg = prCurveChart({ title: `${label} — AP ${fig(m.AP)}`, subtitle: `AP50 ${fig(m.AP50)} · AP75 ${fig(m.AP75)}`, curves });
      out.push(chartFigure(svg, { class: label, figure: 'AP', value: fig(m.AP) }));
    }
  }
  return out.length ? `<div class="charts">${out.join('\n')}</div>` : '<p>No PR curves (no class has ground truth).</p>';
}

function apBars(e: EvaluationDetail): string {
  const { perClass } = headlineKeys(e);
  const rows = e.perClass.filter((c) => c.numGt > 0).map((c) => ({ label: c.label, value: c.metrics[perClass] ?? null }));
  if (!rows.length) return '';
  return chartFigure(classBarChart({ title: `${perClass} per class`, rows }), { figure: perClass, kind: 'bars' });
}

function thumbCell(data: ReportData, key: string): string {
  const uri = data.thumbnails.get(key);
  return uri ? `<img class="thumb" alt="${esc(key)}" src="${uri}">` : '<span class="warn">no image</span>';
}

/** The safety-critical misses: the path-conflict audit's rows, or (until it has run) a note and the largest misses. */
export function safetySection(data: ReportData): string {
  const parts = ['<section id="safety-critical-misses"><h2>Safety-critical misses</h2>'];
  if (data.safetyMisses === null) {
    parts.push('<p class="note">No path-conflict audit has been run for this run, so no safety-critical misses are listed. Until one is, the largest missed objects (false negatives by 2D box area) are shown below.</p>');
  } else if (!data.safetyMisses.length) {
    parts.push('<p>The path-conflict audit found no safety-critical misses.</p>');
  } else {
    parts.push(
      table(
        ['#', 'frame', 'object', 'class', 'distance (m)', 'TTC (s)', 'why', 'image'],
        data.safetyMisses.map((r, i) => [String(i + 1), `<code>${esc(r.frameId)}</code>`, esc(r.objectId), esc(r.label), num(r.distanceM), num(r.ttcS), esc(r.reason), thumbCell(data, `safety:${i}`)]),
        [true, false, true, false, true, true, false, false],
      ),
    );
  }
  if (data.safetyMisses === null) {
    parts.push('<h3 id="largest-misses">Largest missed objects</h3>');
    if (!data.largestMisses.length) parts.push('<p>No missed objects with a 2D box.</p>');
    else
      parts.push(
        table(
          ['#', 'frame', 'label id', 'class', 'box (px)', 'distance (m)', 'occlusion', 'best IoU', 'image'],
          data.largestMisses.map((o, i) => [
            String(i + 1),
            `<code>${esc(o.frameId)}</code>`,
            String(o.objectId),
            esc(o.label),
            o.box2d ? `${num(o.box2d.x2 - o.box2d.x1, 0)}×${num(o.box2d.y2 - o.box2d.y1, 0)}` : '—',
            num(o.egoDistance),
            o.occlusion === null ? '—' : String(o.occlusion),
            fig(o.iou),
            thumbCell(data, `miss:${o.seq}`),
          ]),
          [true, false, true, false, true, true, true, true, false],
        ),
      );
  }
  parts.push('</section>');
  return parts.join('\n');
}

function comparisonSection(data: ReportData): string {
  const c = data.comparison;
  if (!c || !data.compareRun) return '';
  const { overall, perClass } = headlineKeys(data.evaluation);
  const signed = (v: number | null) => (v === null ? 'n/a' : `<span class="${v > 0 ? 'pos' : v < 0 ? 'neg' : ''}">${v > 0 ? '+' : ''}${v.toFixed(4)}</span>`);
  const pick = (list: { key: string; a: number | null; b: number | null; delta: number | null }[], key: string) => list.find((d) => d.key === key);
  const headline = pick(c.overall, overall);
  const rows = c.perClass.map((p) => {
    const d = pick(p.deltas, perClass);
    return [esc(p.label), fig(d?.a), fig(d?.b), signed(d?.delta ?? null)];
  });
  rows.push(['all classes', fig(headline?.a), fig(headline?.b), signed(headline?.delta ?? null)]);
  const sliceRows = c.slices.map((s) => {
    const d = pick(s.overall, overall);
    return [esc(s.name), fig(d?.a), fig(d?.b), signed(d?.delta ?? null)];
  });
  const frames = c.frames.slice(0, 15).map((f) => [`<code>${esc(f.frameId)}</code>`, String(f.regressed), String(f.improved), `${f.fpA} → ${f.fpB}`, String(f.regressionSize)]);
  return `<section id="comparison"><h2>Run comparison</h2>
<p class="meta">This run (${esc(data.run.id)} '${esc(data.run.name)}') against run ${esc(data.compareRun.id)} '${esc(data.compareRun.name)}', on label set ${esc(c.labelSetId)}; Δ = this run − run ${esc(data.compareRun.id)}.
${c.regressed.length} objects regressed (TP → FN), ${c.improved.length} improved (FN → TP).</p>
${table(['class', `${esc(perClass)} run ${esc(data.compareRun.id)}`, 'this run', 'Δ'], rows, [false, true, true, true], (i) => (i === rows.length - 1 ? 'total' : ''))}
${sliceRows.length ? `<h3>Slices (${esc(overall)})</h3>${table(['slice', `run ${esc(data.compareRun.id)}`, 'this run', 'Δ'], sliceRows, [false, true, true, true])}` : ''}
${frames.length ? `<h3>Frames by regression</h3>${table(['frame', 'regressed', 'improved', 'FP', 'regression size'], frames, [false, true, true, true, true])}` : '<p>No frame changed.</p>'}
${c.warnings.length ? `<p class="warn">${c.warnings.map(esc).join('<br>')}</p>` : ''}
</section>`;
}

function provenanceSection(data: ReportData): string {
  const { run, log, labelSet: set, evaluation: e, audit } = data;
  const runRows = (r: RunRecord, title: string) => [
    [`${title}`, `${esc(r.id)} '${esc(r.name)}' (${esc(r.kind)}, ${esc(r.status)})`],
    ['Model', `${esc(r.modelId ?? '—')}${r.modelTask ? ` (${esc(r.modelTask)})` : ''}`],
    ['Model sha256', `<span class="hash" data-prov="model-sha256">${esc(r.modelSha256 ?? 'none (imported results)')}</span>`],
    ['Engine / execution provider', `${esc(r.engine ?? '—')} / ${esc(r.executionProvider ?? '—')}${r.device ? ` (device asked: ${esc(r.device)})` : ''}`],
    ['Parameters', `<pre>${json(r.params)}</pre>`],
    ['Run software version', esc(r.softwareVersion)],
    ['Run times', `created ${esc(r.createdAt)}, started ${esc(r.startedAt ?? '—')}, finished ${esc(r.finishedAt ?? '—')}; ${esc(r.framesDone)}/${esc(r.framesTotal ?? '?')} frames`],
  ];
  const rows: string[][] = [
    ...runRows(run, 'Run'),
    ['Log', log ? `${esc(log.id)} '${esc(log.name)}' (${esc(log.format)}, ${esc(log.sizeBytes)} bytes) at <code>${esc(log.path)}</code>` : `${esc(run.logId)} (not in the workspace database)`],
    ['Log fingerprint', `<span class="hash" data-prov="log-fingerprint">${esc(log?.fingerprint ?? '—')}</span>`],
    ['Log content sha256', log?.sha256 ? `<span class="hash" data-prov="log-sha256">${esc(log.sha256)}</span>` : 'not computed yet (the fingerprint above identifies the content)'],
    ['Label set', `<span data-prov="label-set-id">${esc(set.id)}</span> '${esc(set.name)}' (${esc(set.kind)}, ${esc(set.labelCount)} labels, created by ${esc(set.createdBy)} ${esc(set.createdAt)})`],
    ['Label set source', `<pre>${json(set.source)}</pre>`],
    ['Label set state evaluated', `last label event ${esc(e.labelSetEventId)}${e.stale ? ' <span class="warn">(the set or the run changed since: the evaluation is stale)</span>' : ''}`],
    ['Evaluation', `${esc(e.id)} (${esc(e.metric)}), ${esc(e.counts.frames)} frames, ${esc(e.counts.gts)} ground-truth boxes, ${esc(e.counts.dets)} detections; by ${esc(e.createdBy)} ${esc(e.createdAt)}; audit event ${esc(e.auditSeq)}`],
    ['Evaluation options', `<pre>${json(e.options)}</pre>`],
    ['Metric parameters', `<pre>${json(e.params)}</pre>`],
    ['Evaluation software version', esc(e.softwareVersion)],
    ['Report software version', esc(data.softwareVersion)],
    ['Audit head', `event ${esc(audit.seq)}: <span class="hash" data-prov="audit-head">${esc(audit.hash)}</span> (${audit.events} events, chain ${audit.chainOk ? 'verified' : '<span class="neg">BROKEN</span>'}; this export's own event follows it)`],
  ];
  if (data.compareRun) rows.push(...runRows(data.compareRun, 'Compared run'));
  return `<section id="provenance"><h2>Provenance</h2>${table(null, rows)}</section>`;
}

function signOffSection(data: ReportData): string {
  const list = data.signOffs;
  const body = list.length
    ? table(
        ['stage', 'frames', 'signed by', 'at', 'note', 'audit event'],
        list.map((s) => [esc(s.stage), `<code>${esc(s.fromFrameId)}</code> … <code>${esc(s.toFrameId)}</code>${s.frameCount !== null ? ` (${esc(s.frameCount)} frames)` : ''}`, esc(s.signedBy), esc(s.signedAt), esc(s.note ?? ''), esc(s.auditSeq)]),
      )
    : `<p class="note">No reviewer has signed off label set ${esc(data.labelSet.id)} '${esc(data.labelSet.name)}'.</p>`;
  const report = data.reviewer
    ? `<p>This report is signed off by <strong data-prov="reviewer">${esc(data.reviewer)}</strong> at ${esc(data.generatedAt)} (recorded in the audit trail with the file's sha256).</p>`
    : '<p class="note">This report was exported without a reviewer sign-off.</p>';
  return `<section id="sign-off"><h2>Reviewer sign-off</h2>${report}${body}</section>`;
}

export function renderReportHtml(data: ReportData): string {
  const e = data.evaluation;
  const { overall } = headlineKeys(e);
  const title = `Perception audit: run ${data.run.id} '${data.run.name}'`;
  const warnings = [...e.warnings.slice(0, 20), ...data.warnings];
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Sightline ${esc(data.softwareVersion)}">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>
<header><h1>${esc(title)}</h1>
<p class="meta">${esc(e.metric.toUpperCase())} evaluation ${esc(e.id)} against label set ${esc(data.labelSet.id)} '${esc(data.labelSet.name)}' on log ${esc(data.log?.name ?? data.run.logId)} · headline ${esc(overall)} <strong data-figure="${esc(overall)}">${fig(e.overall[overall])}</strong> · generated ${esc(data.generatedAt)} by ${esc(data.generatedBy)}</p></header>
<section id="metrics"><h2>Metrics</h2>
${metricsTables(e)}
${apBars(e)}
<h3>Slices</h3>
${slicesTable(e)}
</section>
<section id="pr-curves"><h2>Precision–recall curves</h2>
${prCharts(e)}
</section>
<section id="confusion"><h2>Confusion matrix</h2>
<p class="meta">Class-agnostic matching; rows are detected classes, columns true classes; 'background' collects false positives (row) and misses (column).</p>
${e.confusion.labels.length ? chartFigure(confusionHeatmap(e.confusion), { figure: 'confusion' }) : '<p>No confusion matrix.</p>'}
</section>
${safetySection(data)}
${comparisonSection(data)}
${provenanceSection(data)}
${signOffSection(data)}
${warnings.length ? `<section id="warnings"><h2>Warnings</h2><ul>${warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></section>` : ''}
</body></html>
`;
}
