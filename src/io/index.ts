// Import and export of labels in KITTI, COCO and nuScenes formats, against a drive log's frames.
// An import becomes an (imported ground-truth) label set, or a run with detections; an export writes
// the format's files plus a manifest. Every import and export writes an audit event.
import { resolve } from 'node:path';
import { LabelService } from '../labels/service.js';
import { LogError } from '../logs/errors.js';
import { appendAudit } from '../store/audit.js';
import type { Db } from '../store/db.js';
import type { FrameResult } from '../store/detections.js';
import { createImportedRun } from '../store/importedRuns.js';
import { listLabelRecords, type AttributeValue, type LabelValue } from '../store/labelEvents.js';
import type { ExportManifest, ExportSummary, ImportSummary, LabelSetRecord } from '../labels/model.js';
import { softwareVersion } from '../version.js';
import { readCoco, writeCoco } from './coco.js';
import { readKitti, writeKitti } from './kitti.js';
import { isTrackingLabels, readKittiTracking, writeKittiTracking } from './kittiTracking.js';
import { openIoLog, openRegisteredLog, type IoLog } from './logAccess.js';
import { labelsDigest, writeManifest } from './manifest.js';
import { readNuscenes, writeNuscenes } from './nuscenes.js';
import { IO_FORMATS, type ImportedBox, type IoFormat, type ReadResult } from './types.js';

export { IO_FORMATS, type IoFormat } from './types.js';
export type { ExportManifest, ExportSummary, ImportSummary } from '../labels/model.js';

export interface ImportOptions {
  /** The drive log (file or folder) the labels belong to. */
  logPath: string;
  format: IoFormat;
  /** Label file, folder (KITTI label_2) or JSON. */
  path: string;
  /** labels: an imported ground-truth label set; run: predictions as a run with detections. */
  as?: 'labels' | 'run';
  name?: string;
  /** Camera the 2D boxes (and KITTI camera coordinates) belong to; default: the log's label camera. */
  camera?: string;
  /** COCO results files: the COCO dataset JSON their image and category ids refer to. */
  cocoDataset?: string;
  actor: string;
  referenceSensor?: string;
}


function assertFormat(format: string): asserts format is IoFormat {
  if (!IO_FORMATS.includes(format as IoFormat)) throw new LogError(`Unknown format '${format}'; use one of ${IO_FORMATS.join(', ')}`, { path: '' });
}

async function readFormat(log: IoLog, options: ImportOptions): Promise<ReadResult> {
  switch (options.format) {
    case 'kitti':
      // A label_02 folder or a tracking file (frame and track id columns first) is tracking data.
      if (await isTrackingLabels(options.path)) return readKittiTracking(log, options.path, { camera: options.camera });
      return readKitti(log, options.path, { camera: options.camera });
    case 'kitti-tracking':
      return readKittiTracking(log, options.path, { camera: options.camera });
    case 'coco':
      return readCoco(log, options.path, { dataset: options.cocoDataset, camera: options.camera });
    case 'nuscenes':
      return readNuscenes(log, options.path);
  }
}

