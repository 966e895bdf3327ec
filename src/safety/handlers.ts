// Serves `safetyMethods` (api.ts) from a workspace database: the core passes what only it knows (its
// open logs) and spreads the result into its handler map.
import { ApiError } from '../api/contract.js';
import type { DriveLog } from '../logs/driveLog.js';
import type { Db } from '../store/db.js';
import type { SafetyMethodInput, SafetyMethodName } from './api.js';
import { runSafetyAudit } from './audit.js';
import { criticalStates, safetyMarkers } from './criticalMisses.js';
import { SafetyError } from './errors.js';
import type { SafetyAuditDetail, SafetyMarker } from './model.js';
import { getSafetyAudit, latestSafetyAudit, listSafetyAudits, listSafetyConflicts, listSafetyMisses } from './store.js';

export interface SafetyHandlerDeps {
  db: Db;
  actor: string;
  /** An open log (throws when it is not open). */
  getLog(logId: string): DriveLog;
  /** Frames audited so far, for a progress bar. */
  onProgress?(event: { logId: string; runId: number; done: number; total: number }): void;
}

/** Markers of a stored audit: from its misses and its critical ground-truth conflicts. */
export function markersOfAudit(db: Db, auditId: number): SafetyMarker[] {
  const critical = listSafetyConflicts(db, auditId, { origin: 'gt', criticalOnly: true });
  return safetyMarkers(listSafetyMisses(db, auditId), criticalStates(critical));
}

export function loadSafetyAudit(db: Db, auditId: number, options: { includeConflicts?: boolean; frameId?: string; criticalOnly?: boolean } = {}): SafetyAuditDetail {
  const audit = getSafetyAudit(db, auditId);
  if (!audit) throw new SafetyError(`No safety audit with id ${auditId}`, 'NOT_FOUND', { auditId });
  const detail: SafetyAuditDetail = { ...audit, misses: listSafetyMisses(db, auditId), markers: markersOfAudit(db, auditId) };
  if (options.includeConflicts) detail.conflicts = listSafetyConflicts(db, auditId, { frameId: options.frameId, criticalOnly: options.criticalOnly });
  return detail;
}

type Handlers = { [M in SafetyMethodName]: (input: SafetyMethodInput<M>) => Promise<unknown> };

const apiErrors =
  <I>(handler: (input: I) => Promise<unknown>) =>
  async (input: I): Promise<unknown> => {
    try {
      return await handler(input);
    } catch (error) {
      if (error instanceof SafetyError) throw new ApiError(error.code, error.message, error.details);
      throw error;
    }
  };

export function createSafetyHandlers(deps: SafetyHandlerDeps): Handlers {
  const { db } = deps;
  return {
    runSafetyAudit: apiErrors(async (i: SafetyMethodInput<'runSafetyAudit'>) =>
      runSafetyAudit(db, deps.getLog(i.logId), {
        runId: i.runId,
        labelSetId: i.labelSetId,
        params: i.params,
        actor: deps.actor,
        onProgress: deps.onProgress && ((done, total) => deps.onProgress!({ logId: i.logId, runId: i.runId, done, total })),
      }),
    ),
    getSafetyAudit: apiErrors(async (i: SafetyMethodInput<'getSafetyAudit'>) => loadSafetyAudit(db, i.auditId, i)),
    listSafetyAudits: apiErrors(async (i: SafetyMethodInput<'listSafetyAudits'>) => listSafetyAudits(db, i)),
    safetyMarkers: apiErrors(async (i: SafetyMethodInput<'safetyMarkers'>) => {
      if (i.auditId !== undefined) {
        const audit = getSafetyAudit(db, i.auditId);
        if (!audit) throw new SafetyError(`No safety audit with id ${i.auditId}`, 'NOT_FOUND', { auditId: i.auditId });
        if (audit.logId !== i.logId || audit.runId !== i.runId) throw new SafetyError(`Safety audit ${i.auditId} is of run ${audit.runId} on log ${audit.logId}, not run ${i.runId} on ${i.logId}`, 'BAD_INPUT');
        return markersOfAudit(db, audit.id);
      }
      const latest = latestSafetyAudit(db, i.logId, i.runId);
      return latest ? markersOfAudit(db, latest.id) : [];
    }),
    getFrameConflicts: apiErrors(async (i: SafetyMethodInput<'getFrameConflicts'>) => {
      if (!getSafetyAudit(db, i.auditId)) throw new SafetyError(`No safety audit with id ${i.auditId}`, 'NOT_FOUND', { auditId: i.auditId });
      return listSafetyConflicts(db, i.auditId, { frameId: i.frameId });
    }),
  };
}
