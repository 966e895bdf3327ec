// Frame review (sidebar): the label set under review, the current frame's status (buttons and u / i /
// d / ! keys) and issues with their comment threads, a frame filter by status or open issues, stage
// sign-off over the timeline range (or the whole log) with the server's refusal and a forced retry,
// and progress counts.
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { formatDuration } from '../../app/format.js';
import { SHORTCUTS } from '../../app/shortcuts.js';
import { useSession } from '../../app/sessionContext.js';
import { appStore, useApp } from '../../state/appState.js';
import { useStore } from '../../state/store.js';
import {
  REVIEW_STAGES, REVIEW_STATUSES, reviewStore, STATUS_COLORS, STATUS_LABELS, type FrameIssue, type FrameReviewSummary, type ReviewController, type ReviewStage, type ReviewStatus,
} from '../../state/review.js';
import { useReviewController } from './controller.js';

/** Status keys, active while this panel is on screen (never over a key the app already binds). */
export const REVIEW_KEYS: Array<{ key: string; status: ReviewStatus }> = [
  { key: 'u', status: 'unreviewed' },
  { key: 'i', status: 'in_review' },
  { key: 'd', status: 'done' },
  { key: '!', status: 'needs_attention' },
];

type FrameFilter = 'flagged' | 'open_issues' | ReviewStatus;
const FILTER_LABELS: Record<FrameFilter, string> = {
  flagged: 'Needs a look (attention or open issue)',
  open_issues: 'With open issues',
  unreviewed: 'Unreviewed',
  in_review: 'In review',
  done: 'Done',
  needs_attention: 'Needs attention',
};
const filterTest = (filter: FrameFilter) => (s: FrameReviewSummary): boolean =>
  filter === 'flagged' ? s.status === 'needs_attention' || s.openIssues > 0 : filter === 'open_issues' ? s.openIssues > 0 : s.status === filter;

const noFocus = (e: React.MouseEvent) => e.preventDefault();

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

