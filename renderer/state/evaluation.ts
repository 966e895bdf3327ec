// Evaluation state for the Evaluation panel: runs and ground-truth sets of the open log, stored
// evaluations, the one on screen, the objects behind a clicked PR point / confusion cell / hard-case
// query (with their frames as timeline markers), run comparisons and report exports. Everything goes
// through the API contract; this module owns the 'eval' and 'query' timeline markers.
import type { MethodOutput, RunInfo, SightlineApi } from '../../src/api/contract.js';
import { appStore, setMarkers, type Selection } from './appState.js';
import { detectionId } from './detections.js';
import { createStore } from './store.js';

// The evaluation shapes, as the contract returns them.
export type EvaluationDetail = MethodOutput<'getEvaluation'>;
export type EvaluationSummary = MethodOutput<'listEvaluations'>[number];
export type ObjectQueryResult = MethodOutput<'queryEvaluationObjects'>;
export type PrPointResult = MethodOutput<'prPointObjects'>;
export type ConfusionCellResult = MethodOutput<'confusionCellObjects'>;
export type RunComparison = MethodOutput<'compareRuns'>;
export type SavedQuery = MethodOutput<'saveQuery'>;
export type ReportExport = MethodOutput<'exportReport'>;
export type LabelSetRecord = MethodOutput<'listLabelSets'>[number];
export type StoredObject = ObjectQueryResult['items'][number];
export type MetricName = EvaluationDetail['metric'];
export type Outcome = StoredObject['outcome'];
export type Figures = EvaluationDetail['overall'];
export type MetricDeltaJson = RunComparison['overall'][number];
export type PrCurve = EvaluationDetail['prCurves'][number];
export type ConfusionMatrix = EvaluationDetail['confusion'];

/** One object row of a filter: a stored per-object record, with what it counts as in that filter. */
export interface EvalRow extends StoredObject {
  /** The outcome in the filter's terms (a PR point: the outcome at its threshold). */
  shownOutcome: Outcome;
}

export interface EvalFilter {
  kind: 'pr' | 'cell';
  title: string;
  /** pr: label and threshold; cell: predicted and truth. */
  key: { label: string; threshold: number } | { predicted: string; truth: string };
  rows: EvalRow[];
  total: number;
  frames: { frameId: string; frameIndex: number | null; count: number }[];
  counts?: PrPointResult['counts'];
  warnings: string[];
}

export interface EvaluationUiState {
  logId: string | null;
  runs: RunInfo[];
  labelSets: LabelSetRecord[];
  evaluations: EvaluationSummary[];
  current: EvaluationDetail | null;
  /** A computation in flight (evaluate or compare), with when it started. */
  busy: { what: string; since: number } | null;
  error: string | null;
  filter: EvalFilter | null;
  queries: SavedQuery[];
  query: { text: string; name: string | null; result: ObjectQueryResult | null; error: string | null } | null;
  comparison: RunComparison | null;
  lastExport: (ReportExport & { downloaded: string | null }) | null;
}

