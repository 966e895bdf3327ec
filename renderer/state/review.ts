// Review state for the Frame review, History and Audit log panels: the label set under review, each
// frame's status and issues, stage sign-offs, the current frame's history, the global audit log (paged)
// and the last chain verification. Everything goes through the API contract; this module owns the
// 'review' and 'issue' timeline markers.
import type { MethodInput, MethodOutput, SightlineApi } from '../../src/api/contract.js';
import { appStore, setMarkers } from './appState.js';
import { createStore } from './store.js';

export type LabelSetRecord = MethodOutput<'listLabelSets'>[number];
export type FrameReviewSummary = MethodOutput<'getReviewSummary'>[number];
export type FrameReview = MethodOutput<'setFrameReviewStatus'>;
export type FrameIssue = MethodOutput<'listIssues'>[number];
export type StageSignOff = MethodOutput<'listSignOffs'>[number];
export type LabelEvent = MethodOutput<'getLabelHistory'>[number];
export type AuditEntry = MethodOutput<'listAuditEvents'>[number];
export type AuditVerification = MethodOutput<'verifyAudit'>;
export type ReviewStatus = FrameReview['status'];
export type ReviewStage = StageSignOff['stage'];

export const REVIEW_STATUSES: readonly ReviewStatus[] = ['unreviewed', 'in_review', 'done', 'needs_attention'];
export const REVIEW_STAGES: readonly ReviewStage[] = ['annotation', 'validation', 'acceptance'];
export const STATUS_LABELS: Record<ReviewStatus, string> = { unreviewed: 'Unreviewed', in_review: 'In review', done: 'Done', needs_attention: 'Needs attention' };
/** Timeline colours of the review markers (unreviewed frames get none). */
export const STATUS_COLORS: Record<ReviewStatus, string> = { unreviewed: '#8893a3', in_review: '#4c9bff', done: '#3fb950', needs_attention: '#f0883e' };
export const ISSUE_COLOR = '#f85149';

/** Audit log filters as typed in the panel; empty strings mean "any". */
export interface AuditLogFilter {
  actor: string;
  /** Exact action or a prefix ending in '.' ('issue.'). */
  action: string;
  entityType: string;
  entityId: string;
  /** datetime-local values (local time). */
  since: string;
  until: string;
  text: string;
}

export const EMPTY_AUDIT_FILTER: AuditLogFilter = { actor: '', action: '', entityType: '', entityId: '', since: '', until: '', text: '' };
export const AUDIT_PAGE = 200;

/** A frame's history: its label operations (events grouped by op) and its review/issue audit events. */
export interface FrameHistory {
  frameId: string;
  ops: Array<{ opId: number; author: string; at: string; reason: string | null; events: LabelEvent[] }>;
  audit: AuditEntry[];
}

export interface SignOffRefusal {
  message: string;
  request: { stage: ReviewStage; fromIndex: number; toIndex: number; note: string };
}

export interface ReviewUiState {
  logId: string | null;
  labelSets: LabelSetRecord[];
  setId: number | null;
  /** By frame id, for every frame of the log. */
  summary: Map<string, FrameReviewSummary>;
  /** The current frame's stored review (revision and note). */
  frameReview: FrameReview | null;
  issues: FrameIssue[];
  signOffs: StageSignOff[];
  history: FrameHistory | null;
  busy: string | null;
  error: string | null;
  /** The server's refusal of the last sign-off (force is offered with it). */
  refusal: SignOffRefusal | null;
  audit: { filter: AuditLogFilter; rows: AuditEntry[]; hasMore: boolean; loading: boolean; error: string | null };
  verification: (AuditVerification & { at: string }) | null;
}

export const reviewStore = createStore<ReviewUiState>({
  logId: null,
  labelSets: [],
  setId: null,
  summary: new Map(),
  frameReview: null,
  issues: [],
  signOffs: [],
  history: null,
  busy: null,
  error: null,
  refusal: null,
  audit: { filter: EMPTY_AUDIT_FILTER, rows: [], hasMore: false, loading: false, error: null },
  verification: null,
});

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const localToIso = (value: string): string | undefined => {
  if (!value) return undefined;
  const t = new Date(value);
  return Number.isNaN(t.getTime()) ? undefined : t.toISOString();
};

/** The API's audit filter for the panel's filter, one page older than `beforeSeq`. */
export function auditQuery(filter: AuditLogFilter, beforeSeq?: number): MethodInput<'listAuditEvents'> {
  const trim = (s: string) => s.trim() || undefined;
  return {
    actor: trim(filter.actor),
    action: trim(filter.action),
    entityType: trim(filter.entityType),
    entityId: trim(filter.entityId),
    since: localToIso(filter.since),
    until: localToIso(filter.until),
    text: trim(filter.text),
    beforeSeq,
    limit: AUDIT_PAGE,
    order: 'desc',
  };
}

