// The report's safety section from the path-conflict audit (src/safety): the newest audit of a run,
// one row per safety-critical miss or late detection, most severe first.
import type { Db } from '../store/db.js';
import { listSafetyAudits, listSafetyMisses } from '../safety/store.js';
import type { SafetyMiss } from '../safety/model.js';
import type { SafetyMissRow } from './html.js';

const REASONS: Record<SafetyMiss['reason'], string> = {
  'never-detected': 'never detected',
  'detected-late': 'detected late',
  lost: 'lost after a detection',
};

function reasonText(m: SafetyMiss): string {
  const parts = [`${REASONS[m.reason]} in the ${m.path} corridor`, `${m.criticalFrameCount} critical frame${m.criticalFrameCount === 1 ? '' : 's'}`];
  if (m.delayFrames !== null) parts.push(`${m.delayFrames} frames late`);
  if (m.minTtcS !== null) parts.push(`TTC ${m.minTtcS.toFixed(1)} s`);
  return parts.join(', ');
}

/** Rows of the run's newest safety audit; null when the run was never audited (the report says so). */
export function safetyMissRowsOfRun(db: Db, runId: number): SafetyMissRow[] | null {
  const audit = listSafetyAudits(db, { runId, limit: 1 })[0];
  if (!audit) return null;
  // A 2D box for the thumbnail, where the audit ran against a label set that has one for the track.
  const box = audit.labelSetId === null
    ? null
    : db.prepare('SELECT sensor_id, x1, y1, x2, y2 FROM labels WHERE label_set_id = ? AND frame_id = ? AND track_id = ? AND x1 IS NOT NULL AND deleted = 0 LIMIT 1');
  return listSafetyMisses(db, audit.id).map((m) => {
    const frame = m.frames[0] ?? m.entryFrame;
    const b = box?.get(audit.labelSetId, frame.frameId, m.trackId) as { sensor_id: string | null; x1: number; y1: number; x2: number; y2: number } | undefined;
    return {
      frameId: frame.frameId,
      frameIndex: frame.frameIndex,
      objectId: m.trackId,
      label: m.label,
      reason: reasonText(m),
      distanceM: m.minDistanceM,
      ttcS: m.minTtcS,
      sensorId: b?.sensor_id ?? null,
      box2d: b ? { x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2 } : null,
    };
  });
}