export async function importLabels(db: Db, options: ImportOptions): Promise<ImportSummary> {
  assertFormat(options.format);
  const as = options.as ?? 'labels';
  const log = await openIoLog(db, resolve(options.logPath), options.actor, options.referenceSensor);
  try {
    const t0 = performance.now();
    const read = await readFormat(log, { ...options, path: resolve(options.path) });
    const t1 = performance.now();
    const name = options.name ?? `${options.format} ${as === 'run' ? 'predictions' : 'labels'} from ${options.path}`;
    const source = { format: options.format, path: resolve(options.path), files: read.files.length, warnings: read.warnings.length };
    const summary: ImportSummary = {
      as, logId: log.logId, boxes: read.boxes.length, frames: read.frames.size, files: read.files.length, warnings: read.warnings, timings: { readMs: t1 - t0, storeMs: 0 },
    };
    if (as === 'labels') {
      const service = new LabelService(db, { actor: options.actor });
      summary.labelSet = service.createSet({ logId: log.logId, name, kind: 'ground_truth', source, labels: read.boxes.map((b) => b.value), action: 'labels.import' });
    } else {
      const frames = toFrameResults(log, read);
      const run = createImportedRun(db, { name, logId: log.logId, format: options.format, path: resolve(options.path), softwareVersion, framesTotal: log.frames.length, frames, params: { warnings: read.warnings.length } }, options.actor);
      summary.run = { id: run.id, name: run.name, logId: run.logId, kind: run.kind, status: run.status, framesDone: run.framesDone, framesTotal: run.framesTotal };
      const unscored = read.boxes.filter((b) => b.value.score === null).length;
      if (unscored) summary.warnings.push(`${unscored} boxes have no score (no score column / field); stored with score 1`);
    }
    summary.timings.storeMs = performance.now() - t1;
    return summary;
  } finally {
    await log.close();
  }
}

/** Imported boxes as a run's per-frame results (ignore regions are not predictions and are dropped). */
function toFrameResults(log: IoLog, read: ReadResult): FrameResult[] {
  const classes = [...new Set(read.boxes.map((b) => b.value.class))].sort();
  const byFrame = new Map<number, ImportedBox[]>();
  for (const b of read.boxes) byFrame.set(b.frameIndex, [...(byFrame.get(b.frameIndex) ?? []), b]);
  const frames = [...new Set([...read.frames, ...byFrame.keys()])].sort((a, b) => a - b);
  return frames.map((index) => {
    const stub = log.frames[index]!;
    return {
      frameId: stub.id,
      frameIndex: index,
      stampNs: stub.stampNs,
      masks: [],
      pointLabels: [],
      detections: (byFrame.get(index) ?? [])
        .filter((b) => b.value.attributes.ignore !== true)
        .map(({ value: v }) => ({
          sensorId: v.box2d?.sensorId ?? log.info.referenceSensor,
          label: v.class,
          modelClass: v.class,
          classIndex: classes.indexOf(v.class),
          score: v.score ?? 1,
          box2d: v.box2d ? { x1: v.box2d.x1, y1: v.box2d.y1, x2: v.box2d.x2, y2: v.box2d.y2 } : undefined,
          box3d: v.box3d ? { cx: v.box3d.center[0], cy: v.box3d.center[1], cz: v.box3d.center[2], length: v.box3d.size[0], width: v.box3d.size[1], height: v.box3d.size[2], yaw: v.box3d.yaw } : undefined,
          trackId: v.trackId ?? undefined,
        })),
    };
  });
}

export interface ExportOptions {
  /** Label set id or name. */
  labelSet: string | number;
  format: IoFormat;
  /** KITTI: a folder of <sample>.txt; COCO and nuScenes: a .json file. */
  out: string;
  actor: string;
  /** The log's path, where it moved since the store last saw it. */
  logPath?: string;
  /** Camera for KITTI coordinates and image boxes. */
  camera?: string;
  /** KITTI: write the score column (default: for predictions sets, or when every label has a score). */
  withScore?: boolean;
}


