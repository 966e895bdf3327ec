// Serves `labelMethods` (api.ts) from a workspace database: the core passes what only it knows (the
// open logs' frames, paths and camera sizes) and spreads the result into its handler map.
import { exportLabels, importLabels, importLogGroundTruth } from '../io/index.js';
import type { DriveLog } from '../logs/driveLog.js';
import type { LogInfo } from '../logs/model.js';
import { verifyAuditChain } from '../store/audit.js';
import { listAuditEvents } from '../store/auditQuery.js';
import type { Db } from '../store/db.js';
import type { Box3DFit, LabelMethodInput, LabelMethodName, LabelsChangedEvent } from './api.js';
import { LabelError } from './errors.js';
import { boxFromCluster, boxFromFrustum, fitBoxInRegion, prepareFitCloud, type BoxFit, type FitCloud } from './fit.js';
import { ReviewService } from './review.js';
import { LabelService, type EditResult, type FrameRef } from './service.js';

export interface LabelHandlerDeps {
  db: Db;
  actor: string;
  /** The frames of an open log (interpolation, sign-off ranges, review summary). */
  frames(logId: string): readonly FrameRef[] | undefined;
  /** The open log's info (path for import/export, camera sizes for snapping). */
  logInfo(logId: string): LogInfo | undefined;
  /** Called after every change to labels, for a `labelsChanged` broadcast. */
  onLabelsChanged?(event: LabelsChangedEvent): void;
  /** The open log (its lidar and cameras), for fitting 3D boxes to points. */
  getLog?(logId: string): DriveLog;
}

type Handlers = { [M in LabelMethodName]: (input: LabelMethodInput<M>) => Promise<unknown> };

export function createLabelHandlers(deps: LabelHandlerDeps): Handlers {
  const labels = new LabelService(deps.db, { actor: deps.actor });
  const review = new ReviewService(deps.db, { actor: deps.actor });
  const framesOfSet = (setId: number): readonly FrameRef[] => {
    const set = labels.getSet(setId, { count: false });
    const frames = deps.frames(set.logId);
    if (!frames) throw new LabelError(`Log ${set.logId} (of label set ${setId}) is not open; open it first`, 'BAD_INPUT', { logId: set.logId });
    return frames;
  };
  const logPath = (logId: string): string => {
    const info = deps.logInfo(logId);
    if (!info) throw new LabelError(`Log ${logId} is not open; open it first`, 'BAD_INPUT', { logId });
    return info.path;
  };
  const changed = (setId: number, result: EditResult | null): EditResult | null => {
    if (result?.opId != null) {
      deps.onLabelsChanged?.({
        setId: result.events[0]?.labelSetId ?? setId,
        opId: result.opId,
        labelIds: [...new Set(result.events.flatMap((e) => (e.labelId !== null ? [e.labelId] : [])))],
        frameIds: [...new Set(result.events.map((e) => e.frameId))],
        author: deps.actor,
      });
    }
    return result;
  };
  const fitter = new BoxFitter(deps);
  return {
    listLabelSets: async (i) => labels.listSets({ logId: i.logId }),
    createWorkingSet: async (i) => labels.createWorkingSet(i),
    createLabelSetFromRun: async (i) => labels.createSetFromRun(i),
    importLogGroundTruth: async (i) => importLogGroundTruth(deps.db, { logPath: logPath(i.logId), name: i.name, actor: deps.actor }),
    listLabels: async (i) => labels.listLabels(i.setId, i),
    editLabels: async (i) => changed(i.setId, labels.applyEdits(i, i.edits, i.description)),
    acceptDetection: async (i) => changed(i.setId, labels.acceptDetection(i, i.detectionId)),
    rejectDetection: async (i) => changed(i.setId, labels.rejectDetection(i, i.detectionId)),
    copyLabelsFromFrame: async (i) => changed(i.setId, labels.copyFromFrame(i, i)),
    snapLabelsToImage: async (i) => {
      let bounds = i.bounds;
      if (!bounds) {
        const info = deps.logInfo(labels.getSet(i.setId, { count: false }).logId);
        bounds = Object.fromEntries((info?.sensors ?? []).filter((s) => s.intrinsics).map((s) => [s.id, { width: s.intrinsics!.width, height: s.intrinsics!.height }]));
      }
      return changed(i.setId, labels.snapToImage(i, { labels: i.labels, bounds }));
    },
    interpolateTrack: async (i) => changed(i.setId, labels.interpolateTrack(i, { ...i, frames: framesOfSet(i.setId) })),
    fitLabelBox3d: async (i) => fitter.fit(i),
    undoLabels: async (i) => changed(0, labels.undo(i.sessionId, i.reason)),
    redoLabels: async (i) => changed(0, labels.redo(i.sessionId, i.reason)),
    getUndoStacks: async (i) => labels.stacks(i.sessionId),
    getLabelHistory: async (i) => labels.history(i),
    verifyLabelSet: async (i) => labels.verify(i.setId),
    setFrameReviewStatus: async (i) => review.setFrameStatus(i),
    getReviewSummary: async (i) => review.summary(i.setId, framesOfSet(i.setId)),
    openFrameIssue: async (i) => review.openIssue(i),
    commentOnIssue: async (i) => review.comment(i),
    resolveIssue: async (i) => review.resolveIssue(i),
    reopenIssue: async (i) => review.reopenIssue(i),
    listIssues: async (i) => review.listIssues(i.setId, i),
    signOffStage: async (i) => review.signOff({ ...i, frames: framesOfSet(i.setId) }),
    listSignOffs: async (i) => review.listSignOffs(i.setId),
    listAuditEvents: async (i) => listAuditEvents(deps.db, i),
    verifyAudit: async () => ({ chain: verifyAuditChain(deps.db), labelSets: labels.listSets().map((s) => labels.verify(s.id)) }),
    importLabels: async (i) => importLabels(deps.db, { ...i, logPath: logPath(i.logId), actor: deps.actor }),
    exportLabels: async (i) => exportLabels(deps.db, { labelSet: i.setId, format: i.format, out: i.out, camera: i.camera, withScore: i.withScore, actor: deps.actor, logPath: deps.logInfo(labels.getSet(i.setId, { count: false }).logId)?.path }),
  };
}

