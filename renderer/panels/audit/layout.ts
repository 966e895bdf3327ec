// The global audit log is a big main-area panel: hidden until asked for, so existing layouts keep
// their shape. A layout that never placed it gets it in its hidden list once; the user's choice
// (Panels ▾, or "Audit log" in Frame history) persists after that.
import { layoutStore, setLayout, type LayoutState } from '../../app/layoutState.js';

export const AUDIT_LOG_PANEL = 'audit-log';

const placed = (l: LayoutState, key: string): boolean =>
  l.hidden.includes(key) || l.sidebar.includes(key) || l.bottom.includes(key) || l.columns.some((c) => c.panels.includes(key));

export function hideAuditLogUntilShown(): void {
  const apply = () => {
    if (!placed(layoutStore.get().layout, AUDIT_LOG_PANEL)) setLayout((l) => ({ ...l, hidden: [...l.hidden, AUDIT_LOG_PANEL] }));
  };
  apply();
  // "Reset layout" starts from an empty default: hide it again there.
  let previous = layoutStore.get().layout;
  layoutStore.subscribe(() => {
    const next = layoutStore.get().layout;
    if (next === previous) return;
    previous = next;
    if (!next.hidden.length && !next.sidebar.length && !next.bottom.length && next.columns.every((c) => !c.panels.length)) apply();
  });
}

/** Shows the audit log (placed in its default column) and maximizes it. */
export function openAuditLog(): void {
  setLayout((l) => ({ ...l, hidden: l.hidden.filter((k) => k !== AUDIT_LOG_PANEL) }));
  layoutStore.set({ maximized: AUDIT_LOG_PANEL });
}