function useStatusKeys(controller: ReviewController, enabled: boolean): void {
  useEffect(() => {
    if (!enabled) return;
    const onKeyDown = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
      const bound = REVIEW_KEYS.find((k) => k.key === e.key);
      if (!bound || SHORTCUTS.some((s) => s.match(e))) return;
      e.preventDefault();
      void controller.setStatus(appStore.get().frameIndex, bound.status);
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, [controller, enabled]);
}

export function FrameReviewPanel(): ReactNode {
  const controller = useReviewController();
  const log = useApp((s) => s.log);
  const stubs = useApp((s) => s.stubs);
  const frameIndex = useApp((s) => s.frameIndex);
  const labelSets = useStore(reviewStore, (s) => s.labelSets);
  const setId = useStore(reviewStore, (s) => s.setId);
  const summary = useStore(reviewStore, (s) => s.summary);
  const issues = useStore(reviewStore, (s) => s.issues);
  const busy = useStore(reviewStore, (s) => s.busy);
  const error = useStore(reviewStore, (s) => s.error);
  const [note, setNote] = useState('');
  useStatusKeys(controller, setId !== null);

  const frameId = stubs[frameIndex]?.id;
  const frame = frameId ? summary.get(frameId) : undefined;
  const counts = useMemo(() => {
    const c: Record<ReviewStatus, number> = { unreviewed: 0, in_review: 0, done: 0, needs_attention: 0 };
    let open = 0;
    for (const stub of stubs) {
      const s = summary.get(stub.id);
      c[s?.status ?? 'unreviewed']++;
      open += s?.openIssues ?? 0;
    }
    return { ...c, open };
  }, [stubs, summary]);

  if (!log) return <div className="muted pad">No log open.</div>;
  if (!labelSets.length) return <div className="muted pad">No label set for this log yet: import ground truth or make a working set to review it.</div>;
  const status = frame?.status ?? 'unreviewed';
  const frameIssues = issues.filter((i) => i.frameId === frameId);

  return (
    <div className="frame-review" data-testid="frame-review">
      <label className="field">
        <span>Label set</span>
        <select value={setId ?? ''} onChange={(e) => void controller.chooseSet(Number(e.target.value))} data-testid="review-set">
          {labelSets.map((s) => (
            <option key={s.id} value={s.id}>
              #{s.id} {s.name} ({s.kind.replace('_', ' ')})
            </option>
          ))}
        </select>
      </label>
      <div className="review-progress" data-testid="review-progress" title={`${counts.in_review} in review, ${counts.needs_attention} need attention, ${counts.open} open issues`}>
        <div className="review-progress-bar">
          {REVIEW_STATUSES.filter((s) => s !== 'unreviewed').map((s) => (
            <span key={s} style={{ width: `${(100 * counts[s]) / Math.max(1, stubs.length)}%`, background: STATUS_COLORS[s] }} />
          ))}
        </div>
        <span>
          <strong data-testid="review-done">{counts.done}</strong> / {stubs.length} done · {counts.needs_attention} attention · {counts.open} open issues
        </span>
      </div>

      <section className="review-section">
        <h4>
          Frame {frameIndex + 1} <span className={`status-chip status-${status}`} data-testid="review-status">{STATUS_LABELS[status]}</span>
        </h4>
        <div className="status-buttons" role="group" aria-label="Review status">
          {REVIEW_KEYS.map(({ key, status: s }) => (
            <button
              key={s}
              className={s === status ? 'active' : ''}
              style={{ borderColor: STATUS_COLORS[s] }}
              onMouseDown={noFocus}
              onClick={() => {
                void controller.setStatus(frameIndex, s, note);
                setNote('');
              }}
              disabled={busy !== null}
              title={`${STATUS_LABELS[s]} (${key.toUpperCase()})`}
              data-testid={`review-status-${s}`}
            >
              {STATUS_LABELS[s]} <kbd>{key.toUpperCase()}</kbd>
            </button>
          ))}
        </div>
        <input type="text" placeholder="Note for the next status change (optional)" value={note} onChange={(e) => setNote(e.target.value)} maxLength={2000} data-testid="review-note" />
        <IssueList controller={controller} issues={frameIssues} />
        <NewIssue controller={controller} frameIndex={frameIndex} />
      </section>

      <FrameFilterSection controller={controller} />
      <SignOffSection controller={controller} />
      {busy && <div className="muted small">{busy}…</div>}
      {error && (
        <div className="error-text" role="alert" data-testid="review-error">
          {error}
        </div>
      )}
    </div>
  );
}

function IssueList({ controller, issues }: { controller: ReviewController; issues: FrameIssue[] }): ReactNode {
  if (!issues.length) return <div className="muted small">No issues on this frame.</div>;
  return (
    <ul className="issue-list" data-testid="issue-list">
      {issues.map((issue) => (
        <IssueItem key={issue.id} controller={controller} issue={issue} />
      ))}
    </ul>
  );
}

function IssueItem({ controller, issue }: { controller: ReviewController; issue: FrameIssue }): ReactNode {
  const [reply, setReply] = useState('');
  const [open, setOpen] = useState(issue.status === 'open');
  const send = async (action: 'comment' | 'resolve' | 'reopen') => {
    const text = reply.trim();
    if (action === 'comment') await controller.comment(issue.id, text);
    else if (action === 'resolve') await controller.resolve(issue.id, text || undefined);
    else await controller.reopen(issue.id, text || undefined);
    setReply('');
  };
  return (
    <li className={`issue issue-${issue.status}`} data-testid={`issue-${issue.id}`}>
      <button className="issue-title" onClick={() => setOpen(!open)} aria-expanded={open}>
        <span className={`issue-state ${issue.status}`}>{issue.status}</span> {issue.title}
        {issue.labelId !== null && <span className="muted small"> · label #{issue.labelId}</span>}
      </button>
      {open && (
        <div className="issue-body">
          <div className="muted small">
            opened by {issue.createdBy} {new Date(issue.createdAt).toLocaleString()}
            {issue.updatedAt !== issue.createdAt && ` · ${issue.status} by ${issue.updatedBy}`}
          </div>
          <ol className="comments">
            {issue.comments.map((c) => (
              <li key={c.id}>
                <span className="comment-meta">
                  {c.author} · {new Date(c.at).toLocaleString()}
                </span>
                <div>{c.body}</div>
              </li>
            ))}
          </ol>
          <textarea rows={2} placeholder="Comment" value={reply} onChange={(e) => setReply(e.target.value)} maxLength={5000} data-testid={`issue-reply-${issue.id}`} />
          <div className="row-buttons">
            <button disabled={!reply.trim()} onClick={() => void send('comment')}>
              Comment
            </button>
            {issue.status === 'open' ? (
              <button onClick={() => void send('resolve')} data-testid={`issue-resolve-${issue.id}`}>
                Resolve
              </button>
            ) : (
              <button onClick={() => void send('reopen')} data-testid={`issue-reopen-${issue.id}`}>
                Reopen
              </button>
            )}
          </div>
        </div>
      )}
    </li>
  );
}

function NewIssue({ controller, frameIndex }: { controller: ReviewController; frameIndex: number }): ReactNode {
  const [title, setTitle] = useState('');
  const [comment, setComment] = useState('');
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!title.trim()) return;
    await controller.openIssue(frameIndex, title.trim(), comment);
    setTitle('');
    setComment('');
  };
  return (
    <form className="new-issue" onSubmit={(e) => void submit(e)}>
      <input type="text" placeholder="New issue on this frame…" value={title} onChange={(e) => setTitle(e.target.value)} maxLength={500} data-testid="issue-title" />
      {title && <textarea rows={2} placeholder="First comment (optional)" value={comment} onChange={(e) => setComment(e.target.value)} maxLength={5000} data-testid="issue-comment" />}
      <button type="submit" disabled={!title.trim()} data-testid="issue-open">
        Open issue
      </button>
    </form>
  );
}

