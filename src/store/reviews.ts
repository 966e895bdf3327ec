// Review state of a label set: per-frame status, frame issues with comments, and stage sign-offs.
// Rows only; src/labels/review.ts writes them together with their audit events.
import type { FrameIssue, FrameReview, IssueComment, IssueStatus, ReviewStage, ReviewStatus, StageSignOff } from '../labels/model.js';
import type { Db } from './db.js';

export type { FrameIssue, FrameReview, IssueComment, IssueStatus, ReviewStage, ReviewStatus, StageSignOff } from '../labels/model.js';
export const REVIEW_STATUSES: readonly ReviewStatus[] = ['unreviewed', 'in_review', 'done', 'needs_attention'];
export const REVIEW_STAGES: readonly ReviewStage[] = ['annotation', 'validation', 'acceptance'];

interface ReviewRow {
  label_set_id: number;
  frame_id: string;
  status: ReviewStatus;
  revision: number;
  note: string | null;
  updated_at: string;
  updated_by: string;
}

const reviewFromRow = (r: ReviewRow): FrameReview => ({
  labelSetId: r.label_set_id, frameId: r.frame_id, status: r.status, revision: r.revision, note: r.note, updatedAt: r.updated_at, updatedBy: r.updated_by,
});

export function getFrameReview(db: Db, setId: number, frameId: string): FrameReview | undefined {
  const row = db.prepare('SELECT * FROM frame_reviews WHERE label_set_id = ? AND frame_id = ?').get(setId, frameId) as ReviewRow | undefined;
  return row && reviewFromRow(row);
}

export function listFrameReviews(db: Db, setId: number, status?: ReviewStatus): FrameReview[] {
  const rows = status
    ? (db.prepare('SELECT * FROM frame_reviews WHERE label_set_id = ? AND status = ? ORDER BY frame_id').all(setId, status) as ReviewRow[])
    : (db.prepare('SELECT * FROM frame_reviews WHERE label_set_id = ? ORDER BY frame_id').all(setId) as ReviewRow[]);
  return rows.map(reviewFromRow);
}

export function upsertFrameReview(db: Db, review: FrameReview): void {
  db.prepare(
    `INSERT INTO frame_reviews (label_set_id, frame_id, status, revision, note, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(label_set_id, frame_id) DO UPDATE SET status = excluded.status, revision = excluded.revision, note = excluded.note,
       updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
  ).run(review.labelSetId, review.frameId, review.status, review.revision, review.note, review.updatedAt, review.updatedBy);
}

interface IssueRow {
  id: number;
  label_set_id: number;
  frame_id: string;
  label_id: number | null;
  title: string;
  status: IssueStatus;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
}

function issuesWithComments(db: Db, rows: IssueRow[]): FrameIssue[] {
  const commentsOf = db.prepare('SELECT id, issue_id, author, at, body FROM issue_comments WHERE issue_id = ? ORDER BY id');
  return rows.map((r) => ({
    id: r.id, labelSetId: r.label_set_id, frameId: r.frame_id, labelId: r.label_id, title: r.title, status: r.status,
    createdAt: r.created_at, createdBy: r.created_by, updatedAt: r.updated_at, updatedBy: r.updated_by,
    comments: (commentsOf.all(r.id) as { id: number; issue_id: number; author: string; at: string; body: string }[]).map((c) => ({ id: c.id, issueId: c.issue_id, author: c.author, at: c.at, body: c.body })),
  }));
}

export function insertIssue(db: Db, issue: Omit<FrameIssue, 'id' | 'comments' | 'status' | 'updatedAt' | 'updatedBy'>): number {
  const result = db
    .prepare('INSERT INTO frame_issues (label_set_id, frame_id, label_id, title, status, created_at, created_by, updated_at, updated_by) VALUES (?, ?, ?, ?, \'open\', ?, ?, ?, ?)')
    .run(issue.labelSetId, issue.frameId, issue.labelId, issue.title, issue.createdAt, issue.createdBy, issue.createdAt, issue.createdBy);
  return Number(result.lastInsertRowid);
}

export function setIssueStatus(db: Db, issueId: number, status: IssueStatus, at: string, by: string): void {
  db.prepare('UPDATE frame_issues SET status = ?, updated_at = ?, updated_by = ? WHERE id = ?').run(status, at, by, issueId);
}

export function insertComment(db: Db, comment: Omit<IssueComment, 'id'>): number {
  return Number(db.prepare('INSERT INTO issue_comments (issue_id, author, at, body) VALUES (?, ?, ?, ?)').run(comment.issueId, comment.author, comment.at, comment.body).lastInsertRowid);
}

export function getIssue(db: Db, issueId: number): FrameIssue | undefined {
  const row = db.prepare('SELECT * FROM frame_issues WHERE id = ?').get(issueId) as IssueRow | undefined;
  return row && issuesWithComments(db, [row])[0];
}

export function listIssues(db: Db, setId: number, filter: { frameId?: string; status?: IssueStatus } = {}): FrameIssue[] {
  const where = ['label_set_id = ?'];
  const args: unknown[] = [setId];
  if (filter.frameId) {
    where.push('frame_id = ?');
    args.push(filter.frameId);
  }
  if (filter.status) {
    where.push('status = ?');
    args.push(filter.status);
  }
  return issuesWithComments(db, db.prepare(`SELECT * FROM frame_issues WHERE ${where.join(' AND ')} ORDER BY id`).all(...args) as IssueRow[]);
}

interface SignOffRow {
  id: number;
  label_set_id: number;
  stage: ReviewStage;
  from_frame_id: string;
  to_frame_id: string;
  from_stamp_ns: string;
  to_stamp_ns: string;
  frame_count: number | null;
  signed_by: string;
  signed_at: string;
  note: string | null;
  audit_seq: number;
}

export function insertSignOff(db: Db, s: Omit<StageSignOff, 'id'>): number {
  return Number(
    db
      .prepare(
        `INSERT INTO stage_signoffs (label_set_id, stage, from_frame_id, to_frame_id, from_stamp_ns, to_stamp_ns, frame_count, signed_by, signed_at, note, audit_seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(s.labelSetId, s.stage, s.fromFrameId, s.toFrameId, s.fromStampNs, s.toStampNs, s.frameCount, s.signedBy, s.signedAt, s.note, s.auditSeq).lastInsertRowid,
  );
}

export function listSignOffs(db: Db, setId: number): StageSignOff[] {
  return (db.prepare('SELECT * FROM stage_signoffs WHERE label_set_id = ? ORDER BY id').all(setId) as SignOffRow[]).map((r) => ({
    id: r.id, labelSetId: r.label_set_id, stage: r.stage, fromFrameId: r.from_frame_id, toFrameId: r.to_frame_id, fromStampNs: r.from_stamp_ns,
    toStampNs: r.to_stamp_ns, frameCount: r.frame_count, signedBy: r.signed_by, signedAt: r.signed_at, note: r.note, auditSeq: r.audit_seq,
  }));
}