export const evaluationStore = createStore<EvaluationUiState>({
  logId: null,
  runs: [],
  labelSets: [],
  evaluations: [],
  current: null,
  busy: null,
  error: null,
  filter: null,
  queries: [],
  query: null,
  comparison: null,
  lastExport: null,
});

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Frame ids -> timeline indices of the open log (frame ids are `${logId}:${stampNs}`, as the stubs'). */
function indexOfFrame(frameId: string, fallback: number | null): number | null {
  const stubs = appStore.get().stubs;
  const found = stubs.findIndex((s) => s.id === frameId);
  return found >= 0 ? found : fallback;
}

function toMarkers(frames: readonly { frameId: string; frameIndex: number | null; count: number }[], label: string): { index: number; label: string }[] {
  const out: { index: number; label: string }[] = [];
  for (const f of frames) {
    const index = indexOfFrame(f.frameId, f.frameIndex);
    if (index !== null) out.push({ index, label: `${label} (${f.count})` });
  }
  return out;
}

const rectIoU = (a: { x1: number; y1: number; x2: number; y2: number }, b: { x1: number; y1: number; x2: number; y2: number }): number => {
  const iw = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const ih = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const inter = iw * ih;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
};

export interface EvaluationSession {
  readonly api: SightlineApi;
  readonly connection: { transport: 'ipc' | 'http' };
  seek(index: number): void;
  select(selection: Selection | null): void;
  runs: { setStyle(runId: number, patch: { visible?: boolean }): void };
}

export class EvaluationController {
  constructor(private readonly session: EvaluationSession) {}

  private get api(): SightlineApi {
    return this.session.api;
  }

  private async guard<T>(what: string | null, work: () => Promise<T>): Promise<T | undefined> {
    if (what) evaluationStore.set({ busy: { what, since: Date.now() }, error: null });
    try {
      return await work();
    } catch (error) {
      evaluationStore.set({ error: messageOf(error) });
      return undefined;
    } finally {
      if (what) evaluationStore.set({ busy: null });
    }
  }

  /** Runs, label sets, evaluations and saved queries of the open log. */
  async refresh(logId: string | null): Promise<void> {
    if (logId !== evaluationStore.get().logId) {
      evaluationStore.set({ logId, current: null, filter: null, comparison: null, query: null, lastExport: null, error: null });
      setMarkers('eval', []);
      setMarkers('query', []);
    }
    if (!logId) return;
    await this.guard(null, async () => {
      const [runs, labelSets, evaluations, queries] = await Promise.all([
        this.api.listRuns({ logId }),
        this.api.listLabelSets({ logId }),
        this.api.listEvaluations({ logId, limit: 200 }),
        this.api.listQueries({}),
      ]);
      if (evaluationStore.get().logId !== logId) return;
      evaluationStore.set({ runs, labelSets, evaluations, queries });
    });
  }

  async importGroundTruth(logId: string): Promise<void> {
    await this.guard('Importing the log’s ground truth', async () => {
      await this.api.importLogGroundTruth({ logId });
      await this.refresh(logId);
    });
  }

  async evaluate(runId: number, labelSetId: number, metric: MetricName): Promise<EvaluationDetail | undefined> {
    return this.guard(`Evaluating run ${runId} (${metric.toUpperCase()})`, async () => {
      const { evaluation } = await this.api.runEvaluation({ run: runId, against: labelSetId, metric, reuse: false });
      this.show(evaluation);
      await this.refresh(evaluation.logId);
      return evaluation;
    });
  }

  async open(id: number): Promise<void> {
    await this.guard(null, async () => this.show(await this.api.getEvaluation({ id })));
  }

  private show(evaluation: EvaluationDetail): void {
    evaluationStore.set({ current: evaluation, filter: null, error: null });
    setMarkers('eval', []);
  }

  /** The objects behind a PR point of a class: its detections scoring >= threshold and the ground truth it misses. */
  async prPoint(label: string, threshold: number): Promise<void> {
    const current = evaluationStore.get().current;
    if (!current) return;
    await this.guard(null, async () => {
      const r = await this.api.prPointObjects({ evaluationId: current.id, label, threshold, limit: 2000 });
      const title = `${label} at score ≥ ${threshold.toFixed(3)}: ${r.counts.tp} TP, ${r.counts.fp} FP, ${r.counts.fn} FN`;
      this.setFilter({ kind: 'pr', title, key: { label, threshold }, rows: r.items.map((o) => ({ ...o, shownOutcome: o.outcomeAtThreshold })), total: r.total, frames: r.frames, counts: r.counts, warnings: [] });
    });
  }

  /** The objects behind a confusion-matrix cell. */
  async cell(predicted: string, truth: string): Promise<void> {
    const current = evaluationStore.get().current;
    if (!current) return;
    await this.guard(null, async () => {
      const r: ConfusionCellResult = await this.api.confusionCellObjects({ evaluationId: current.id, predicted, truth, limit: 2000 });
      const title = `detected ${predicted} × true ${truth}: ${r.total} pair${r.total === 1 ? '' : 's'}`;
      // A row's outcome in the matrix's terms: background on either side is a miss or a false alarm.
      const shown = (): Outcome => (truth === 'background' ? 'fp' : predicted === 'background' ? 'fn' : 'tp');
      this.setFilter({ kind: 'cell', title, key: { predicted, truth }, rows: r.items.map((o) => ({ ...o, shownOutcome: shown() })), total: r.total, frames: r.frames, warnings: r.warnings });
    });
  }

  private setFilter(filter: EvalFilter): void {
    evaluationStore.set({ filter });
    setMarkers('eval', toMarkers(filter.frames, filter.title));
  }

  clearFilter(): void {
    evaluationStore.set({ filter: null });
    setMarkers('eval', []);
  }

  /** Runs a hard-case query on the evaluation on screen; its frames become 'query' markers. */
  async runQuery(text: string, name: string | null = null): Promise<void> {
    const current = evaluationStore.get().current;
    if (!current) return;
    evaluationStore.set({ query: { text, name, result: null, error: null } });
    try {
      const result = await this.api.queryEvaluationObjects({ evaluationId: current.id, query: text, limit: 2000 });
      evaluationStore.set({ query: { text, name, result, error: null } });
      setMarkers('query', toMarkers(result.frames, name ?? result.query ?? text));
    } catch (error) {
      evaluationStore.set({ query: { text, name, result: null, error: messageOf(error) } });
      setMarkers('query', []);
    }
  }

  async saveQuery(name: string, text: string): Promise<SavedQuery | undefined> {
    try {
      const saved = await this.api.saveQuery({ name, text });
      evaluationStore.set({ queries: await this.api.listQueries({}) });
      const q = evaluationStore.get().query;
      if (q && q.text === text) evaluationStore.set({ query: { ...q, name } });
      return saved;
    } catch (error) {
      const q = evaluationStore.get().query;
      evaluationStore.set({ query: { text, name: null, result: q?.result ?? null, error: messageOf(error) } });
      return undefined;
    }
  }

  clearQuery(): void {
    evaluationStore.set({ query: null });
    setMarkers('query', []);
  }

  async compare(runA: number, runB: number, labelSetId: number, metric: MetricName): Promise<void> {
    await this.guard(`Comparing run ${runB} with run ${runA}`, async () => {
      const comparison = await this.api.compareRuns({ runA, runB, against: labelSetId, metric });
      evaluationStore.set({ comparison });
      setMarkers('eval', toMarkers(comparison.frames.filter((f) => f.regressed > 0).map((f) => ({ ...f, count: f.regressed })), `regressed in run ${runB}`));
      await this.refresh(evaluationStore.get().logId);
    });
  }

  /** Exports the report of the evaluation on screen; in the web UI the file is downloaded too. */
  async exportReport(format: 'html' | 'pdf', reviewer: string, compareRun: number | null): Promise<void> {
    const current = evaluationStore.get().current;
    if (!current) return;
    await this.guard(`Exporting the ${format.toUpperCase()} report`, async () => {
      const exported = await this.api.exportReport({
        run: current.runId, evaluationId: current.id, format, ...(reviewer.trim() ? { reviewer: reviewer.trim() } : {}), ...(compareRun !== null ? { compareRun } : {}),
      });
      let downloaded: string | null = null;
      if (this.session.connection.transport === 'http') {
        const file = await this.api.readReportFile({ auditSeq: exported.auditSeq });
        const blob = new Blob([file.bytes as Uint8Array<ArrayBuffer>], { type: format === 'pdf' ? 'application/pdf' : 'text/html' });
        const url = URL.createObjectURL(blob);
        const a = document.createElement('a');
        a.href = url;
        a.download = file.name;
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
        downloaded = file.name;
      }
      evaluationStore.set({ lastExport: { ...exported, downloaded } });
    });
  }

  /** Shows an object: seeks to its frame and selects its box in every panel. */
  async reveal(object: Pick<StoredObject, 'frameId' | 'frameIndex' | 'source' | 'objectId' | 'label' | 'sensorId' | 'box2d'>): Promise<void> {
    const index = indexOfFrame(object.frameId, object.frameIndex);
    if (index === null) return;
    this.session.seek(index);
    const current = evaluationStore.get().current;
    if (object.source === 'det' && current) {
      this.session.runs.setStyle(current.runId, { visible: true });
      const frame = await this.api.getDetections({ runId: current.runId, frameId: object.frameId }).catch(() => null);
      const i = frame?.detections.findIndex((d) => d.detectionId === object.objectId) ?? -1;
      if (frame && i >= 0) {
        const d = frame.detections[i]!;
        this.session.select({ kind: d.box2d ? 'box2d' : 'box3d', id: detectionId(current.runId, object.frameId, i), ...(d.trackId ? { trackId: d.trackId } : {}) });
      }
      return;
    }
    // Ground truth: the log's own box with the same class and (nearly) the same rectangle, once the frame is loaded.
    const box = object.box2d;
    if (!box) return;
    const loaded = await waitForFrame(index, 10_000);
    if (!loaded) return;
    let best: { id: string; trackId?: string; iou: number } | null = null;
    for (const b of loaded.data.labels2d) {
      if (b.label.toLowerCase() !== object.label.toLowerCase() || (object.sensorId && b.sensorId !== object.sensorId)) continue;
      const iou = rectIoU(b, box);
      if (iou > 0.9 && (!best || iou > best.iou)) best = { id: b.id, ...(b.trackId ? { trackId: b.trackId } : {}), iou };
    }
    if (best) this.session.select({ kind: 'box2d', id: best.id, ...(best.trackId ? { trackId: best.trackId } : {}) });
  }

  /** Shows a compared ground-truth object: its record in run B's evaluation gives the box to select. */
  async revealChange(change: { frameId: string; objectId: number }): Promise<void> {
    const comparison = evaluationStore.get().comparison;
    if (!comparison) return;
    this.seekFrame(change.frameId, null);
    const page = await this.api.queryEvaluationObjects({ evaluationId: comparison.evaluationB.id, frameId: change.frameId, source: 'gt', limit: 10_000 }).catch(() => null);
    const record = page?.items.find((o) => o.objectId === change.objectId);
    if (record) await this.reveal(record);
  }

  /** Seeks to a frame by id (comparison frames). */
  seekFrame(frameId: string, fallback: number | null): void {
    const index = indexOfFrame(frameId, fallback);
    if (index !== null) this.session.seek(index);
  }
}

function waitForFrame(index: number, timeoutMs: number): Promise<ReturnType<typeof appStore.get>['frame']> {
  return new Promise((resolve) => {
    const check = () => {
      const { frame, frameIndex } = appStore.get();
      if (frameIndex !== index) return finish(null);
      if (frame?.data.index === index) return finish(frame);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    const off = appStore.subscribe(check);
    function finish(value: ReturnType<typeof appStore.get>['frame']) {
      clearTimeout(timer);
      off();
      resolve(value);
    }
    check();
  });
}

let controller: EvaluationController | null = null;

/** One controller per session (the panel and the test hooks share it). */
export function evaluationController(session: EvaluationSession): EvaluationController {
  if (!controller) controller = new EvaluationController(session);
  return controller;
}
