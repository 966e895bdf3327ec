// Panels for frame review status, issues, sign-off, history and the audit log: one registerPanel call each.
import { registerPanel } from '../../app/panelRegistry.js';
import { registerTestHook } from '../../app/testHooks.js';
import { appStore } from '../../state/appState.js';
import { reviewStore } from '../../state/review.js';
import { AuditLogPanel } from './AuditLogPanel.js';
import { FrameReviewPanel } from './FrameReviewPanel.js';
import { HistoryPanel } from './HistoryPanel.js';
import { AUDIT_LOG_PANEL, hideAuditLogUntilShown, openAuditLog } from './layout.js';

export function registerAuditPanels(): void {
  registerPanel({ id: 'frame-review', title: 'Frame review', component: FrameReviewPanel, region: 'sidebar', order: 37 });
  registerPanel({ id: 'frame-history', title: 'Frame history', component: HistoryPanel, region: 'sidebar', order: 38 });
  registerPanel({ id: AUDIT_LOG_PANEL, title: 'Audit log', component: AuditLogPanel, region: 'main', defaultColumn: 8, order: 75 });
  hideAuditLogUntilShown();
  registerTestHooks();
}

function registerTestHooks(): void {
  registerTestHook('review', () => {
    const s = reviewStore.get();
    const stubs = appStore.get().stubs;
    return {
      setId: s.setId,
      labelSets: s.labelSets.map((l) => l.id),
      busy: s.busy,
      error: s.error,
      refusal: s.refusal?.message ?? null,
      frames: stubs.flatMap((stub, index) => {
        const f = s.summary.get(stub.id);
        return f && (f.status !== 'unreviewed' || f.openIssues || f.resolvedIssues) ? [{ index, frameId: stub.id, status: f.status, openIssues: f.openIssues, signedStages: f.signedStages }] : [];
      }),
      issues: s.issues.map((i) => ({ id: i.id, frameId: i.frameId, title: i.title, status: i.status, comments: i.comments.length })),
      signOffs: s.signOffs.map((o) => ({ id: o.id, stage: o.stage, fromFrameId: o.fromFrameId, toFrameId: o.toFrameId, auditSeq: o.auditSeq })),
      history: s.history && { frameId: s.history.frameId, ops: s.history.ops.map((o) => ({ opId: o.opId, author: o.author, events: o.events.length })), audit: s.history.audit.map((a) => a.action) },
      audit: { rows: s.audit.rows.length, firstSeq: s.audit.rows[0]?.seq ?? null, hasMore: s.audit.hasMore, error: s.audit.error },
      verification: s.verification && { ok: s.verification.chain.ok, events: s.verification.chain.events, brokenAt: s.verification.chain.brokenAt ?? null },
    };
  });
  registerTestHook('openAuditLog', openAuditLog);
}
