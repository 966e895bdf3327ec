// Frame history (sidebar): who changed what on the frame on screen: label operations with their
// events (before → after, reason; undo/redo ops are their own groups) and the frame's review and
// issue events, filterable by text; a button opens the global audit log.
import { useMemo, useState, type ReactNode } from 'react';
import { useApp } from '../../state/appState.js';
import { useStore } from '../../state/store.js';
import { reviewStore, type AuditEntry, type FrameHistory, type LabelEvent } from '../../state/review.js';
import { openAuditLog } from './layout.js';

type LabelValue = NonNullable<LabelEvent['after']>;

const fmt = (v: unknown): string => {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2);
  if (Array.isArray(v)) return `[${v.map(fmt).join(', ')}]`;
  if (typeof v === 'object') return Object.entries(v as Record<string, unknown>).filter(([k]) => k !== 'sensorId').map(([k, x]) => `${k} ${fmt(x)}`).join(' ');
  return String(v);
};

/** Fields an event changed, as "field: before → after". */
export function changedFields(before: LabelValue | null, after: LabelValue | null): string[] {
  if (!before || !after) return [];
  const keys: Array<keyof LabelValue> = ['class', 'box2d', 'box3d', 'trackId', 'score', 'attributes'];
  return keys.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k])).map((k) => `${k}: ${fmt(before[k])} → ${fmt(after[k])}`);
}

function eventLine(e: LabelEvent): string {
  const value = e.after ?? e.before;
  const what = `${e.kind} ${value?.class ?? 'detection'} ${e.labelId !== null ? `#${e.labelId}` : e.detectionId !== null ? `det #${e.detectionId}` : ''}`.trim();
  return `${what} (rev ${e.baseRevision}→${e.revision})${e.interpolated ? ' · interpolated' : ''}`;
}

/** Undo and redo ops write compensating events (meta.compensates names the event they invert). */
const opKind = (op: FrameHistory['ops'][number]): string =>
  op.events.some((e) => e.meta.compensates !== undefined) ? 'undo / redo' : op.events.every((e) => e.interpolated) ? 'interpolation' : 'edit';

function auditLine(a: AuditEntry): string {
  const p = (a.payload ?? {}) as Record<string, unknown>;
  switch (a.action) {
    case 'review.status':
      return `status ${String(p.previous ?? '?')} → ${String(p.status)}${p.note ? ` — ${String(p.note)}` : ''}`;
    case 'issue.open':
      return `opened issue #${a.entityId} '${String(p.title)}'`;
    case 'issue.comment':
      return `commented on issue #${a.entityId}: ${String(p.body)}`;
    case 'issue.resolve':
    case 'issue.reopen':
      return `${a.action === 'issue.resolve' ? 'resolved' : 'reopened'} issue #${a.entityId}${p.comment ? ` — ${String(p.comment)}` : ''}`;
    default:
      return `${a.action} ${a.entityType}:${a.entityId}`;
  }
}

export function HistoryPanel(): ReactNode {
  const history = useStore(reviewStore, (s) => s.history);
  const setId = useStore(reviewStore, (s) => s.setId);
  const frameIndex = useApp((s) => s.frameIndex);
  const [text, setText] = useState('');
  const items = useMemo(() => {
    if (!history) return [];
    const needle = text.trim().toLowerCase();
    const ops = history.ops.map((op) => ({
      key: `op${op.opId}`,
      at: op.at,
      author: op.author,
      title: `${opKind(op)} · op #${op.opId}${op.reason ? ` — ${op.reason}` : ''}`,
      lines: op.events.flatMap((e) => [eventLine(e), ...changedFields(e.before, e.after).map((c) => `  ${c}`)]),
    }));
    const audits = history.audit.map((a) => ({ key: `a${a.seq}`, at: a.at, author: a.actor, title: `${a.action} · #${a.seq}`, lines: [auditLine(a)] }));
    const all = [...ops, ...audits].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    return needle ? all.filter((i) => `${i.author} ${i.title} ${i.lines.join(' ')}`.toLowerCase().includes(needle)) : all;
  }, [history, text]);

  if (setId === null) return <div className="muted pad">Choose a label set in Frame review.</div>;
  return (
    <div className="frame-history" data-testid="frame-history">
      <div className="row-buttons">
        <input type="search" placeholder={`Filter frame ${frameIndex + 1}'s history`} value={text} onChange={(e) => setText(e.target.value)} data-testid="history-filter" />
        <button onClick={openAuditLog} title="Open the global audit log" data-testid="open-audit-log">
          Audit log
        </button>
      </div>
      {!items.length && <div className="muted small">{history ? 'Nothing recorded for this frame.' : 'Loading…'}</div>}
      <ol className="history-list" data-testid="history-list">
        {items.map((item) => (
          <li key={item.key}>
            <div className="history-head">
              <strong>{item.title}</strong>
              <span className="muted small">
                {item.author} · {new Date(item.at).toLocaleString()}
              </span>
            </div>
            {item.lines.map((line, i) => (
              <div key={i} className={line.startsWith('  ') ? 'history-change' : 'history-line'}>
                {line.trim()}
              </div>
            ))}
          </li>
        ))}
      </ol>
    </div>
  );
}