/** Prepared sweeps (ego positions, ground) of the last few frames: a fit is usually followed by another. */
const FIT_CLOUD_CACHE = 4;

class BoxFitter {
  private readonly clouds = new Map<string, Promise<FitCloud | null>>();

  constructor(private readonly deps: LabelHandlerDeps) {}

  async fit(input: LabelMethodInput<'fitLabelBox3d'>): Promise<Box3DFit> {
    const { frameId, from } = input;
    const cloud = await this.cloud(frameId);
    if (!cloud) return { box3d: null, points: 0, reason: 'This frame has no lidar sweep' };
    let fitted: BoxFit | null;
    let none: string;
    if (from.kind === 'region') {
      fitted = fitBoxInRegion(cloud, from.box3d, { margin: from.margin });
      none = 'Too few lidar points (ground excluded) inside the box';
    } else if (from.kind === 'cluster') {
      fitted = boxFromCluster(cloud, from.point);
      none = 'No lidar cluster within 1.5 m of that point';
    } else {
      const { log, index } = this.locate(frameId);
      const frame = await log.readFrame(index, { cameras: true, lidar: false });
      const camera = frame.cameras.find((c) => c.sensorId === from.box2d.sensorId) ?? log.info.sensors.find((s) => s.id === from.box2d.sensorId);
      if (!camera?.intrinsics || !camera.extrinsic) throw new LabelError(`Camera ${from.box2d.sensorId} has no calibration in this frame`, 'BAD_INPUT', { sensorId: from.box2d.sensorId });
      fitted = boxFromFrustum(cloud, { intrinsics: camera.intrinsics, extrinsic: camera.extrinsic }, from.box2d);
      none = 'No lidar cluster inside the 2D box';
    }
    return fitted ? { box3d: fitted.box, points: fitted.points.length, reason: null } : { box3d: null, points: 0, reason: none };
  }

  private locate(frameId: string): { log: DriveLog; index: number } {
    const logId = frameId.slice(0, frameId.lastIndexOf(':'));
    if (!this.deps.getLog) throw new LabelError('Box fitting needs the open log, which this server does not provide', 'BAD_INPUT', { frameId });
    const log = this.deps.getLog(logId);
    const stub = log.frames.find((f) => f.id === frameId);
    if (!stub) throw new LabelError(`No frame ${frameId} in log ${logId}`, 'NOT_FOUND', { frameId });
    return { log, index: stub.index };
  }

  private cloud(frameId: string): Promise<FitCloud | null> {
    const cached = this.clouds.get(frameId);
    if (cached) {
      this.clouds.delete(frameId);
      this.clouds.set(frameId, cached);
      return cached;
    }
    const { log, index } = this.locate(frameId);
    const task = log.readFrame(index, { cameras: false, lidar: true }).then((frame) => (frame.lidar && frame.lidar.count > 0 ? prepareFitCloud(frame.lidar) : null));
    task.catch(() => this.clouds.delete(frameId));
    this.clouds.set(frameId, task);
    while (this.clouds.size > FIT_CLOUD_CACHE) this.clouds.delete(this.clouds.keys().next().value!);
    return task;
  }
}
