// One safety audit of a run on a drive log: read the frames (poses, paths, ground truth; no sensor
// payloads), match the run's 3D detections to the ground truth per frame, intersect the ego
// corridors with both, find the safety-critical misses, store everything with an audit event.
import type { DriveLog } from '../logs/driveLog.js';
import type { Box3D, FrameData } from '../logs/model.js';
import type { Db } from '../store/db.js';
import { listDetections, listRunFrames } from '../store/detections.js';
import { listLabelRecords } from '../store/labelEvents.js';
import { getLabelSet } from '../store/labelSets.js';
import { getRun } from '../store/runs.js';
import { softwareVersion as currentVersion } from '../version.js';
import { safetyParamsSchema, type SafetyParamsInput } from './api.js';
import { criticalStates, findCriticalMisses, safetyMarkers } from './criticalMisses.js';
import { SafetyError } from './errors.js';
import { matchDetections } from './matching.js';
import { DEFAULT_SAFETY_PARAMS, type PathConflict, type SafetyAuditDetail, type SafetyAuditSummary, type SafetyParams } from './model.js';
import { brakingHorizonM, egoPathsOfFrame, frameConflicts } from './pathConflicts.js';
import { egoSpeedsFromPoses } from './speed.js';
import { insertSafetyAudit } from './store.js';

/** Defaults filled in; throws SafetyError (BAD_INPUT) naming the bad field. */
export function resolveSafetyParams(input: SafetyParamsInput = {}): SafetyParams {
  const parsed = safetyParamsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SafetyError(`Bad safety audit parameter ${issue.path.join('.') || '(params)'}: ${issue.message}`, 'BAD_INPUT', { path: issue.path });
  }
  const params: SafetyParams = { ...DEFAULT_SAFETY_PARAMS, paths: [...DEFAULT_SAFETY_PARAMS.paths] };
  for (const [key, value] of Object.entries(parsed.data)) if (value !== undefined) (params as unknown as Record<string, unknown>)[key] = value;
  params.paths = [...new Set(params.paths)];
  return params;
}

export interface SafetyAuditOptions {
  runId: number;
  /** Ground truth from this label set (its 3D boxes); absent: the log's own ground truth (labels3d). */
  labelSetId?: number;
  params?: SafetyParamsInput;
  actor: string;
  softwareVersion?: string;
  onProgress?(done: number, total: number): void;
  signal?: AbortSignal;
}

const IGNORED_LABELS = new Set(['dontcare', 'ignore', 'ignored']);
const MAX_WARNINGS = 50;

function usableGroundTruth(box: Box3D): boolean {
  return !IGNORED_LABELS.has(box.label.toLowerCase()) && box.attributes?.ignore !== true && box.size.every((s) => s > 0) && [...box.center, box.yaw].every(Number.isFinite);
}