/** Groups a frame's label events by operation, newest first. */
export function groupOps(events: readonly LabelEvent[]): FrameHistory['ops'] {
  const ops = new Map<number, FrameHistory['ops'][number]>();
  for (const e of events) {
    const op = ops.get(e.opId) ?? { opId: e.opId, author: e.author, at: e.at, reason: e.reason, events: [] };
    op.events.push(e);
    ops.set(e.opId, op);
  }
  return [...ops.values()].sort((a, b) => b.opId - a.opId);
}

export interface ReviewSession {
  readonly api: SightlineApi;
  seek(index: number): void;
}

export class ReviewController {
  /** Bumped on every refresh so a slow answer for an older frame or set never lands. */
  private generation = 0;

  constructor(private readonly session: ReviewSession) {}

  private get api(): SightlineApi {
    return this.session.api;
  }

  private async guard<T>(what: string, work: () => Promise<T>): Promise<T | undefined> {
    reviewStore.set({ busy: what, error: null });
    try {
      return await work();
    } catch (error) {
      reviewStore.set({ error: messageOf(error) });
      return undefined;
    } finally {
      reviewStore.set({ busy: null });
    }
  }

  /** Label sets of the open log; keeps the chosen set when it still exists, else takes `preferred` or the newest. */
  async loadSets(logId: string | null, preferred?: number | null): Promise<void> {
    if (logId !== reviewStore.get().logId) {
      reviewStore.set({ logId, labelSets: [], setId: null, summary: new Map(), issues: [], signOffs: [], history: null, frameReview: null, refusal: null, error: null });
      this.publishMarkers();
    }
    if (!logId) return;
    const sets = await this.guard('Loading label sets', () => this.api.listLabelSets({ logId }));
    if (!sets) return;
    const current = reviewStore.get().setId;
    const keep = [preferred, current].find((id) => id != null && sets.some((s) => s.id === id));
    reviewStore.set({ labelSets: sets });
    await this.chooseSet(keep ?? sets[sets.length - 1]?.id ?? null);
  }

  async chooseSet(setId: number | null): Promise<void> {
    if (setId !== reviewStore.get().setId) reviewStore.set({ setId, summary: new Map(), issues: [], signOffs: [], history: null, frameReview: null, refusal: null });
    await this.refresh();
  }

  /** Summary, issues and sign-offs of the set, then the current frame's review and history. */
  async refresh(): Promise<void> {
    const { setId } = reviewStore.get();
    const generation = ++this.generation;
    if (setId === null) {
      this.publishMarkers();
      return;
    }
    const loaded = await this.guard('Loading review', () =>
      Promise.all([this.api.getReviewSummary({ setId }), this.api.listIssues({ setId }), this.api.listSignOffs({ setId })]),
    );
    if (!loaded || generation !== this.generation) return;
    const [summary, issues, signOffs] = loaded;
    reviewStore.set({ summary: new Map(summary.map((s) => [s.frameId, s])), issues, signOffs });
    this.publishMarkers();
    await this.loadFrame(appStore.get().frameIndex);
  }

  /** The frame's stored review and history (label ops and review/issue audit events). */
  async loadFrame(index: number): Promise<void> {
    const { setId } = reviewStore.get();
    const frameId = appStore.get().stubs[index]?.id;
    if (setId === null || !frameId) {
      reviewStore.set({ history: null, frameReview: null });
      return;
    }
    const generation = this.generation;
    try {
      const [events, audit] = await Promise.all([
        this.api.getLabelHistory({ setId, frameId, limit: 2000 }),
        this.api.listAuditEvents({ frameId, setId, limit: 500, order: 'desc' }),
      ]);
      if (generation !== this.generation || appStore.get().stubs[appStore.get().frameIndex]?.id !== frameId) return;
      const statusEvent = audit.find((a) => a.action === 'review.status');
      const payload = (statusEvent?.payload ?? {}) as { status?: ReviewStatus; revision?: number; note?: string };
      reviewStore.set({
        history: { frameId, ops: groupOps(events), audit: audit.filter((a) => !a.action.startsWith('label.')) },
        frameReview: statusEvent
          ? { labelSetId: setId, frameId, status: payload.status ?? 'unreviewed', revision: payload.revision ?? 0, note: payload.note ?? null, updatedAt: statusEvent.at, updatedBy: statusEvent.actor }
          : null,
      });
    } catch (error) {
      reviewStore.set({ error: messageOf(error) });
    }
  }

  async setStatus(index: number, status: ReviewStatus, note?: string): Promise<void> {
    const { setId, frameReview } = reviewStore.get();
    const frameId = appStore.get().stubs[index]?.id;
    if (setId === null || !frameId) return;
    const expectedRevision = frameReview?.frameId === frameId ? frameReview.revision : 0;
    const done = await this.guard('Setting status', () => this.api.setFrameReviewStatus({ setId, frameId, status, expectedRevision, ...(note ? { note } : {}) }));
    if (done) await this.refresh();
  }

  async openIssue(index: number, title: string, comment: string, labelId?: number): Promise<void> {
    const { setId } = reviewStore.get();
    const frameId = appStore.get().stubs[index]?.id;
    if (setId === null || !frameId) return;
    const done = await this.guard('Opening issue', () =>
      this.api.openFrameIssue({ setId, frameId, title, ...(comment.trim() ? { comment } : {}), ...(labelId !== undefined ? { labelId } : {}) }),
    );
    if (done) await this.refresh();
  }

