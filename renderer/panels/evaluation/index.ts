// Panels for evaluation, hard-case queries, run comparison and report export: one registerPanel call each.
import { registerPanel } from '../../app/panelRegistry.js';
import { layoutStore, setLayout } from '../../app/layoutState.js';
import { registerTestHook } from '../../app/testHooks.js';
import { evaluationStore } from '../../state/evaluation.js';
import { EvaluationPanel, liveCharts } from './EvaluationPanel.js';

export const EVALUATION_PANEL = 'evaluation';

/**
 * The Evaluation panel is big, so it starts hidden (Panels ▾ › Evaluation shows it in a column right
 * of the 3D view; double-click its header to maximize): a layout that never placed it gets it in its
 * hidden list once, after which the user's choice persists.
 */
function hideUntilShown(): void {
  const placed = (l: ReturnType<typeof layoutStore.get>['layout']) =>
    l.hidden.includes(EVALUATION_PANEL) || l.sidebar.includes(EVALUATION_PANEL) || l.bottom.includes(EVALUATION_PANEL) || l.columns.some((c) => c.panels.includes(EVALUATION_PANEL));
  const apply = () => {
    if (!placed(layoutStore.get().layout)) setLayout((l) => ({ ...l, hidden: [...l.hidden, EVALUATION_PANEL] }));
  };
  apply();
  // "Reset layout" starts from an empty default: hide it again there (show() places it, so it is not re-hidden).
  let previous = layoutStore.get().layout;
  layoutStore.subscribe(() => {
    const next = layoutStore.get().layout;
    if (next === previous) return;
    previous = next;
    if (!next.hidden.length && !next.sidebar.length && !next.bottom.length && next.columns.every((c) => !c.panels.length)) apply();
  });
}

export function registerEvaluationPanels(): void {
  registerPanel({ id: EVALUATION_PANEL, title: 'Evaluation', component: EvaluationPanel, region: 'main', defaultColumn: 8, order: 70 });
  hideUntilShown();
  registerTestHooks();
}

function registerTestHooks(): void {
  registerTestHook('evaluation', () => {
    const s = evaluationStore.get();
    return {
      evaluationId: s.current?.id ?? null,
      busy: s.busy?.what ?? null,
      error: s.error,
      runs: s.runs.map((r) => r.runId),
      labelSets: s.labelSets.map((l) => l.id),
      evaluations: s.evaluations.map((e) => e.id),
      filter: s.filter && {
        kind: s.filter.kind,
        title: s.filter.title,
        key: s.filter.key,
        total: s.filter.total,
        counts: s.filter.counts ?? null,
        rows: s.filter.rows.map((r) => ({ source: r.source, objectId: r.objectId, outcome: r.outcome, shownOutcome: r.shownOutcome, frameId: r.frameId })),
        frames: s.filter.frames,
      },
      query: s.query && { text: s.query.text, name: s.query.name, error: s.query.error, total: s.query.result?.total ?? null, frames: s.query.result?.frames ?? [] },
      savedQueries: s.queries.map((q) => ({ id: q.id, name: q.name, text: q.text })),
      comparison: s.comparison && {
        regressed: s.comparison.regressed.map((o) => ({ frameId: o.frameId, objectId: o.objectId, label: o.label })),
        improved: s.comparison.improved.map((o) => ({ frameId: o.frameId, objectId: o.objectId, label: o.label })),
        frames: s.comparison.frames.map((f) => ({ frameId: f.frameId, regressed: f.regressed, regressionSize: f.regressionSize })),
      },
      lastExport: s.lastExport && { path: s.lastExport.path, sha256: s.lastExport.sha256, auditSeq: s.lastExport.auditSeq, downloaded: s.lastExport.downloaded, format: s.lastExport.format },
    };
  });
  /**
   * Page coordinates of a chart element: 'pr' with [label, point index] (the point of that class's
   * curve), 'confusion' with [predicted, truth]. Null when the chart or the element is not shown.
   */
  registerTestHook('evaluationChartPoint', ((chart: 'pr' | 'confusion', a: string, b: string | number) => {
    const c = liveCharts.get(chart);
    const s = evaluationStore.get();
    if (!c || !s.current) return null;
    c.getDom().scrollIntoView({ block: 'center' });
    const rect = c.getDom().getBoundingClientRect();
    let at: number[] | undefined;
    if (chart === 'pr') {
      const option = c.getOption() as { series?: Array<{ name?: string; data?: number[][] }> };
      const seriesIndex = option.series?.findIndex((x) => x.name === a) ?? -1;
      const point = seriesIndex >= 0 ? option.series![seriesIndex]!.data?.[Number(b)] : undefined;
      if (!point) return null;
      at = c.convertToPixel({ seriesIndex }, [point[0]!, point[1]!]) as number[];
      return { x: rect.left + at[0]!, y: rect.top + at[1]!, recall: point[0], precision: point[1], score: point[2] };
    }
    const labels = s.current.confusion.labels;
    const row = labels.indexOf(a);
    const col = labels.indexOf(String(b));
    if (row < 0 || col < 0) return null;
    at = c.convertToPixel({ seriesIndex: 0 }, [col, row]) as number[];
    return { x: rect.left + at[0]!, y: rect.top + at[1]!, count: s.current.confusion.counts[row * labels.length + col] };
  }) as (...args: never[]) => unknown);
}
