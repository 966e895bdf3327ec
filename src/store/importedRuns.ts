// Runs whose detections were made elsewhere and imported (KITTI results, COCO results, a nuScenes
// submission), so they can be evaluated and compared like Sightline's own runs. The run row, its
// detections and its audit event are written in one transaction.
import type { Db } from './db.js';
import { appendAudit, canonicalJson } from './audit.js';
import { createFrameWriter, type FrameResult } from './detections.js';
import { getRun, type RunRecord } from './runs.js';

export interface ImportedRunInput {
  name: string;
  logId: string;
  /** kitti | coco | nuscenes */
  format: string;
  path: string;
  softwareVersion: string;
  framesTotal: number;
  frames: readonly FrameResult[];
  params?: Record<string, unknown>;
}

export function createImportedRun(db: Db, input: ImportedRunInput, actor: string): RunRecord {
  const now = new Date().toISOString();
  return db.transaction(() => {
    const params = { format: input.format, path: input.path, ...input.params };
    const result = db
      .prepare(
        `INSERT INTO runs (name, log_id, kind, model_id, model_task, backend, params_json, software_version, status, created_at, started_at, finished_at, frames_total, frames_done)
         VALUES (?, ?, 'import', ?, 'import', 'import', ?, ?, 'done', ?, ?, ?, ?, 0)`,
      )
      .run(input.name, input.logId, `import:${input.format}`, canonicalJson(params), input.softwareVersion, now, now, now, input.framesTotal);
    const id = Number(result.lastInsertRowid);
    const writer = createFrameWriter(db, { id, logId: input.logId });
    writer.write(input.frames);
    appendAudit(db, {
      actor,
      action: 'run.import',
      entityType: 'run',
      entityId: String(id),
      at: now,
      payload: { logId: input.logId, format: input.format, path: input.path, frames: input.frames.length, detections: writer.detectionsWritten, softwareVersion: input.softwareVersion },
    });
    return getRun(db, id)!;
  }).immediate();
}