function FrameFilterSection({ controller }: { controller: ReviewController }): ReactNode {
  const session = useSession();
  const stubs = useApp((s) => s.stubs);
  const frameIndex = useApp((s) => s.frameIndex);
  const summary = useStore(reviewStore, (s) => s.summary);
  const [filter, setFilter] = useState<FrameFilter>('flagged');
  // `summary` changes identity on every refresh: recompute then.
  const frames = useMemo(() => (summary.size ? controller.framesWhere(filterTest(filter)) : []), [controller, filter, summary]);
  const shown = frames.slice(0, 300);
  return (
    <section className="review-section">
      <h4>Find frames</h4>
      <div className="row-buttons">
        <select value={filter} onChange={(e) => setFilter(e.target.value as FrameFilter)} data-testid="review-filter">
          {(Object.keys(FILTER_LABELS) as FrameFilter[]).map((f) => (
            <option key={f} value={f}>
              {FILTER_LABELS[f]}
            </option>
          ))}
        </select>
        <button onMouseDown={noFocus} onClick={() => controller.stepFlagged(-1)} title="Previous frame that needs a look" aria-label="Previous flagged frame">
          ◀
        </button>
        <button onMouseDown={noFocus} onClick={() => controller.stepFlagged(1)} title="Next frame that needs a look" aria-label="Next flagged frame">
          ▶
        </button>
      </div>
      <div className="muted small">{frames.length} frames</div>
      <ul className="review-frames" data-testid="review-frames">
        {shown.map((index) => {
          const s = summary.get(stubs[index]!.id)!;
          return (
            <li key={index}>
              <button className={index === frameIndex ? 'active' : ''} onMouseDown={noFocus} onClick={() => session.seek(index)} data-frame-index={index}>
                <span className="swatch" style={{ background: STATUS_COLORS[s.status] }} />#{index + 1} · {formatDuration(stubs[index]!.timeS)} · {STATUS_LABELS[s.status]}
                {s.openIssues > 0 && <span className="issue-count"> · {s.openIssues} open</span>}
              </button>
            </li>
          );
        })}
        {frames.length > shown.length && <li className="muted small">… {frames.length - shown.length} more (use ◀ ▶)</li>}
      </ul>
    </section>
  );
}

