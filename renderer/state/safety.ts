// The safety audit of one run on the open log: parameters, the audit in progress, its ranked
// safety-critical misses, and the 'safety' timeline markers (this module owns that marker kind).
import type { MethodOutput, SightlineApi } from '../../src/api/contract.js';
import { appStore, setMarkers } from './appState.js';
import { createStore, useStore } from './store.js';

export type SafetyAuditDetail = MethodOutput<'getSafetyAudit'>;
export type SafetyMiss = SafetyAuditDetail['misses'][number];
type SafetyMarker = SafetyAuditDetail['markers'][number];

export interface SafetyFormParams {
  brakeDecelMps2: number;
  reactionTimeS: number;
  lateFrames: number;
  paths: Array<'driven' | 'planned' | 'heading'>;
}

export interface SafetyState {
  logId: string | null;
  runId: number | null;
  /** Ground truth: the log's own (null) or a label set. */
  labelSetId: number | null;
  params: SafetyFormParams;
  running: boolean;
  error: string | null;
  audit: SafetyAuditDetail | null;
  /** Also mark frames where ground truth was critical but detected (context for the misses). */
  showIntrusions: boolean;
}

// The audit's own defaults (src/safety/model.ts DEFAULT_SAFETY_PARAMS).
export const DEFAULT_SAFETY_FORM: SafetyFormParams = { brakeDecelMps2: 6, reactionTimeS: 1, lateFrames: 3, paths: ['driven', 'planned'] };

export const safetyStore = createStore<SafetyState>({
  logId: null,
  runId: null,
  labelSetId: null,
  params: DEFAULT_SAFETY_FORM,
  running: false,
  error: null,
  audit: null,
  showIntrusions: false,
});

export function useSafety<U>(selector: (s: SafetyState) => U): U {
  return useStore(safetyStore, selector);
}

export const safetyTaskId = (logId: string, runId: number) => `safety:${logId}:${runId}`;

const MARKER_COLORS: Record<SafetyMarker['kind'], string> = { 'safety-miss': '#ff4d4f', 'late-detection': '#ffa940', 'corridor-intrusion': '#d4b106' };
const MARKER_NAMES: Record<SafetyMarker['kind'], string> = { 'safety-miss': 'Safety-critical miss', 'late-detection': 'Late detection', 'corridor-intrusion': 'Obstacle in the corridor (detected)' };

/** The timeline markers of the audit on screen (and none without one). */
export function applySafetyMarkers(): void {
  const { audit, showIntrusions } = safetyStore.get();
  const markers = (audit?.markers ?? [])
    .filter((m) => showIntrusions || m.kind !== 'corridor-intrusion')
    .map((m) => ({
      index: m.frameIndex,
      color: MARKER_COLORS[m.kind],
      label: `${MARKER_NAMES[m.kind]}${m.rank ? ` #${m.rank}` : ''}: track ${m.trackIds.join(', ')}`,
    }));
  setMarkers('safety', markers);
}

export function setSafetyForm(patch: Partial<Pick<SafetyState, 'runId' | 'labelSetId' | 'showIntrusions'>> & { params?: Partial<SafetyFormParams> }): void {
  const { params, ...rest } = patch;
  safetyStore.set((s) => ({ ...rest, ...(params ? { params: { ...s.params, ...params } } : {}) }));
  if ('showIntrusions' in patch) applySafetyMarkers();
}

/** Drives audits through the API; follows the open log (a new log clears the audit and its markers). */
export class SafetyController {
  private readonly offs: Array<() => void> = [];

  constructor(private readonly api: SightlineApi) {
    let lastLog = appStore.get().log?.id ?? null;
    this.offs.push(
      appStore.subscribe(() => {
        const logId = appStore.get().log?.id ?? null;
        if (logId === lastLog) return;
        lastLog = logId;
        safetyStore.set({ logId, runId: null, labelSetId: null, audit: null, error: null, running: false });
        applySafetyMarkers();
      }),
    );
    safetyStore.set({ logId: lastLog });
  }

  dispose(): void {
    this.offs.splice(0).forEach((off) => off());
  }

  async runAudit(): Promise<void> {
    const { logId, runId, labelSetId, params } = safetyStore.get();
    if (!logId || runId === null) return;
    safetyStore.set({ running: true, error: null });
    try {
      const audit = await this.api.runSafetyAudit({ logId, runId, ...(labelSetId !== null ? { labelSetId } : {}), params });
      if (safetyStore.get().logId !== logId) return;
      safetyStore.set({ audit, running: false });
      applySafetyMarkers();
    } catch (error) {
      safetyStore.set({ running: false, error: (error as Error).message });
    }
  }

  /** The newest stored audit of the run (after picking a run), so past audits need no rerun. */
  async loadLatest(runId: number): Promise<void> {
    const { logId } = safetyStore.get();
    if (!logId) return;
    try {
      const [latest] = await this.api.listSafetyAudits({ logId, runId, limit: 1 });
      const audit = latest ? await this.api.getSafetyAudit({ auditId: latest.id }) : null;
      if (safetyStore.get().runId !== runId) return;
      safetyStore.set({ audit, error: null });
      applySafetyMarkers();
    } catch (error) {
      safetyStore.set({ error: (error as Error).message });
    }
  }
}
