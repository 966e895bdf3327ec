import { useMemo, type ReactNode } from 'react';
import { classColor } from '../../app/classColors.js';
import { useSession } from '../../app/sessionContext.js';
import { useApp } from '../../state/appState.js';

export function FramePanel(): ReactNode {
  const session = useSession();
  const frame = useApp((s) => s.frame);
  const selection = useApp((s) => s.selection);
  const data = frame?.data;
  const classes = useMemo(() => {
    const m = new Map<string, { d3: number; d2: number }>();
    for (const b of data?.labels3d ?? []) {
      const e = m.get(b.label) ?? { d3: 0, d2: 0 };
      e.d3++;
      m.set(b.label, e);
    }
    for (const b of data?.labels2d ?? []) {
      if (b.ignore) continue;
      const e = m.get(b.label) ?? { d3: 0, d2: 0 };
      e.d2++;
      m.set(b.label, e);
    }
    return [...m].sort((a, b) => b[1].d3 + b[1].d2 - (a[1].d3 + a[1].d2));
  }, [data]);
  if (!data) return <div className="muted pad">No frame loaded.</div>;
  const selected3d = selection ? data.labels3d.find((b) => (selection.kind === 'box3d' && b.id === selection.id) || (!!selection.trackId && b.trackId === selection.trackId)) : undefined;
  const selected2d = selection ? data.labels2d.find((b) => (selection.kind === 'box2d' && b.id === selection.id) || (!!selection.trackId && b.trackId === selection.trackId)) : undefined;
  const ego = data.egoPose?.translation;
  return (
    <div className="info">
      <dl className="kv">
        <dt>Frame</dt>
        <dd className="mono">{data.index}</dd>
        <dt>Points</dt>
        <dd>{data.lidar ? data.lidar.count.toLocaleString('en-US') : '—'}</dd>
        <dt>Ego</dt>
        <dd className="mono small">{ego ? ego.map((v) => v.toFixed(2)).join(', ') : '—'}</dd>
        {data.cameras.map((c) => (
          <FragmentRow key={c.sensorId} label={c.sensorId} value={`Δt ${(c.skewS * 1000).toFixed(1)} ms · ${(c.data.byteLength / 1000).toFixed(0)} KB`} />
        ))}
      </dl>
      <h4>Labels</h4>
      <table className="grid-table">
        <thead>
          <tr>
            <th>Class</th>
            <th className="right">3D</th>
            <th className="right">2D</th>
          </tr>
        </thead>
        <tbody>
          {classes.map(([label, n]) => (
            <tr key={label}>
              <td>
                <i className="swatch" style={{ background: classColor(label) }} />
                {label}
              </td>
              <td className="right mono">{n.d3}</td>
              <td className="right mono">{n.d2}</td>
            </tr>
          ))}
          {classes.length === 0 && (
            <tr>
              <td colSpan={3} className="muted">
                No labels in this frame
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {selection && (
        <>
          <h4>
            Selection{' '}
            <button className="link" onClick={() => session.select(null)}>
              clear
            </button>
          </h4>
          <dl className="kv">
            <dt>Class</dt>
            <dd>{selected3d?.label ?? selected2d?.label ?? '—'}</dd>
            <dt>Track</dt>
            <dd className="mono">{selection.trackId ?? '—'}</dd>
            {selected3d && (
              <>
                <dt>Centre</dt>
                <dd className="mono small">{selected3d.center.map((v) => v.toFixed(2)).join(', ')}</dd>
                <dt>Size</dt>
                <dd className="mono small">{selected3d.size.map((v) => v.toFixed(2)).join(' × ')} m</dd>
                <dt>Range</dt>
                <dd className="mono small">{Math.hypot(selected3d.center[0], selected3d.center[1]).toFixed(1)} m</dd>
                {Object.entries(selected3d.attributes ?? {}).map(([k, v]) => (
                  <FragmentRow key={k} label={k} value={String(v)} />
                ))}
              </>
            )}
            {selected2d && (
              <>
                <dt>Image box</dt>
                <dd className="mono small">
                  {(selected2d.x2 - selected2d.x1).toFixed(0)}×{(selected2d.y2 - selected2d.y1).toFixed(0)} px
                </dd>
              </>
            )}
            {!selected3d && !selected2d && (
              <>
                <dt />
                <dd className="muted">Not in this frame</dd>
              </>
            )}
          </dl>
        </>
      )}
      {data.warnings.length > 0 && (
        <ul className="warnings">
          {data.warnings.map((w, i) => (
            <li key={i}>⚠ {w}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

function FragmentRow({ label, value }: { label: string; value: string }): ReactNode {
  return (
    <>
      <dt title={label}>{label}</dt>
      <dd className="mono small">{value}</dd>
    </>
  );
}