function SignOffSection({ controller }: { controller: ReviewController }): ReactNode {
  const stubs = useApp((s) => s.stubs);
  const range = useApp((s) => s.range);
  const summary = useStore(reviewStore, (s) => s.summary);
  const signOffs = useStore(reviewStore, (s) => s.signOffs);
  const refusal = useStore(reviewStore, (s) => s.refusal);
  const busy = useStore(reviewStore, (s) => s.busy);
  const [stage, setStage] = useState<ReviewStage>('annotation');
  const [note, setNote] = useState('');
  const [whole, setWhole] = useState(false);
  if (!stubs.length) return null;
  const from = range && !whole ? range.start : 0;
  const to = range && !whole ? range.end : stubs.length - 1;
  let notDone = 0;
  for (let i = from; i <= to; i++) if ((summary.get(stubs[i]!.id)?.status ?? 'unreviewed') !== 'done') notDone++;
  const sign = async () => {
    const signed = await controller.signOff({ stage, fromIndex: from, toIndex: to, note });
    if (signed) setNote('');
  };
  const force = async () => {
    if (!refusal) return;
    if (!window.confirm(`Sign off ${refusal.request.stage} anyway?\n\n${refusal.message}\n\nThe override is recorded in the audit trail.`)) return;
    const signed = await controller.signOff(refusal.request, true);
    if (signed) setNote('');
  };
  return (
    <section className="review-section" data-testid="signoff">
      <h4>Stage sign-off</h4>
      <div className="row-buttons">
        <select value={stage} onChange={(e) => setStage(e.target.value as ReviewStage)} data-testid="signoff-stage">
          {REVIEW_STAGES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <span className="muted small" data-testid="signoff-range">
          frames {from + 1}–{to + 1} ({range && !whole ? 'timeline selection' : 'whole log'})
        </span>
      </div>
      {range && (
        <label className="check small">
          <input type="checkbox" checked={whole} onChange={(e) => setWhole(e.target.checked)} /> whole log instead of the selection
        </label>
      )}
      {!range && <div className="muted small">Shift-drag on the timeline to sign off a range.</div>}
      {notDone > 0 && (
        <div className="warning-text small" data-testid="signoff-not-done">
          {notDone} of {to - from + 1} frames in range are not marked done.
        </div>
      )}
      <input type="text" placeholder="Sign-off note (optional)" value={note} onChange={(e) => setNote(e.target.value)} maxLength={2000} data-testid="signoff-note" />
      <button onClick={() => void sign()} disabled={busy !== null} data-testid="signoff-submit">
        Sign off {stage}
      </button>
      {refusal && (
        <div className="signoff-refusal" role="alert" data-testid="signoff-refusal">
          <div>{refusal.message}</div>
          <div className="row-buttons">
            <button className="danger" onClick={() => void force()} data-testid="signoff-force">
              Sign off anyway…
            </button>
            <button onClick={() => controller.dismissRefusal()}>Dismiss</button>
          </div>
        </div>
      )}
      {signOffs.length > 0 && (
        <ul className="signoff-list" data-testid="signoff-list">
          {[...signOffs].reverse().map((s) => (
            <li key={s.id}>
              <strong>{s.stage}</strong> · {s.frameCount ?? '?'} frames · {s.signedBy} · {new Date(s.signedAt).toLocaleString()}
              {s.note && <div className="muted small">{s.note}</div>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
