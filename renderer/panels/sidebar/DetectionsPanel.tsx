// The frame's labels and detections in one table: click a row to select that box in every panel;
// sort by score or by distance from the ego. Rows obey the class filter and the score threshold.
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { classColor } from '../../app/classColors.js';
import { useSession } from '../../app/sessionContext.js';
import { classVisible, updateReview, useApp } from '../../state/appState.js';
import { passesFilter } from '../../state/detections.js';
import { runLabel } from '../../state/runLabel.js';

interface Row {
  id: string;
  kind: 'box2d' | 'box3d';
  trackId?: string;
  label: string;
  source: string;
  color: string | null;
  score: number | null;
  distance: number | null;
  sensor: string;
}

export function DetectionsPanel(): ReactNode {
  const session = useSession();
  const frame = useApp((s) => s.frame);
  const detections = useApp((s) => s.detections);
  const review = useApp((s) => s.review);
  const runs = useApp((s) => s.runs);
  const runStyles = useApp((s) => s.runStyles);
  const selection = useApp((s) => s.selection);
  const [showGt, setShowGt] = useState(true);
  const tableRef = useRef<HTMLTableSectionElement>(null);
  const data = frame?.data;
  const frameRuns = detections && data && detections.frameIndex === data.index ? detections.runs : null;

  const rows = useMemo(() => {
    const out: Row[] = [];
    if (!data) return out;
    if (showGt) {
      const with3d = new Set<string>();
      for (const b of data.labels3d) {
        if (!classVisible(review, b.label)) continue;
        with3d.add(b.id);
        out.push({ id: b.id, kind: 'box3d', trackId: b.trackId, label: b.label, source: 'GT', color: null, score: b.score ?? null, distance: Math.hypot(b.center[0], b.center[1]), sensor: '3D' });
      }
      for (const b of data.labels2d) {
        if (b.ignore || with3d.has(b.id) || !classVisible(review, b.label)) continue;
        out.push({ id: b.id, kind: 'box2d', trackId: b.trackId, label: b.label, source: 'GT', color: null, score: b.score ?? null, distance: null, sensor: b.sensorId });
      }
    }
    for (const r of frameRuns ?? []) {
      const run = runs.find((x) => x.runId === r.runId);
      const source = run ? runLabel(run) : `run ${r.runId}`;
      const color = runStyles[r.runId]?.color ?? null;
      const with3d = new Map(r.boxes3d.map((b) => [b.id, b]));
      for (const b of r.boxes2d) {
        if (!passesFilter(review, b)) continue;
        const b3 = with3d.get(b.id);
        with3d.delete(b.id);
        out.push({ id: b.id, kind: 'box2d', trackId: b.trackId, label: b.label, source, color, score: b.score, distance: b3 ? Math.hypot(b3.center[0], b3.center[1]) : null, sensor: b.sensorId });
      }
      for (const b of with3d.values()) {
        if (!passesFilter(review, b)) continue;
        out.push({ id: b.id, kind: 'box3d', trackId: b.trackId, label: b.label, source, color, score: b.score, distance: Math.hypot(b.center[0], b.center[1]), sensor: b.sensorId });
      }
    }
    const byScore = (a: Row, b: Row) => (b.score ?? 2) - (a.score ?? 2); // ground truth (no score) first
    const byDistance = (a: Row, b: Row) => (a.distance ?? Infinity) - (b.distance ?? Infinity);
    return out.sort(review.sortBy === 'distance' ? (a, b) => byDistance(a, b) || byScore(a, b) : (a, b) => byScore(a, b) || byDistance(a, b));
  }, [data, frameRuns, review, runs, runStyles, showGt]);

  const isSelected = (row: Row) => !!selection && (selection.id === row.id || (!!selection.trackId && selection.trackId === row.trackId));

  // A selection made in another panel scrolls its row into view.
  useEffect(() => {
    tableRef.current?.querySelector('tr.selected')?.scrollIntoView({ block: 'nearest' });
  }, [selection]);

  if (!data) return <div className="muted pad">No frame loaded.</div>;
  return (
    <div className="detections-panel">
      <div className="table-tools">
        <label className="check">
          <input type="checkbox" checked={showGt} onChange={(e) => setShowGt(e.target.checked)} /> Ground truth
        </label>
        <span className="muted">{rows.length} rows</span>
      </div>
      <div className="table-scroll">
        <table className="grid-table detections-table" data-testid="detections-table">
          <thead>
            <tr>
              <th>Class</th>
              <th>Source</th>
              <th className={`right sortable${review.sortBy === 'score' ? ' sorted' : ''}`} onClick={() => updateReview({ sortBy: 'score' })} data-testid="sort-score" title="Sort by score">
                Score{review.sortBy === 'score' ? ' ▾' : ''}
              </th>
              <th className={`right sortable${review.sortBy === 'distance' ? ' sorted' : ''}`} onClick={() => updateReview({ sortBy: 'distance' })} data-testid="sort-distance" title="Sort by distance">
                Dist{review.sortBy === 'distance' ? ' ▴' : ''}
              </th>
            </tr>
          </thead>
          <tbody ref={tableRef}>
            {rows.map((row) => (
              <tr
                key={`${row.kind}:${row.id}`}
                className={isSelected(row) ? 'selected' : undefined}
                onClick={() => session.select(isSelected(row) ? null : { kind: row.kind, id: row.id, trackId: row.trackId })}
                data-testid="detection-row"
                data-id={row.id}
                title={`${row.id} · ${row.sensor}`}
              >
                <td>
                  <i className="swatch" style={{ background: classColor(row.label) }} />
                  {row.label}
                </td>
                <td className="source">
                  {row.color && <i className="swatch run" style={{ background: row.color }} />}
                  {row.source}
                </td>
                <td className="right mono">{row.score === null ? '—' : row.score.toFixed(2)}</td>
                <td className="right mono">{row.distance === null ? '—' : row.distance.toFixed(1)}</td>
              </tr>
            ))}
            {rows.length === 0 && (
              <tr>
                <td colSpan={4} className="muted">
                  Nothing in this frame passes the filters
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
