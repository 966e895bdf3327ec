// The global audit log (main area, hidden until opened): every event that changed data, newest first,
// filtered by author, action, entity, time range and text on the server, paged 200 at a time and
// drawn as a windowed list; a row's payload and hashes on click; "Verify chain" recomputes the hash
// chain (and every label set's replay) and names the first event that breaks it.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { useSession } from '../../app/sessionContext.js';
import { useStore } from '../../state/store.js';
import { EMPTY_AUDIT_FILTER, reviewStore, type AuditEntry, type AuditLogFilter } from '../../state/review.js';
import { useReviewController } from './controller.js';

const ROW_HEIGHT = 24;
const OVERSCAN = 10;

function summary(payload: unknown): string {
  const text = JSON.stringify(payload) ?? '';
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
}

export function AuditLogPanel(): ReactNode {
  const controller = useReviewController();
  const session = useSession();
  const audit = useStore(reviewStore, (s) => s.audit);
  const verification = useStore(reviewStore, (s) => s.verification);
  const busy = useStore(reviewStore, (s) => s.busy);
  const [draft, setDraft] = useState<AuditLogFilter>(audit.filter);
  const [selected, setSelected] = useState<AuditEntry | null>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(400);
  const listRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    void controller.loadAudit(false);
  }, [controller]);

  useEffect(() => {
    const el = listRef.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setHeight(el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const apply = (e?: React.FormEvent) => {
    e?.preventDefault();
    setScrollTop(0);
    listRef.current?.scrollTo({ top: 0 });
    void controller.setAuditFilter(draft);
  };
  const field = (key: keyof AuditLogFilter, placeholder: string, type = 'text') => (
    <input type={type} placeholder={placeholder} title={placeholder} value={draft[key]} onChange={(e) => setDraft({ ...draft, [key]: e.target.value })} data-testid={`audit-filter-${key}`} />
  );
  const showEvent = async (seq: number) => {
    // As stored now (a tampered row differs from what the list loaded earlier).
    const found = (await session.api.listAuditEvents({ afterSeq: seq - 1, beforeSeq: seq + 1, limit: 1 }))[0];
    if (found) setSelected(found);
    const index = audit.rows.findIndex((r) => r.seq === seq);
    if (index >= 0) listRef.current?.scrollTo({ top: Math.max(0, index * ROW_HEIGHT - height / 2) });
  };

  const rows = audit.rows;
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
  const brokenSeq = verification?.chain.brokenAt?.seq;
  const onScroll = (e: React.UIEvent<HTMLDivElement>) => {
    const el = e.currentTarget;
    setScrollTop(el.scrollTop);
    // Near the end of what is loaded: fetch the next older page.
    if (audit.hasMore && !audit.loading && el.scrollTop + el.clientHeight > el.scrollHeight - 10 * ROW_HEIGHT) void controller.loadAudit(true);
  };

  return (
    <div className="audit-log" data-testid="audit-log">
      <form className="audit-filters" onSubmit={apply}>
        {field('actor', 'Author')}
        {field('action', "Action (or prefix: 'issue.')")}
        {field('entityType', 'Entity type (label, frame, issue, run…)')}
        {field('entityId', 'Entity id')}
        {field('since', 'From', 'datetime-local')}
        {field('until', 'To', 'datetime-local')}
        {field('text', 'Text in the event')}
        <button type="submit" data-testid="audit-apply">
          Filter
        </button>
        <button
          type="button"
          onClick={() => {
            setDraft(EMPTY_AUDIT_FILTER);
            void controller.setAuditFilter(EMPTY_AUDIT_FILTER);
          }}
        >
          Clear
        </button>
        <button type="button" className="verify" onClick={() => void controller.verify()} disabled={busy === 'Verifying'} data-testid="audit-verify">
          Verify chain
        </button>
      </form>
      {verification && (
        <div className={`audit-verdict ${verification.chain.ok ? 'ok' : 'broken'}`} role="status" data-testid="audit-verdict">
          {verification.chain.ok ? (
            <>
              Chain intact: {verification.chain.events} events, head <code>{verification.chain.headHash.slice(0, 16)}…</code>
            </>
          ) : (
            <>
              Chain BROKEN at event <button className="link" onClick={() => void showEvent(brokenSeq!)} data-testid="audit-broken-seq">#{brokenSeq}</button>: {verification.chain.brokenAt!.reason}. The{' '}
              {verification.chain.events - 1} events before it verify; this event and everything after it cannot be trusted.
            </>
          )}
          {verification.labelSets.filter((s) => !s.ok).map((s) => (
            <div key={s.labelSetId}>Label set {s.labelSetId}: its labels differ from the replay of its events or from their audit records.</div>
          ))}
          <span className="muted small"> · checked {new Date(verification.at).toLocaleTimeString()}</span>
        </div>
      )}
      <div className="audit-body">
        <div className="audit-list" ref={listRef} onScroll={onScroll} data-testid="audit-list" data-rows={rows.length}>
          <div style={{ height: rows.length * ROW_HEIGHT, position: 'relative' }}>
            {rows.slice(first, last).map((r, i) => (
              <button
                key={r.seq}
                className={`audit-row${selected?.seq === r.seq ? ' selected' : ''}${r.seq === brokenSeq ? ' broken' : ''}`}
                style={{ top: (first + i) * ROW_HEIGHT, height: ROW_HEIGHT }}
                onClick={() => setSelected(r)}
                data-seq={r.seq}
              >
                <span className="seq">#{r.seq}</span>
                <span className="at">{new Date(r.at).toLocaleString()}</span>
                <span className="actor">{r.actor}</span>
                <span className="action">{r.action}</span>
                <span className="entity">
                  {r.entityType}:{r.entityId}
                </span>
                <span className="payload">{summary(r.payload)}</span>
              </button>
            ))}
          </div>
          {!rows.length && !audit.loading && <div className="muted pad">No events match.</div>}
        </div>
        {selected && (
          <div className="audit-detail" data-testid="audit-detail">
            <div className="row-buttons">
              <strong>
                #{selected.seq} {selected.action}
              </strong>
              <button className="icon-button" onClick={() => setSelected(null)} aria-label="Close details">
                ×
              </button>
            </div>
            <div className="small">
              {selected.entityType}:{selected.entityId} · {selected.actor} · {new Date(selected.at).toLocaleString()}
            </div>
            <pre>{JSON.stringify(selected.payload, null, 2)}</pre>
            <div className="small">
              prev <code>{selected.prevHash}</code>
            </div>
            <div className="small">
              hash <code>{selected.hash}</code>
            </div>
          </div>
        )}
      </div>
      <div className="audit-footer muted small">
        {rows.length} events{audit.hasMore ? ' loaded (scroll for older)' : ''}
        {audit.loading && ' · loading…'}
        {audit.error && <span className="error-text"> · {audit.error}</span>}
      </div>
    </div>
  );
}
