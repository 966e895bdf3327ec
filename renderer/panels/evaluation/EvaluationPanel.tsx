// The Evaluation panel: evaluate a run against a ground-truth set (COCO, KITTI, nuScenes), read its
// metrics per class and slice, its PR curves and confusion matrix; click a PR point or a matrix cell
// to list the objects behind it (their frames marked on the timeline, a row seeks and selects);
// hard-case queries (saved, shown as timeline markers); run comparison; report export.
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { classColor } from '../../app/classColors.js';
import { useSession } from '../../app/sessionContext.js';
import { useApp } from '../../state/appState.js';
import {
  evaluationController, evaluationStore, type EvalRow, type EvaluationController, type EvaluationDetail, type Figures, type MetricDeltaJson, type MetricName, type RunComparison, type StoredObject,
} from '../../state/evaluation.js';
import { useStore } from '../../state/store.js';
import type { Chart } from './charts.js';

type Tab = 'metrics' | 'queries' | 'compare' | 'report';
const METRICS: MetricName[] = ['coco', 'kitti', 'nuscenes'];
const noFocus = (e: React.MouseEvent) => e.preventDefault();

/** Charts on screen, by name, for the test hooks (pixel positions of PR points and matrix cells). */
export const liveCharts = new Map<string, Chart>();

export const formatFigure = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(3));
const formatDelta = (v: number | null): string => (v === null ? '—' : `${v > 0 ? '+' : ''}${v.toFixed(3)}`);

/** The PR curve the per-object records explain (mirrors src/eval/store/service.ts recordCurveKey). */
export function recordCurveKey(detail: Pick<EvaluationDetail, 'metric' | 'params'>): string {
  const records = (detail.params.records ?? {}) as { iou?: number; variant?: string; difficulty?: string; distThreshold?: number };
  if (detail.metric === 'coco') return `iou=${(records.iou ?? 0.5).toFixed(2)}`;
  if (detail.metric === 'kitti') return `${records.variant ?? '2d'}/${records.difficulty ?? 'moderate'}`;
  return `dist=${records.distThreshold ?? 2}`;
}

function useEvaluation<U>(selector: (s: ReturnType<typeof evaluationStore.get>) => U): U {
  return useStore(evaluationStore, selector);
}

export function EvaluationPanel(): ReactNode {
  const session = useSession();
  const controller = useMemo(() => evaluationController(session), [session]);
  const log = useApp((s) => s.log);
  const appRuns = useApp((s) => s.runs);
  // Refreshed when a run appears or finishes, not on every progress tick.
  const runsKey = useMemo(() => appRuns.map((r) => `${r.runId}:${r.status}`).join(','), [appRuns]);
  const [tab, setTab] = useState<Tab>('metrics');
  useEffect(() => {
    void controller.refresh(log?.id ?? null);
  }, [controller, log?.id, runsKey]);
  if (!log) return <div className="muted pad">No log open.</div>;
  return (
    <div className="eval-panel" data-testid="evaluation-panel">
      <EvaluateBar controller={controller} logId={log.id} />
      <div className="eval-tabs" role="tablist">
        {(['metrics', 'queries', 'compare', 'report'] as Tab[]).map((t) => (
          <button key={t} role="tab" aria-selected={tab === t} className={tab === t ? 'active' : ''} onMouseDown={noFocus} onClick={() => setTab(t)} data-testid={`eval-tab-${t}`}>
            {t === 'metrics' ? 'Metrics' : t === 'queries' ? 'Hard cases' : t === 'compare' ? 'Compare runs' : 'Report'}
          </button>
        ))}
      </div>
      <div className="eval-body">
        {tab === 'metrics' && <MetricsView controller={controller} />}
        {tab === 'queries' && <QueriesView controller={controller} />}
        {tab === 'compare' && <CompareView controller={controller} />}
        {tab === 'report' && <ReportView controller={controller} />}
      </div>
    </div>
  );
}

