// Review of a label set: frame status, frame issues with comments, and stage sign-off over a frame
// range. Each change is written with its audit event in one IMMEDIATE transaction; the audit trail is
// their history (entity 'frame', 'issue' or 'label_set').
import { defaultActor } from '../app/paths.js';
import { appendAudit } from '../store/audit.js';
import type { Db } from '../store/db.js';
import { getLabelSet } from '../store/labelSets.js';
import {
  getFrameReview, getIssue, insertComment, insertIssue, insertSignOff, listFrameReviews, listIssues, listSignOffs, REVIEW_STAGES, REVIEW_STATUSES,
  setIssueStatus, upsertFrameReview, type FrameIssue, type FrameReview, type IssueStatus, type ReviewStage, type ReviewStatus, type StageSignOff,
} from '../store/reviews.js';
import { LabelConflictError, LabelError } from './errors.js';
import { stampOfFrameId } from './geometry.js';
import type { FrameReviewSummary } from './model.js';
import type { FrameRef } from './service.js';

export type { FrameReviewSummary } from './model.js';

export class ReviewService {
  readonly actor: string;
  private readonly now: () => Date;

  constructor(
    readonly db: Db,
    options: { actor?: string; now?: () => Date } = {},
  ) {
    this.actor = options.actor ?? defaultActor();
    this.now = options.now ?? (() => new Date());
  }

  /** Sets a frame's status; with expectedRevision, refuses when someone changed it since. */
  setFrameStatus(input: { setId: number; frameId: string; status: ReviewStatus; expectedRevision?: number; note?: string }): FrameReview {
    if (!REVIEW_STATUSES.includes(input.status)) throw new LabelError(`Unknown review status '${input.status}'; use one of ${REVIEW_STATUSES.join(', ')}`, 'BAD_INPUT');
    return this.write(() => {
      this.set(input.setId);
      const current = getFrameReview(this.db, input.setId, input.frameId);
      const revision = current?.revision ?? 0;
      if (input.expectedRevision !== undefined && input.expectedRevision !== revision) {
        throw new LabelConflictError(
          `Cannot set the review status of ${input.frameId}: it changed underneath you (revision ${revision}, you started from ${input.expectedRevision}) — ${current?.updatedBy ?? 'someone'} set it to '${current?.status}' at ${current?.updatedAt}.`,
          { expectedRevision: input.expectedRevision, currentRevision: revision, changedBy: current?.updatedBy, changedAt: current?.updatedAt },
        );
      }
      const at = this.timestamp();
      const review: FrameReview = {
        labelSetId: input.setId, frameId: input.frameId, status: input.status, revision: revision + 1, note: input.note ?? null, updatedAt: at, updatedBy: this.actor,
      };
      upsertFrameReview(this.db, review);
      appendAudit(this.db, {
        actor: this.actor, action: 'review.status', entityType: 'frame', entityId: input.frameId, at,
        payload: { setId: input.setId, frameId: input.frameId, status: input.status, previous: current?.status ?? 'unreviewed', revision: review.revision, note: input.note },
      });
      return review;
    });
  }

  frameStatus(setId: number, frameId: string): FrameReview {
    return getFrameReview(this.db, setId, frameId) ?? { labelSetId: setId, frameId, status: 'unreviewed', revision: 0, note: null, updatedAt: '', updatedBy: '' };
  }

  listFrameStatuses(setId: number, status?: ReviewStatus): FrameReview[] {
    this.set(setId);
    return listFrameReviews(this.db, setId, status);
  }

  openIssue(input: { setId: number; frameId: string; title: string; comment?: string; labelId?: number }): FrameIssue {
    if (!input.title.trim()) throw new LabelError('An issue needs a title', 'BAD_INPUT');
    return this.write(() => {
      this.set(input.setId);
      const at = this.timestamp();
      const id = insertIssue(this.db, { labelSetId: input.setId, frameId: input.frameId, labelId: input.labelId ?? null, title: input.title, createdAt: at, createdBy: this.actor });
      if (input.comment) insertComment(this.db, { issueId: id, author: this.actor, at, body: input.comment });
      appendAudit(this.db, {
        actor: this.actor, action: 'issue.open', entityType: 'issue', entityId: String(id), at,
        payload: { setId: input.setId, frameId: input.frameId, labelId: input.labelId, title: input.title, comment: input.comment },
      });
      return getIssue(this.db, id)!;
    });
  }

  comment(input: { issueId: number; body: string }): FrameIssue {
    if (!input.body.trim()) throw new LabelError('A comment needs text', 'BAD_INPUT');
    return this.write(() => {
      const issue = this.issue(input.issueId);
      const at = this.timestamp();
      const commentId = insertComment(this.db, { issueId: issue.id, author: this.actor, at, body: input.body });
      appendAudit(this.db, {
        actor: this.actor, action: 'issue.comment', entityType: 'issue', entityId: String(issue.id), at,
        payload: { setId: issue.labelSetId, frameId: issue.frameId, commentId, body: input.body },
      });
      return getIssue(this.db, issue.id)!;
    });
  }

  resolveIssue(input: { issueId: number; comment?: string }): FrameIssue {
    return this.setIssue(input.issueId, 'resolved', input.comment);
  }

  reopenIssue(input: { issueId: number; comment?: string }): FrameIssue {
    return this.setIssue(input.issueId, 'open', input.comment);
  }

  listIssues(setId: number, filter: { frameId?: string; status?: IssueStatus } = {}): FrameIssue[] {
    this.set(setId);
    return listIssues(this.db, setId, filter);
  }