  async comment(issueId: number, body: string): Promise<void> {
    if (await this.guard('Commenting', () => this.api.commentOnIssue({ issueId, body }))) await this.refresh();
  }

  async resolve(issueId: number, comment?: string): Promise<void> {
    if (await this.guard('Resolving', () => this.api.resolveIssue({ issueId, ...(comment ? { comment } : {}) }))) await this.refresh();
  }

  async reopen(issueId: number, comment?: string): Promise<void> {
    if (await this.guard('Reopening', () => this.api.reopenIssue({ issueId, ...(comment ? { comment } : {}) }))) await this.refresh();
  }

  /** Signs off frames [fromIndex, toIndex]; a refusal keeps the server's message and the request, for force. */
  async signOff(request: SignOffRefusal['request'], force = false): Promise<StageSignOff | undefined> {
    const { setId } = reviewStore.get();
    const stubs = appStore.get().stubs;
    const from = stubs[request.fromIndex]?.id;
    const to = stubs[request.toIndex]?.id;
    if (setId === null || !from || !to) return undefined;
    reviewStore.set({ busy: 'Signing off', error: null, refusal: null });
    try {
      const signed = await this.api.signOffStage({ setId, stage: request.stage, fromFrameId: from, toFrameId: to, ...(request.note ? { note: request.note } : {}), ...(force ? { force: true } : {}) });
      await this.refresh();
      return signed;
    } catch (error) {
      reviewStore.set({ refusal: { message: messageOf(error), request } });
      return undefined;
    } finally {
      reviewStore.set({ busy: null });
    }
  }

  dismissRefusal(): void {
    reviewStore.set({ refusal: null });
  }

  /** Frames (timeline indices) whose summary passes `test`, in log order. */
  framesWhere(test: (s: FrameReviewSummary) => boolean): number[] {
    const { summary } = reviewStore.get();
    const out: number[] = [];
    appStore.get().stubs.forEach((stub, i) => {
      const s = summary.get(stub.id);
      if (s && test(s)) out.push(i);
    });
    return out;
  }

  /** Seeks the next (+1) or previous (−1) frame that needs a look: needs attention or an open issue. */
  stepFlagged(direction: 1 | -1): void {
    const flagged = this.framesWhere((s) => s.status === 'needs_attention' || s.openIssues > 0);
    const at = appStore.get().frameIndex;
    const next = direction > 0 ? flagged.find((i) => i > at) : [...flagged].reverse().find((i) => i < at);
    if (next !== undefined) this.session.seek(next);
  }

  async setAuditFilter(filter: AuditLogFilter): Promise<void> {
    reviewStore.set((s) => ({ audit: { ...s.audit, filter } }));
    await this.loadAudit(false);
  }

  /** First page for the filter, or (more) the next older page. */
  async loadAudit(more: boolean): Promise<void> {
    const audit = reviewStore.get().audit;
    const before = more ? audit.rows[audit.rows.length - 1]?.seq : undefined;
    reviewStore.set((s) => ({ audit: { ...s.audit, loading: true, error: null } }));
    try {
      const rows = await this.api.listAuditEvents(auditQuery(audit.filter, before));
      reviewStore.set((s) => (s.audit.filter !== audit.filter ? {} : { audit: { ...s.audit, rows: more ? [...s.audit.rows, ...rows] : rows, hasMore: rows.length === AUDIT_PAGE, loading: false } }));
    } catch (error) {
      reviewStore.set((s) => ({ audit: { ...s.audit, loading: false, error: messageOf(error) } }));
    }
  }

  async verify(): Promise<void> {
    const result = await this.guard('Verifying', () => this.api.verifyAudit({}));
    if (!result) return;
    reviewStore.set({ verification: { ...result, at: new Date().toISOString() } });
    // Show the rows as they are stored now, next to the verdict.
    await this.loadAudit(false);
  }

  /** Review markers coloured by status; issue markers on frames with open issues (titles on hover). */
  publishMarkers(): void {
    const { summary, issues, setId } = reviewStore.get();
    const stubs = appStore.get().stubs;
    if (setId === null) {
      setMarkers('review', []);
      setMarkers('issue', []);
      return;
    }
    const review: { index: number; label: string; color: string }[] = [];
    const issue: { index: number; label: string; color: string }[] = [];
    stubs.forEach((stub, index) => {
      const s = summary.get(stub.id);
      if (!s) return;
      if (s.status !== 'unreviewed') review.push({ index, label: STATUS_LABELS[s.status], color: STATUS_COLORS[s.status] });
      if (s.openIssues > 0) {
        const titles = issues.filter((i) => i.frameId === stub.id && i.status === 'open').map((i) => i.title);
        issue.push({ index, label: `${s.openIssues} open issue${s.openIssues > 1 ? 's' : ''}: ${titles.join('; ')}`, color: ISSUE_COLOR });
      }
    });
    setMarkers('review', review);
    setMarkers('issue', issue);
  }
}
