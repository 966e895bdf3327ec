// Safety audit: path conflicts between the ego corridor and the obstacles (ground truth and a run's
// detections), safety-critical misses (critical obstacles the run missed or saw late), ranked, with
// timeline markers, stored per audit in the workspace database.
export * from './model.js';
export { SafetyError, type SafetyErrorCode } from './errors.js';
export { egoSpeedsFromPoses, MAX_SPEED_BASELINE_S, type PoseSample } from './speed.js';
export { classGroup, classesCompatible, matchDetections } from './matching.js';
export { brakingHorizonM, corridorHalfWidth, egoPathsOfFrame, extendStraight, frameConflicts, trackKey, type EgoPath, type FrameObstacles } from './pathConflicts.js';
export { criticalStates, findCriticalMisses, safetyMarkers, type CriticalState } from './criticalMisses.js';
export {
  getSafetyAudit, insertSafetyAudit, latestSafetyAudit, listSafetyAudits, listSafetyConflicts, listSafetyMisses, paramsKeyOfSafety, safetyResultsHash, verifySafetyAudit,
  type ConflictFilter, type NewSafetyAudit,
} from './store.js';
export { resolveSafetyParams, runSafetyAudit, type SafetyAuditOptions } from './audit.js';
export { safetyMethods, safetyParamsSchema, type SafetyMethodInput, type SafetyMethodName, type SafetyParamsInput } from './api.js';
export { createSafetyHandlers, loadSafetyAudit, markersOfAudit, type SafetyHandlerDeps } from './handlers.js';