  /**
   * A person signs off a review stage over frames [from, to] (inclusive, by frame time). Refused while
   * a frame in the range needs attention or has an open issue, unless `force`.
   */
  signOff(input: { setId: number; stage: ReviewStage; fromFrameId: string; toFrameId: string; frames?: readonly FrameRef[]; note?: string; force?: boolean }): StageSignOff {
    if (!REVIEW_STAGES.includes(input.stage)) throw new LabelError(`Unknown stage '${input.stage}'; use one of ${REVIEW_STAGES.join(', ')}`, 'BAD_INPUT');
    let from = stampOf(input.fromFrameId, input.frames);
    let to = stampOf(input.toFrameId, input.frames);
    let [fromId, toId] = [input.fromFrameId, input.toFrameId];
    if (to < from) [from, to, fromId, toId] = [to, from, toId, fromId];
    return this.write(() => {
      this.set(input.setId);
      const inRange = (frameId: string) => {
        const s = stampOfFrameId(frameId);
        return s !== undefined && s >= from && s <= to;
      };
      const blocking = [
        ...listFrameReviews(this.db, input.setId, 'needs_attention').filter((r) => inRange(r.frameId)).map((r) => `${r.frameId} needs attention`),
        ...listIssues(this.db, input.setId, { status: 'open' }).filter((i) => inRange(i.frameId)).map((i) => `${i.frameId} has open issue ${i.id} ('${i.title}')`),
      ];
      if (blocking.length && !input.force) {
        throw new LabelError(`Cannot sign off ${input.stage} over ${fromId}..${toId}: ${blocking.slice(0, 5).join('; ')}${blocking.length > 5 ? ` (+${blocking.length - 5} more)` : ''}. Resolve them, or sign off with force.`, 'BAD_INPUT');
      }
      const frameCount = input.frames ? input.frames.filter((f) => BigInt(f.stampNs) >= from && BigInt(f.stampNs) <= to).length : null;
      const at = this.timestamp();
      const audit = appendAudit(this.db, {
        actor: this.actor, action: 'review.signoff', entityType: 'label_set', entityId: String(input.setId), at,
        payload: { setId: input.setId, stage: input.stage, fromFrameId: fromId, toFrameId: toId, frameCount, note: input.note, overridden: blocking.length ? blocking : undefined },
      });
      const id = insertSignOff(this.db, {
        labelSetId: input.setId, stage: input.stage, fromFrameId: fromId, toFrameId: toId, fromStampNs: from.toString(), toStampNs: to.toString(), frameCount,
        signedBy: this.actor, signedAt: at, note: input.note ?? null, auditSeq: audit.seq,
      });
      return listSignOffs(this.db, input.setId).find((s) => s.id === id)!;
    });
  }

  listSignOffs(setId: number): StageSignOff[] {
    this.set(setId);
    return listSignOffs(this.db, setId);
  }

  /** Per frame: status, issue counts and signed stages, for the given frames (or every frame with any review data). */
  summary(setId: number, frames?: readonly FrameRef[]): FrameReviewSummary[] {
    this.set(setId);
    const reviews = new Map(listFrameReviews(this.db, setId).map((r) => [r.frameId, r]));
    const issues = listIssues(this.db, setId);
    const signOffs = listSignOffs(this.db, setId);
    const ids = frames ? frames.map((f) => f.id) : [...new Set([...reviews.keys(), ...issues.map((i) => i.frameId)])];
    return ids.map((frameId) => {
      const stamp = stampOfFrameId(frameId);
      const mine = issues.filter((i) => i.frameId === frameId);
      return {
        frameId,
        status: reviews.get(frameId)?.status ?? 'unreviewed',
        openIssues: mine.filter((i) => i.status === 'open').length,
        resolvedIssues: mine.filter((i) => i.status === 'resolved').length,
        signedStages: [...new Set(signOffs.filter((s) => stamp !== undefined && stamp >= BigInt(s.fromStampNs) && stamp <= BigInt(s.toStampNs)).map((s) => s.stage))],
      };
    });
  }

  private setIssue(issueId: number, status: IssueStatus, comment?: string): FrameIssue {
    return this.write(() => {
      const issue = this.issue(issueId);
      if (issue.status === status) throw new LabelError(`Issue ${issueId} is already ${status}`, 'BAD_INPUT');
      const at = this.timestamp();
      setIssueStatus(this.db, issueId, status, at, this.actor);
      if (comment) insertComment(this.db, { issueId, author: this.actor, at, body: comment });
      appendAudit(this.db, {
        actor: this.actor, action: status === 'resolved' ? 'issue.resolve' : 'issue.reopen', entityType: 'issue', entityId: String(issueId), at,
        payload: { setId: issue.labelSetId, frameId: issue.frameId, comment },
      });
      return getIssue(this.db, issueId)!;
    });
  }

  private issue(issueId: number): FrameIssue {
    const issue = getIssue(this.db, issueId);
    if (!issue) throw new LabelError(`No issue with id ${issueId}`, 'NOT_FOUND', { issueId });
    return issue;
  }

  private set(setId: number): void {
    if (!getLabelSet(this.db, setId, { count: false })) throw new LabelError(`No label set with id ${setId}`, 'NOT_FOUND', { labelSetId: setId });
  }

  private timestamp(): string {
    return this.now().toISOString();
  }

  private write<T>(work: () => T): T {
    if (this.db.inTransaction) return work();
    return this.db.transaction(work).immediate();
  }
}

function stampOf(frameId: string, frames?: readonly FrameRef[]): bigint {
  const frame = frames?.find((f) => f.id === frameId);
  if (frame) return BigInt(frame.stampNs);
  const stamp = stampOfFrameId(frameId);
  if (stamp === undefined) throw new LabelError(`'${frameId}' is not a frame id (expected <logId>:<stampNs>)`, 'BAD_INPUT', { frameId });
  return stamp;
}
