// The audit report of a run: its evaluation (metrics, PR curves, confusion matrix), safety-critical
// misses with thumbnails, an optional comparison with another run, full provenance and the reviewer's
// sign-off, as self-contained HTML or as a PDF printed by Chromium. Each export writes an audit event
// holding the file's sha256.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { defaultActor } from '../app/paths.js';
import { EvalStoreError } from '../eval/store/errors.js';
import { selectObjects } from '../eval/store/evaluations.js';
import type { EvaluationDetail, ReportExport } from '../eval/store/model.js';
import { EvalService } from '../eval/store/service.js';
import type { MetricName } from '../eval/types.js';
import { appendAudit, verifyAuditChain } from '../store/audit.js';
import type { Db } from '../store/db.js';
import { getLabelSet } from '../store/labelSets.js';
import { getLogRecord } from '../store/logs.js';
import { listSignOffs } from '../store/reviews.js';
import { getRun } from '../store/runs.js';
import { softwareVersion } from '../version.js';
import { renderReportHtml, type ReportData, type SafetyMissRow } from './html.js';
import { safetyMissRowsOfRun } from './safetyMisses.js';
import { countPdfPages, printHtmlToPdf } from './pdf.js';
import { cropThumbnails, type ThumbnailRequest } from './thumbnails.js';

export { renderReportHtml, safetySection, headlineKeys, type ReportData, type SafetyMissRow, type AuditHead } from './html.js';
export { formatFigure, prCurveChart, classBarChart, confusionHeatmap } from './charts.js';
export { printHtmlToPdf, countPdfPages, chromiumPath } from './pdf.js';
export { cropThumbnails, cropThumbnail } from './thumbnails.js';
export { safetyMissRowsOfRun } from './safetyMisses.js';

export interface ReportOptions {
  /** Run id or name. */
  run: string | number;
  /** Label set id or name; default: the set of the run's newest evaluation. */
  against?: string | number;
  metric?: MetricName;
  /** A stored evaluation of the run to report (instead of run/against/metric). */
  evaluationId?: number;
  /** Another run (id or name) to compare against: deltas are this run minus that one. */
  compareRun?: string | number;
  /** .html or .pdf */
  out: string;
  format?: 'html' | 'pdf';
  actor?: string;
  /** The reviewer who signs the report off (shown in it and recorded with the export). */
  reviewer?: string;
  /** Where the log is now, when it moved since the store saw it (for thumbnails). */
  logPath?: string;
  chromiumPath?: string;
  /**
   * The path-conflict audit's safety-critical misses. Undefined: those of the run's newest audit; null,
   * or a run never audited: a note and the largest misses instead.
   */
  safetyMisses?: SafetyMissRow[] | null;
  /** How many largest misses to show (default 8). */
  misses?: number;
}

function formatOf(options: ReportOptions): 'html' | 'pdf' {
  if (options.format) return options.format;
  const ext = extname(options.out).toLowerCase();
  if (ext === '.pdf') return 'pdf';
  if (ext === '.html' || ext === '.htm') return 'html';
  throw new EvalStoreError(`Cannot tell the report format from '${options.out}': name it .html or .pdf`, 'BAD_INPUT');
}

/** The evaluation a report shows: the one named, else a fresh or reusable one against the set, else the run's newest. */
function pickEvaluation(service: EvalService, options: Omit<ReportOptions, 'out' | 'format'>): EvaluationDetail {
  const run = service.resolveRun(options.run);
  if (options.evaluationId !== undefined) {
    const e = service.get(options.evaluationId);
    if (e.runId !== run.id) throw new EvalStoreError(`Evaluation ${e.id} is of run ${e.runId}, not run ${run.id}`, 'BAD_INPUT');
    return e;
  }
  if (options.against !== undefined) {
    const set = service.resolveSet(options.against, run.logId);
    const metric = options.metric ?? service.list({ runId: run.id, labelSetId: set.id, limit: 1 })[0]?.metric ?? 'coco';
    return service.evaluate({ run: run.id, against: set.id, metric, reuse: true }).evaluation;
  }
  const newest = service.list({ runId: run.id, metric: options.metric, limit: 1 })[0];
  if (!newest) throw new EvalStoreError(`Run ${run.id} has no ${options.metric ? `${options.metric} ` : ''}evaluation yet; pass --against SET to evaluate it`, 'NOT_FOUND');
  return service.get(newest.id);
}