function EvaluateBar({ controller, logId }: { controller: EvaluationController; logId: string }): ReactNode {
  const runs = useEvaluation((s) => s.runs);
  const sets = useEvaluation((s) => s.labelSets);
  const evaluations = useEvaluation((s) => s.evaluations);
  const current = useEvaluation((s) => s.current);
  const busy = useEvaluation((s) => s.busy);
  const error = useEvaluation((s) => s.error);
  const gtSets = useMemo(() => sets.filter((s) => s.kind !== 'predictions'), [sets]);
  const [runId, setRunId] = useState<number | null>(null);
  const [setId, setSetId] = useState<number | null>(null);
  const [metric, setMetric] = useState<MetricName>('coco');
  const run = runId ?? runs.find((r) => r.status === 'done')?.runId ?? runs[0]?.runId ?? null;
  const set = setId ?? gtSets[0]?.id ?? null;
  const elapsed = useElapsed(busy?.since ?? null);
  return (
    <div className="eval-bar">
      <label className="field">
        <span>Run</span>
        <select value={run ?? ''} onChange={(e) => setRunId(Number(e.target.value))} data-testid="eval-run">
          {runs.length === 0 && <option value="">No runs</option>}
          {runs.map((r) => (
            <option key={r.runId} value={r.runId}>
              #{r.runId} {r.name} ({r.status})
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Ground truth</span>
        <select value={set ?? ''} onChange={(e) => setSetId(Number(e.target.value))} data-testid="eval-set">
          {gtSets.length === 0 && <option value="">No label sets</option>}
          {gtSets.map((s) => (
            <option key={s.id} value={s.id}>
              #{s.id} {s.name} ({s.labelCount} labels)
            </option>
          ))}
        </select>
      </label>
      {gtSets.length === 0 && (
        <button onMouseDown={noFocus} onClick={() => void controller.importGroundTruth(logId)} disabled={!!busy} title="Import the log's own labels as a ground-truth set">
          Import log ground truth
        </button>
      )}
      <label className="field">
        <span>Metric</span>
        <select value={metric} onChange={(e) => setMetric(e.target.value as MetricName)} data-testid="eval-metric">
          {METRICS.map((m) => (
            <option key={m} value={m}>
              {m === 'coco' ? 'COCO (2D)' : m === 'kitti' ? 'KITTI (2D/BEV/3D)' : 'nuScenes (3D)'}
            </option>
          ))}
        </select>
      </label>
      <button className="primary" onMouseDown={noFocus} disabled={run === null || set === null || !!busy} onClick={() => run !== null && set !== null && void controller.evaluate(run, set, metric)} data-testid="eval-run-button">
        Evaluate
      </button>
      <label className="field eval-history">
        <span>Evaluations</span>
        <select value={current?.id ?? ''} onChange={(e) => e.target.value && void controller.open(Number(e.target.value))} data-testid="eval-history">
          <option value="">{evaluations.length ? 'Open a previous evaluation…' : 'None yet'}</option>
          {evaluations.map((e) => (
            <option key={e.id} value={e.id}>
              #{e.id} run {e.runId} vs set {e.labelSetId} · {e.metric.toUpperCase()} · {new Date(e.createdAt).toLocaleString()}
              {e.stale ? ' · stale' : ''}
            </option>
          ))}
        </select>
      </label>
      <button onMouseDown={noFocus} onClick={() => void controller.refresh(logId)} title="Reload runs, label sets, evaluations and saved queries (e.g. after a CLI import)" data-testid="eval-refresh">
        ↻
      </button>
      {busy && (
        <span className="eval-busy" role="progressbar" aria-label={busy.what} data-testid="eval-busy">
          <span className="spinner" /> {busy.what}… {elapsed.toFixed(0)} s
        </span>
      )}
      {error && (
        <span className="eval-error" role="alert" data-testid="eval-error">
          {error}
        </span>
      )}
    </div>
  );
}

function useElapsed(since: number | null): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (since === null) return;
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [since]);
  return since === null ? 0 : Math.max(0, (now - since) / 1000);
}

// ---- metrics -------------------------------------------------------------------------------------

function MetricsView({ controller }: { controller: EvaluationController }): ReactNode {
  const current = useEvaluation((s) => s.current);
  const filter = useEvaluation((s) => s.filter);
  const keys = useMemo(() => [...new Set((current?.prCurves ?? []).map((c) => c.key))], [current]);
  const recordKey = current ? recordCurveKey(current) : '';
  const [curveKey, setCurveKey] = useState<string | null>(null);
  const shownKey = curveKey && keys.includes(curveKey) ? curveKey : keys.includes(recordKey) ? recordKey : (keys[0] ?? '');
  if (!current) return <div className="muted pad">Pick a run, a ground-truth set and a metric, then Evaluate — or open a previous evaluation.</div>;
  const curves = current.prCurves.filter((c) => c.key === shownKey);
  return (
    <div className="eval-metrics" data-testid="eval-metrics" data-evaluation-id={current.id}>
      <div className="eval-summary">
        Evaluation #{current.id}: run {current.runId} against label set {current.labelSetId}, {current.metric.toUpperCase()} · {current.counts.frames} frames, {current.counts.gts} ground-truth boxes, {current.counts.dets} detections
        {current.stale && <span className="eval-stale"> · stale: the run or the labels changed since</span>}
      </div>
      {current.warnings.length > 0 && (
        <details className="eval-warnings">
          <summary>{current.warnings.length} warning(s)</summary>
          <ul>
            {current.warnings.slice(0, 50).map((w, i) => (
              <li key={i}>{w}</li>
            ))}
          </ul>
        </details>
      )}
      <FiguresTable title="Overall" rows={[{ name: 'all classes', numGt: current.counts.gts, numDet: current.counts.dets, figures: current.overall }]} testId="eval-overall" />
      <FiguresTable title="Per class" rows={current.perClass.map((c) => ({ name: c.label, numGt: c.numGt, numDet: c.numDet, figures: c.metrics }))} testId="eval-per-class" swatches />
      {current.slices.length > 0 && <FiguresTable title="Slices (distance bands, occlusion, …)" rows={current.slices.map((s) => ({ name: s.name, numGt: s.numGt, numDet: s.numDet, figures: s.overall }))} testId="eval-slices" />}
      <div className="eval-charts">
        <section className="eval-chart-box">
          <header>
            Precision–recall
            <select value={shownKey} onChange={(e) => setCurveKey(e.target.value)} data-testid="eval-curve-key">
              {keys.map((k) => (
                <option key={k} value={k}>
                  {k}
                  {k === recordKey ? ' (clickable)' : ''}
                </option>
              ))}
            </select>
          </header>
          {curves.length === 0 ? (
            <div className="muted pad">No curves (no ground truth of the evaluated classes).</div>
          ) : (
            <EChart
              name="pr"
              testId="eval-pr-chart"
              build={(m) => m.prOption(curves)}
              deps={[current.id, shownKey]}
              onClick={(p) => {
                if (shownKey !== recordKey) return;
                const data = p.data as [number, number, number];
                void controller.prPoint(p.seriesName ?? '', data[2]);
              }}
            />
          )}
          {shownKey !== recordKey && <div className="muted small">The per-object records are at {recordKey}: pick it to click points.</div>}
        </section>
        <section className="eval-chart-box">
          <header>Confusion matrix ({current.confusion.criterion}, incl. background)</header>
          {current.confusion.labels.length === 0 ? (
            <div className="muted pad">No confusion matrix.</div>
          ) : (
            <EChart
              name="confusion"
              testId="eval-confusion-chart"
              build={(m) => m.confusionOption(current.confusion)}
              deps={[current.id]}
              onClick={(p) => {
                const [col, row] = p.data as [number, number, number];
                void controller.cell(current.confusion.labels[row]!, current.confusion.labels[col]!);
              }}
            />
          )}
        </section>
      </div>
      {filter && (
        <section className="eval-filter" data-testid="eval-filter" data-kind={filter.kind}>
          <header>
            <span data-testid="eval-filter-title">{filter.title}</span>
            <span className="muted">
              {' '}
              · {filter.total} object{filter.total === 1 ? '' : 's'} on {filter.frames.length} frame{filter.frames.length === 1 ? '' : 's'} (marked on the timeline)
            </span>
            <button onMouseDown={noFocus} onClick={() => controller.clearFilter()}>
              Clear
            </button>
          </header>
          {filter.warnings.map((w, i) => (
            <div key={i} className="eval-warn">
              {w}
            </div>
          ))}
          <ObjectsTable rows={filter.rows} controller={controller} testId="eval-objects" />
        </section>
      )}
    </div>
  );
}

interface FigureRow {
  name: string;
  numGt: number;
  numDet: number;
  figures: Figures;
}

function FiguresTable({ title, rows, testId, swatches = false }: { title: string; rows: FigureRow[]; testId: string; swatches?: boolean }): ReactNode {
  const keys = useMemo(() => [...new Set(rows.flatMap((r) => Object.keys(r.figures)))], [rows]);
  return (
    <section className="eval-table-box">
      <h4>{title}</h4>
      <div className="eval-scroll-x">
        <table className="grid-table eval-table" data-testid={testId}>
          <thead>
            <tr>
              <th>name</th>
              <th className="right">GT</th>
              <th className="right">det</th>
              {keys.map((k) => (
                <th key={k} className="right" title={k}>
                  {k}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.name} data-row={r.name}>
                <td title={r.name}>
                  {swatches && <i className="swatch" style={{ background: classColor(r.name) }} />}
                  {r.name}
                </td>
                <td className="right mono">{r.numGt}</td>
                <td className="right mono">{r.numDet}</td>
                {keys.map((k) => (
                  <td key={k} className="right mono" data-key={k} data-value={r.figures[k] ?? ''}>
                    {formatFigure(r.figures[k])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function ObjectsTable({ rows, controller, testId }: { rows: Array<EvalRow | (StoredObject & { shownOutcome?: undefined })>; controller: EvaluationController; testId: string }): ReactNode {
  const selection = useApp((s) => s.selection);
  const [active, setActive] = useState<string | null>(null);
  const key = (o: StoredObject) => `${o.source}:${o.objectId}`;
  return (
    <div className="eval-scroll">
      <table className="grid-table eval-table eval-objects" data-testid={testId}>
        <thead>
          <tr>
            <th>outcome</th>
            <th>side</th>
            <th>class</th>
            <th className="right">score</th>
            <th className="right">IoU</th>
            <th className="right">dist (m)</th>
            <th className="right">frame</th>
            <th>id</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((o) => {
            const outcome = o.shownOutcome ?? o.outcome;
            return (
              <tr
                key={key(o)}
                className={active === key(o) && selection ? 'selected' : ''}
                data-source={o.source}
                data-object-id={o.objectId}
                data-outcome={outcome}
                onClick={() => {
                  setActive(key(o));
                  void controller.reveal(o);
                }}
              >
                <td>
                  <span className={`eval-outcome ${outcome}`}>{outcome.toUpperCase()}</span>
                </td>
                <td>{o.source === 'gt' ? 'GT' : 'det'}</td>
                <td>
                  <i className="swatch" style={{ background: classColor(o.label) }} />
                  {o.label}
                </td>
                <td className="right mono">{o.score === null ? '—' : o.score.toFixed(3)}</td>
                <td className="right mono">{o.iou === null ? '—' : o.iou.toFixed(2)}</td>
                <td className="right mono">{o.egoDistance === null ? '—' : o.egoDistance.toFixed(1)}</td>
                <td className="right mono">{o.frameIndex ?? '—'}</td>
                <td className="mono">{o.objectId}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {rows.length === 0 && <div className="muted pad">No objects.</div>}
    </div>
  );
}

// ---- charts ----------------------------------------------------------------------------------------

type ChartsModule = typeof import('./charts.js');
let chartsModule: Promise<ChartsModule> | null = null;
const loadCharts = (): Promise<ChartsModule> => (chartsModule ??= import('./charts.js'));

interface ChartClick {
  seriesName?: string;
  data: unknown;
}

function EChart(props: { name: string; testId: string; build: (m: ChartsModule) => ReturnType<ChartsModule['prOption']>; deps: unknown[]; onClick(p: ChartClick): void }): ReactNode {
  const ref = useRef<HTMLDivElement>(null);
  const chart = useRef<Chart | null>(null);
  const onClick = useRef(props.onClick);
  onClick.current = props.onClick;
  const build = useRef(props.build);
  build.current = props.build;
  const [ready, setReady] = useState(false);
  useEffect(() => {
    let disposed = false;
    let observer: ResizeObserver | null = null;
    void loadCharts().then((m) => {
      if (disposed || !ref.current) return;
      const c = m.createChart(ref.current);
      chart.current = c;
      liveCharts.set(props.name, c);
      c.on('click', (p) => onClick.current(p as unknown as ChartClick));
      observer = new ResizeObserver(() => c.resize());
      observer.observe(ref.current);
      setReady(true);
    });
    return () => {
      disposed = true;
      observer?.disconnect();
      if (chart.current && liveCharts.get(props.name) === chart.current) liveCharts.delete(props.name);
      chart.current?.dispose();
      chart.current = null;
    };
  }, [props.name]);
  useEffect(() => {
    if (!ready || !chart.current) return;
    void loadCharts().then((m) => chart.current?.setOption(build.current(m), { notMerge: true }));
  }, [ready, ...props.deps]);
  return <div className="eval-chart" ref={ref} data-testid={props.testId} data-ready={ready ? 'true' : 'false'} />;
}

// ---- hard-case queries ---------------------------------------------------------------------------

const QUERY_EXAMPLES = ['FN pedestrian within 30 m', 'FP car score>0.8', 'TP * iou<0.6', 'FN * occlusion>=2', 'ignored reason=dontcare'];

function QueriesView({ controller }: { controller: EvaluationController }): ReactNode {
  const current = useEvaluation((s) => s.current);
  const query = useEvaluation((s) => s.query);
  const saved = useEvaluation((s) => s.queries);
  const [text, setText] = useState(query?.text ?? 'FN pedestrian within 30 m');
  const [name, setName] = useState('');
  if (!current) return <div className="muted pad">Evaluate a run (or open an evaluation) first: queries run over its per-object records.</div>;
  return (
    <div className="eval-queries" data-testid="eval-queries">
      <div className="eval-query-row">
        <input
          className="eval-query-input"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            e.stopPropagation();
            if (e.key === 'Enter') void controller.runQuery(text);
          }}
          spellCheck={false}
          placeholder="e.g. FN pedestrian within 30 m"
          data-testid="eval-query-input"
        />
        <button className="primary" onMouseDown={noFocus} onClick={() => void controller.runQuery(text)} data-testid="eval-query-run">
          Run
        </button>
        <input className="eval-query-name" value={name} onChange={(e) => setName(e.target.value)} onKeyDown={(e) => e.stopPropagation()} placeholder="name to save as" data-testid="eval-query-name" />
        <button onMouseDown={noFocus} disabled={!name.trim() || !text.trim()} onClick={() => void controller.saveQuery(name.trim(), text)} data-testid="eval-query-save">
          Save
        </button>
        {query && (
          <button onMouseDown={noFocus} onClick={() => controller.clearQuery()}>
            Clear
          </button>
        )}
      </div>
      <details className="eval-syntax">
        <summary>Syntax</summary>
        <p>
          Terms, all of which must hold: outcome words <code>tp fp fn ignored</code>; class names (<code>car</code>, <code>car|van</code>, <code>*</code>); conditions <code>field op value</code> with op{' '}
          <code>&lt; &lt;= &gt; &gt;= = !=</code> over <code>score distance iou centerdist occlusion truncation height width area id matched frame frameindex class source band difficulty reason</code>; <code>within N m</code>,{' '}
          <code>beyond N m</code>. Examples:{' '}
          {QUERY_EXAMPLES.map((q) => (
            <button key={q} className="link" onClick={() => setText(q)}>
              {q}
            </button>
          ))}
        </p>
      </details>
      {query?.error && (
        <div className="eval-error" role="alert" data-testid="eval-query-error">
          {query.error}
        </div>
      )}
      <div className="eval-query-columns">
        <section className="eval-saved">
          <h4>Saved queries</h4>
          {saved.length === 0 && <div className="muted">None saved yet.</div>}
          <ul data-testid="eval-saved-queries">
            {saved.map((q) => (
              <li key={q.id}>
                <button
                  className={`link${query?.name === q.name ? ' active' : ''}`}
                  onClick={() => {
                    setText(q.text);
                    void controller.runQuery(q.text, q.name);
                  }}
                  title={`${q.text} — saved by ${q.createdBy}`}
                  data-query-name={q.name}
                >
                  {q.name}
                </button>
                <span className="muted mono"> {q.text}</span>
              </li>
            ))}
          </ul>
        </section>
        <section className="eval-query-results">
          {query?.result && (
            <>
              <h4 data-testid="eval-query-summary" data-total={query.result.total}>
                {query.name ? `${query.name}: ` : ''}
                {query.result.query} — {query.result.total} object{query.result.total === 1 ? '' : 's'} on {query.result.frames.length} frame{query.result.frames.length === 1 ? '' : 's'}
              </h4>
              <ObjectsTable rows={query.result.items} controller={controller} testId="eval-query-objects" />
            </>
          )}
        </section>
      </div>
    </div>
  );
}

// ---- run comparison ------------------------------------------------------------------------------

function CompareView({ controller }: { controller: EvaluationController }): ReactNode {
  const runs = useEvaluation((s) => s.runs);
  const sets = useEvaluation((s) => s.labelSets);
  const current = useEvaluation((s) => s.current);
  const comparison = useEvaluation((s) => s.comparison);
  const busy = useEvaluation((s) => s.busy);
  const gtSets = useMemo(() => sets.filter((s) => s.kind !== 'predictions'), [sets]);
  const [a, setA] = useState<number | null>(null);
  const [b, setB] = useState<number | null>(null);
  const [setId, setSetId] = useState<number | null>(null);
  const [metric, setMetric] = useState<MetricName | null>(null);
  const runA = a ?? runs[1]?.runId ?? null;
  const runB = b ?? current?.runId ?? runs[0]?.runId ?? null;
  const set = setId ?? current?.labelSetId ?? gtSets[0]?.id ?? null;
  const m = metric ?? current?.metric ?? 'coco';
  return (
    <div className="eval-compare" data-testid="eval-compare">
      <div className="eval-bar">
        {(['A', 'B'] as const).map((side) => (
          <label className="field" key={side}>
            <span>Run {side}</span>
            <select value={(side === 'A' ? runA : runB) ?? ''} onChange={(e) => (side === 'A' ? setA : setB)(Number(e.target.value))} data-testid={`eval-compare-${side.toLowerCase()}`}>
              {runs.map((r) => (
                <option key={r.runId} value={r.runId}>
                  #{r.runId} {r.name}
                </option>
              ))}
            </select>
          </label>
        ))}
        <label className="field">
          <span>Ground truth</span>
          <select value={set ?? ''} onChange={(e) => setSetId(Number(e.target.value))} data-testid="eval-compare-set">
            {gtSets.map((s) => (
              <option key={s.id} value={s.id}>
                #{s.id} {s.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Metric</span>
          <select value={m} onChange={(e) => setMetric(e.target.value as MetricName)} data-testid="eval-compare-metric">
            {METRICS.map((x) => (
              <option key={x} value={x}>
                {x.toUpperCase()}
              </option>
            ))}
          </select>
        </label>
        <button className="primary" onMouseDown={noFocus} disabled={runA === null || runB === null || runA === runB || set === null || !!busy} onClick={() => void controller.compare(runA!, runB!, set!, m)} data-testid="eval-compare-run">
          Compare B with A
        </button>
      </div>
      {comparison && <ComparisonView comparison={comparison} controller={controller} />}
    </div>
  );
}

function DeltaCells({ deltas, keys }: { deltas: MetricDeltaJson[]; keys: string[] }): ReactNode {
  const byKey = new Map(deltas.map((d) => [d.key, d]));
  return keys.map((k) => {
    const d = byKey.get(k);
    const v = d?.delta ?? null;
    return (
      <td key={k} className={`right mono ${v === null || v === 0 ? '' : v > 0 ? 'eval-pos' : 'eval-neg'}`} data-key={k} data-value={v ?? ''} title={d ? `A ${formatFigure(d.a)} → B ${formatFigure(d.b)}` : ''}>
        {formatDelta(v)}
      </td>
    );
  });
}

function ComparisonView({ comparison, controller }: { comparison: RunComparison; controller: EvaluationController }): ReactNode {
  const keys = useMemo(() => comparison.overall.map((d) => d.key), [comparison]);
  const a = comparison.evaluationA;
  const b = comparison.evaluationB;
  return (
    <div className="eval-comparison" data-testid="eval-comparison">
      <div className="eval-summary">
        Run {b.runId} (B) against run {a.runId} (A), {comparison.metric.toUpperCase()} on {b.counts.frames} frames: deltas are B − A. {comparison.regressed.length} regressed (TP → FN), {comparison.improved.length} improved.
      </div>
      {comparison.warnings.map((w, i) => (
        <div key={i} className="eval-warn">
          {w}
        </div>
      ))}
      <div className="eval-scroll-x">
        <table className="grid-table eval-table" data-testid="eval-compare-deltas">
          <thead>
            <tr>
              <th>scope</th>
              {keys.map((k) => (
                <th key={k} className="right">
                  Δ {k}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            <tr data-row="overall">
              <td>overall</td>
              <DeltaCells deltas={comparison.overall} keys={keys} />
            </tr>
            {comparison.perClass.map((c) => (
              <tr key={`class:${c.label}`} data-row={`class:${c.label}`}>
                <td>
                  <i className="swatch" style={{ background: classColor(c.label) }} />
                  {c.label}
                </td>
                <DeltaCells deltas={c.deltas} keys={keys} />
              </tr>
            ))}
            {comparison.slices.map((s) => (
              <tr key={`slice:${s.name}`} data-row={`slice:${s.name}`}>
                <td>slice {s.name}</td>
                <DeltaCells deltas={s.overall} keys={keys} />
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="eval-compare-lists">
        <section>
          <h4>Frames by regression</h4>
          <div className="eval-scroll">
            <table className="grid-table eval-table" data-testid="eval-compare-frames">
              <thead>
                <tr>
                  <th className="right">frame</th>
                  <th className="right">regressed</th>
                  <th className="right">improved</th>
                  <th className="right">FP A→B</th>
                  <th className="right">size</th>
                </tr>
              </thead>
              <tbody>
                {comparison.frames.map((f) => (
                  <tr key={f.frameId} data-frame-id={f.frameId} onClick={() => controller.seekFrame(f.frameId, f.frameIndex)}>
                    <td className="right mono">{f.frameIndex ?? f.frameId}</td>
                    <td className="right mono">{f.regressed}</td>
                    <td className="right mono">{f.improved}</td>
                    <td className="right mono">
                      {f.fpA}→{f.fpB}
                    </td>
                    <td className="right mono">{f.regressionSize.toFixed(2)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
        {(['regressed', 'improved'] as const).map((kind) => (
          <section key={kind}>
            <h4>{kind === 'regressed' ? 'Regressed objects (TP in A, FN in B)' : 'Improved objects (FN in A, TP in B)'}</h4>
            <div className="eval-scroll">
              <table className="grid-table eval-table" data-testid={`eval-compare-${kind}`}>
                <thead>
                  <tr>
                    <th>class</th>
                    <th>change</th>
                    <th>band</th>
                    <th className="right">GT id</th>
                  </tr>
                </thead>
                <tbody>
                  {comparison[kind].map((o) => (
                    <tr key={`${o.frameId}:${o.objectId}`} data-object-id={o.objectId} onClick={() => void controller.revealChange(o)}>
                      <td>
                        <i className="swatch" style={{ background: classColor(o.label) }} />
                        {o.label}
                      </td>
                      <td>
                        {o.from.toUpperCase()} → {o.to.toUpperCase()}
                      </td>
                      <td>{o.distanceBand ?? '—'}</td>
                      <td className="right mono">{o.objectId}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        ))}
      </div>
    </div>
  );
}

// ---- report export -------------------------------------------------------------------------------

function ReportView({ controller }: { controller: EvaluationController }): ReactNode {
  const current = useEvaluation((s) => s.current);
  const comparison = useEvaluation((s) => s.comparison);
  const lastExport = useEvaluation((s) => s.lastExport);
  const busy = useEvaluation((s) => s.busy);
  const [reviewer, setReviewer] = useState('');
  const [format, setFormat] = useState<'html' | 'pdf'>('html');
  const [withComparison, setWithComparison] = useState(true);
  if (!current) return <div className="muted pad">Evaluate a run (or open an evaluation) first: the report shows it.</div>;
  // The comparison applies when it is of this run (as B) on the same ground truth.
  const compareRun = comparison && comparison.evaluationB.runId === current.runId && comparison.labelSetId === current.labelSetId ? comparison.evaluationA.runId : null;
  return (
    <div className="eval-report" data-testid="eval-report">
      <p className="muted">
        The audit report of evaluation #{current.id} (run {current.runId}): metrics, PR curves, confusion matrix, safety-critical misses, provenance and the sign-off, as self-contained HTML or a PDF.
        Each export is recorded in the audit trail with the file’s sha256.
      </p>
      <div className="eval-bar">
        <label className="field">
          <span>Reviewer (sign-off)</span>
          <input value={reviewer} onChange={(e) => setReviewer(e.target.value)} onKeyDown={(e) => e.stopPropagation()} placeholder="your name" data-testid="eval-report-reviewer" />
        </label>
        <label className="field">
          <span>Format</span>
          <select value={format} onChange={(e) => setFormat(e.target.value as 'html' | 'pdf')} data-testid="eval-report-format">
            <option value="html">HTML</option>
            <option value="pdf">PDF</option>
          </select>
        </label>
        {compareRun !== null && (
          <label className="check">
            <input type="checkbox" checked={withComparison} onChange={(e) => setWithComparison(e.target.checked)} /> include the comparison with run {compareRun}
          </label>
        )}
        <button className="primary" onMouseDown={noFocus} disabled={!!busy} onClick={() => void controller.exportReport(format, reviewer, withComparison ? compareRun : null)} data-testid="eval-report-export">
          Export report
        </button>
      </div>
      {lastExport && (
        <div className="eval-export" data-testid="eval-export-result" data-path={lastExport.path} data-sha256={lastExport.sha256}>
          <div>
            Wrote {lastExport.format.toUpperCase()} ({(lastExport.bytes / 1024).toFixed(0)} KB{lastExport.pages !== null ? `, ${lastExport.pages} pages` : ''}) to <code>{lastExport.path}</code>
            {lastExport.downloaded && <> · downloaded as <code>{lastExport.downloaded}</code></>}
          </div>
          <div className="muted">
            sha256 <code>{lastExport.sha256}</code> · audit event {lastExport.auditSeq} <code>{lastExport.auditHash.slice(0, 16)}…</code>
          </div>
          {lastExport.warnings.map((w, i) => (
            <div key={i} className="eval-warn">
              {w}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