/** Audits run `runId` on the open drive against its ground truth; stores the audit and returns it with its misses and markers. */
export async function runSafetyAudit(db: Db, drive: DriveLog, options: SafetyAuditOptions): Promise<SafetyAuditDetail> {
  const t0 = performance.now();
  const params = resolveSafetyParams(options.params);
  const logId = drive.info.id;
  const run = getRun(db, options.runId);
  if (!run) throw new SafetyError(`No run with id ${options.runId}`, 'NOT_FOUND', { runId: options.runId });
  if (run.logId !== logId) throw new SafetyError(`Run ${run.id} ('${run.name}') belongs to log ${run.logId}, not to ${logId} (${drive.info.path})`, 'BAD_INPUT', { runId: run.id, logId });
  const warnings: string[] = [];
  const warn = (message: string) => {
    if (warnings.length < MAX_WARNINGS) warnings.push(message);
  };

  // Ground truth from a label set, by frame id.
  let setBoxes: Map<string, Box3D[]> | undefined;
  if (options.labelSetId !== undefined) {
    const set = getLabelSet(db, options.labelSetId, { count: false });
    if (!set) throw new SafetyError(`No label set with id ${options.labelSetId}`, 'NOT_FOUND', { labelSetId: options.labelSetId });
    if (set.logId !== logId) throw new SafetyError(`Label set ${set.id} ('${set.name}') belongs to log ${set.logId}, not to ${logId}`, 'BAD_INPUT', { labelSetId: set.id, logId });
    setBoxes = new Map();
    let without3d = 0;
    for (const l of listLabelRecords(db, set.id)) {
      if (!l.box3d) {
        without3d++;
        continue;
      }
      const box: Box3D = { id: String(l.id), label: l.class, center: [...l.box3d.center], size: [...l.box3d.size], yaw: l.box3d.yaw, attributes: l.attributes };
      if (l.trackId !== null) box.trackId = l.trackId;
      const list = setBoxes.get(l.frameId);
      if (list) list.push(box);
      else setBoxes.set(l.frameId, [box]);
    }
    if (without3d) warn(`label set ${set.id}: ${without3d} labels have no 3D box and are not audited`);
  }

  // The run's 3D detections, by frame id.
  const detections = new Map<string, Box3D[]>();
  let detections3d = 0;
  let only2d = 0;
  for (const d of listDetections(db, run.id)) {
    if (!d.box3d) {
      only2d++;
      continue;
    }
    if (!(d.score >= params.minScore)) continue;
    const b = d.box3d;
    const box: Box3D = { id: String(d.id), label: d.class, center: [b.cx, b.cy, b.cz], size: [b.length, b.width, b.height], yaw: b.yaw, score: d.score };
    if (!box.size.every((s) => s > 0) || ![...box.center, box.yaw].every(Number.isFinite)) continue;
    detections3d++;
    const list = detections.get(d.frameId);
    if (list) list.push(box);
    else detections.set(d.frameId, [box]);
  }
  if (detections3d === 0) {
    warn(`run ${run.id} has no 3D detections${only2d ? ` (${only2d} are 2D only)` : ''}: every critical obstacle counts as missed; audit a lidar or fusion run`);
  }
  const runFrames = new Set(listRunFrames(db, run.id).filter((f) => f.error === null).map((f) => f.frameId));

  await drive.backgroundWork;
  const total = drive.frames.length;
  const conflicts: PathConflict[] = [];
  let readMs = 0;
  let auditMs = 0;
  let framesWithSpeed = 0;
  let framesNotInRun = 0;
  let groundTruthBoxes = 0;
  let fellBack = 0;
  // A sliding window of three frames: the speed at a frame needs its neighbours' poses.
  const read = async (index: number): Promise<FrameData | undefined> => {
    if (index >= total) return undefined;
    const r0 = performance.now();
    const frame = await drive.readFrame(index, { cameras: false, lidar: false });
    readMs += performance.now() - r0;
    return frame;
  };
  let prev: FrameData | undefined;
  let current = await read(0);
  for (let index = 0; index < total; index++) {
    if (options.signal?.aborted) throw new SafetyError('Safety audit cancelled', 'BAD_INPUT');
    const next = await read(index + 1);
    const frame = current!;
    const a0 = performance.now();
    const window = [prev, frame, next].filter((f): f is FrameData => f !== undefined);
    const speed = egoSpeedsFromPoses(window)[window.indexOf(frame)]!;
    if (Number.isFinite(speed)) framesWithSpeed++;
    const horizon = brakingHorizonM(speed, params);
    const { paths, fellBackToHeading } = egoPathsOfFrame(frame, params.paths, Math.max(params.minPathLengthM, Number.isFinite(horizon) ? horizon + params.egoFrontM + 1 : 0));
    if (fellBackToHeading) fellBack++;
    const gts = (setBoxes ? (setBoxes.get(frame.id) ?? []) : frame.labels3d).filter(usableGroundTruth);
    groundTruthBoxes += gts.length;
    const dets = detections.get(frame.id) ?? [];
    const inRun = runFrames.has(frame.id);
    if (!inRun) framesNotInRun++;
    const matches = inRun ? matchDetections(gts, dets, params) : undefined;
    conflicts.push(...frameConflicts({ frameId: frame.id, frameIndex: frame.index, speedMps: speed, paths, groundTruth: gts, detections: dets, matches }, params));
    auditMs += performance.now() - a0;
    options.onProgress?.(index + 1, total);
    prev = frame;
    current = next;
  }

  const a1 = performance.now();
  const states = criticalStates(conflicts);
  const misses = findCriticalMisses(states, params);
  const markers = safetyMarkers(misses, states);
  auditMs += performance.now() - a1;

  if (total - framesWithSpeed > 0) warn(`${total - framesWithSpeed} of ${total} frames have no ego speed (no ego poses around them): no braking horizon, so nothing in them is critical`);
  if (framesNotInRun > 0) warn(`${framesNotInRun} of ${total} frames have no result in run ${run.id}: their ground truth counts neither as detected nor as missed`);
  if (fellBack > 0) warn(`${fellBack} frames have none of the asked ego paths (${params.paths.join(', ')}): straight ahead along the ego's heading was used`);
  if (groundTruthBoxes === 0) warn(options.labelSetId !== undefined ? `label set ${options.labelSetId} has no 3D boxes on this log's frames` : `the log has no 3D ground truth: audit against a label set (--against)`);

  const summary: SafetyAuditSummary = {
    frames: total,
    framesWithSpeed,
    framesNotInRun,
    groundTruthBoxes,
    detections3d,
    criticalTracks: new Set(states.map((s) => s.trackId)).size,
    criticalFrames: new Set(states.map((s) => s.frame.frameIndex)).size,
    misses: { safetyMiss: misses.filter((m) => m.kind === 'safety-miss').length, lateDetection: misses.filter((m) => m.kind === 'late-detection').length },
    conflicts: { groundTruth: conflicts.filter((c) => c.origin === 'gt').length, detections: conflicts.filter((c) => c.origin === 'det').length },
    timings: { readMs: round(readMs), auditMs: round(auditMs), msPerFrame: total ? round(auditMs / total, 4) : 0, totalMs: 0 },
    warnings,
  };
  summary.timings.totalMs = round(performance.now() - t0);
  const record = insertSafetyAudit(
    db,
    { logId, runId: run.id, labelSetId: options.labelSetId ?? null, params, summary, misses, conflicts, softwareVersion: options.softwareVersion ?? currentVersion },
    options.actor,
  );
  return { ...record, misses, markers };
}

const round = (v: number, digits = 2): number => Number(v.toFixed(digits));