export async function exportLabels(db: Db, options: ExportOptions): Promise<ExportSummary> {
  assertFormat(options.format);
  const service = new LabelService(db, { actor: options.actor });
  const set = service.resolveSet(options.labelSet);
  const out = resolve(options.out);
  const log = await openRegisteredLog(db, set.logId, options.actor, options.logPath && resolve(options.logPath));
  try {
    // One consistent snapshot of the set, however many edits land while the files are written.
    const { labels, lastEventId } = db.transaction(() => ({
      labels: listLabelRecords(db, set.id),
      lastEventId: (db.prepare('SELECT coalesce(max(id), 0) FROM label_events WHERE label_set_id = ?').pluck().get(set.id) as number),
    }))();
    const t0 = performance.now();
    const scored = labels.length > 0 && labels.every((l) => l.score !== null);
    const predictions = set.kind === 'predictions' || scored;
    let result;
    switch (options.format) {
      case 'kitti':
        result = await writeKitti(log, labels, out, { withScore: options.withScore ?? predictions, camera: options.camera });
        break;
      case 'kitti-tracking':
        result = await writeKittiTracking(log, labels, out, { withScore: options.withScore ?? predictions, camera: options.camera });
        break;
      case 'coco':
        result = await writeCoco(log, labels, out, { results: predictions, labelSet: set });
        break;
      case 'nuscenes':
        result = await writeNuscenes(log, labels, out);
        break;
    }
    const writeMs = performance.now() - t0;
    const digest = labelsDigest(labels);
    const exportedAt = new Date().toISOString();
    const audit = db.transaction(() =>
      appendAudit(db, {
        actor: options.actor,
        action: 'labels.export',
        entityType: 'label_set',
        entityId: String(set.id),
        at: exportedAt,
        payload: { setId: set.id, format: options.format, out, files: result.files.length, written: result.written, skipped: result.skipped, labels: labels.length, lastEventId, labelsSha256: digest, softwareVersion },
      }),
    ).immediate();
    const manifest: ExportManifest = {
      sightlineExport: 1,
      format: options.format,
      files: options.format === 'kitti' ? [out] : result.files,
      labelSet: { id: set.id, name: set.name, kind: set.kind, logId: set.logId, parentSetId: set.parentSetId, sourceRunId: set.sourceRunId },
      log: { id: log.logId, name: log.info.name, path: log.info.path, format: log.info.format, fingerprint: log.info.fingerprint },
      labels: { count: labels.length, lastEventId, sha256: digest },
      counts: { written: result.written, skipped: result.skipped, frames: log.frames.length, files: result.files.length },
      audit: { seq: audit.seq, headHash: audit.hash },
      softwareVersion,
      exportedAt,
      exportedBy: options.actor,
      warnings: result.warnings,
    };
    const manifestPath = await writeManifest(out, manifest);
    return { manifestPath, manifest, timings: { writeMs } };
  } finally {
    await log.close();
  }
}

/**
 * The log's own ground truth (KITTI label_2, nuScenes annotations, MCAP label topics) as an imported
 * label set: 3D and 2D boxes that share an id (one KITTI line) become one label.
 */
export async function importLogGroundTruth(db: Db, options: { logPath: string; name?: string; actor: string; referenceSensor?: string }): Promise<LabelSetRecord> {
  const log = await openIoLog(db, resolve(options.logPath), options.actor, options.referenceSensor);
  try {
    const labels: LabelValue[] = [];
    for (const stub of log.frames) {
      const frame = await log.drive.readFrame(stub.index, { cameras: false, lidar: false });
      const merged = new Map<string, LabelValue>();
      for (const b of frame.labels3d) {
        const attributes: Record<string, AttributeValue> = { ...(b.attributes ?? {}) };
        merged.set(b.id, { frameId: stub.id, class: b.label, box2d: null, box3d: { center: b.center, size: b.size, yaw: b.yaw }, trackId: b.trackId ?? null, score: b.score ?? null, attributes, sourceDetectionId: null });
      }
      for (const b of frame.labels2d) {
        const box2d = { sensorId: b.sensorId, x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2 };
        const existing = merged.get(b.id);
        if (existing && !existing.box2d) existing.box2d = box2d;
        else merged.set(merged.has(b.id) ? `${b.id}:2d` : b.id, { frameId: stub.id, class: b.label, box2d, box3d: null, trackId: b.trackId ?? null, score: b.score ?? null, attributes: b.ignore ? { ignore: true } : {}, sourceDetectionId: null });
      }
      labels.push(...merged.values());
    }
    return new LabelService(db, { actor: options.actor }).createSet({
      logId: log.logId, name: options.name ?? `${log.info.name} ground truth`, kind: 'ground_truth', source: { format: `log:${log.info.format}`, path: log.info.path }, labels, action: 'labels.import',
    });
  } finally {
    await log.close();
  }
}

