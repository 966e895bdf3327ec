export { openDatabase, migrate, schemaVersion, type Db } from './db.js';
export { appendAudit, verifyAuditChain, canonicalJson, GENESIS_HASH, type AuditEvent, type AuditInput } from './audit.js';
export { recordLogOpened, listRecentLogs, getLogRecord, setLogSha256, type LogRecord } from './logs.js';
export {
  createRun, getRun, listRuns, findResumableRun, markRunStarted, setRunEngine, finishRun, completedFrameIds, isRunOwnerAlive, paramsKeyOf,
  type RunRecord, type RunStatus, type NewRun, type RunFinish,
} from './runs.js';
export {
  createFrameWriter, listDetections, listRunFrames, getRunFrame, listMasks, listPointLabels, countDetections,
  type FrameResult, type FrameWriter, type DetectionInput, type MaskInput, type PointLabelsInput, type DetectionRecord, type RunFrameRecord,
  type MaskRecord, type PointLabelsRecord, type Box3DValue,
} from './detections.js';