/** Gathers everything the report shows (evaluating where needed). */
export async function buildReportData(db: Db, options: Omit<ReportOptions, 'out' | 'format'>): Promise<ReportData> {
  const actor = options.actor ?? defaultActor();
  const service = new EvalService(db, { actor });
  const evaluation = pickEvaluation(service, options);
  const run = getRun(db, evaluation.runId)!;
  const labelSet = getLabelSet(db, evaluation.labelSetId)!;
  const warnings: string[] = [];

  let comparison: ReportData['comparison'] = null;
  let compareRun: ReportData['compareRun'] = null;
  if (options.compareRun !== undefined) {
    compareRun = service.resolveRun(options.compareRun);
    comparison = service.compare({ runA: compareRun.id, runB: run.id, against: labelSet.id, metric: evaluation.metric, options: evaluation.options });
  }

  // undefined: the run's newest path-conflict audit, if any; null: no safety section (largest misses instead).
  const safetyMisses = options.safetyMisses === undefined ? safetyMissRowsOfRun(db, run.id) : options.safetyMisses;
  const largestMisses =
    safetyMisses == null
      ? selectObjects(db, evaluation.id, { where: "o.outcome = 'fn' AND o.x1 IS NOT NULL", params: [] }, { order: 'size', limit: options.misses ?? 8 }).items
      : [];
  const requests: ThumbnailRequest[] = [];
  for (const o of largestMisses) if (o.box2d && o.sensorId) requests.push({ key: `miss:${o.seq}`, frameId: o.frameId, sensorId: o.sensorId, box2d: o.box2d });
  (safetyMisses ?? []).forEach((r, i) => {
    if (r.box2d && r.sensorId) requests.push({ key: `safety:${i}`, frameId: r.frameId, sensorId: r.sensorId, box2d: r.box2d });
  });
  const thumbs = await cropThumbnails(db, evaluation.logId, requests, { logPath: options.logPath });
  warnings.push(...thumbs.warnings);

  const chain = verifyAuditChain(db);
  const head = db.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
  return {
    generatedAt: new Date().toISOString(),
    generatedBy: actor,
    reviewer: options.reviewer?.trim() || null,
    softwareVersion,
    evaluation,
    run,
    log: getLogRecord(db, evaluation.logId),
    labelSet,
    signOffs: listSignOffs(db, labelSet.id),
    audit: { seq: head?.seq ?? 0, hash: head?.hash ?? chain.headHash, events: chain.events, chainOk: chain.ok },
    largestMisses,
    safetyMisses: safetyMisses ?? null,
    comparison,
    compareRun,
    thumbnails: thumbs.images,
    warnings,
  };
}

/** Builds the report, writes it as HTML or PDF, and records the export in the audit trail. */
export async function exportReport(db: Db, options: ReportOptions): Promise<ReportExport> {
  const format = formatOf(options);
  const out = resolve(options.out);
  const actor = options.actor ?? defaultActor();
  const t0 = performance.now();
  const data = await buildReportData(db, { ...options, actor });
  const html = renderReportHtml(data);
  const t1 = performance.now();
  let bytes: Buffer;
  let pages: number | null = null;
  const warnings = [...data.warnings];
  if (format === 'pdf') {
    const printed = await printHtmlToPdf(html, { chromiumPath: options.chromiumPath });
    if (printed.blockedRequests.length) warnings.push(`the report tried to fetch ${printed.blockedRequests.length} URL(s), refused: ${printed.blockedRequests.slice(0, 3).join(', ')}`);
    bytes = printed.pdf;
    pages = countPdfPages(bytes);
  } else bytes = Buffer.from(html, 'utf8');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, bytes);
  const t2 = performance.now();
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const audit = db.transaction(() =>
    appendAudit(db, {
      actor,
      action: 'report.export',
      entityType: 'evaluation',
      entityId: String(data.evaluation.id),
      payload: {
        runId: data.run.id, evaluationId: data.evaluation.id, labelSetId: data.labelSet.id, comparedRunId: data.compareRun?.id ?? null, format, path: out, bytes: bytes.length, sha256,
        pages, reviewer: data.reviewer, auditHeadSeq: data.audit.seq, auditHeadHash: data.audit.hash, safetyMisses: data.safetyMisses?.length ?? null, softwareVersion,
      },
    }),
  ).immediate();
  return {
    path: out,
    format,
    bytes: bytes.length,
    sha256,
    pages,
    evaluationId: data.evaluation.id,
    comparedRunId: data.compareRun?.id ?? null,
    auditSeq: audit.seq,
    auditHash: audit.hash,
    warnings,
    timings: { buildMs: t1 - t0, renderMs: t2 - t1 },
  };
}

export interface ExportedReportFile {
  name: string;
  format: 'html' | 'pdf';
  bytes: Uint8Array;
  sha256: string;
}

/**
 * A report file by the audit event of its export (how the web UI downloads it): only files this
 * workspace exported are served, and only while their bytes still hash to what the event recorded.
 */
export async function readExportedReport(db: Db, auditSeq: number): Promise<ExportedReportFile> {
  const row = db.prepare("SELECT payload_json FROM audit_events WHERE seq = ? AND action = 'report.export'").pluck().get(auditSeq) as string | undefined;
  if (!row) throw new EvalStoreError(`No report export with audit event ${auditSeq}`, 'NOT_FOUND');
  const payload = JSON.parse(row) as { path: string; format: 'html' | 'pdf'; sha256: string };
  let bytes: Buffer;
  try {
    bytes = await readFile(payload.path);
  } catch {
    throw new EvalStoreError(`The report of audit event ${auditSeq} is no longer at ${payload.path}`, 'NOT_FOUND');
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== payload.sha256) throw new EvalStoreError(`The report at ${payload.path} changed since its export (sha256 ${sha256.slice(0, 12)}…, recorded ${payload.sha256.slice(0, 12)}…)`, 'BAD_INPUT');
  return { name: basename(payload.path), format: payload.format, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), sha256 };
}
