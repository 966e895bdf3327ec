import type { ReactNode } from 'react';
import { formatBytes, formatCount, formatDuration, formatHz, formatStampUtc } from '../../app/format.js';
import { useApp } from '../../state/appState.js';

export function LogInfoPanel(): ReactNode {
  const log = useApp((s) => s.log);
  if (!log) return <div className="muted pad">No log open.</div>;
  return (
    <div className="info" data-testid="log-info">
      <dl className="kv">
        <dt>Name</dt>
        <dd title={log.path}>{log.name}</dd>
        <dt>Format</dt>
        <dd>{log.format.toUpperCase()}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(log.durationS)}</dd>
        <dt>Frames</dt>
        <dd>
          {formatCount(log.frameCount)} <span className="muted">on {log.referenceSensor}</span>
        </dd>
        <dt>Labels</dt>
        <dd>{formatCount(log.labelCount)}</dd>
        <dt>Size</dt>
        <dd>{formatBytes(log.sizeBytes)}</dd>
        <dt>Start</dt>
        <dd className="mono small">{formatStampUtc(log.startNs)}</dd>
        <dt>End</dt>
        <dd className="mono small">{formatStampUtc(log.endNs)}</dd>
        <dt>Path</dt>
        <dd className="mono small path" title={log.path}>
          {`\u200e${log.path}\u200e`}
        </dd>
      </dl>
      {log.warnings.length > 0 && (
        <ul className="warnings">
          {log.warnings.map((w, i) => (
            <li key={i}>⚠ {w}</li>
          ))}
        </ul>
      )}
      <h4>Sensors</h4>
      <table className="grid-table">
        <tbody>
          {log.sensors.map((s) => (
            <tr key={s.id}>
              <td>
                <span className={`kind kind-${s.kind}`}>{s.kind}</span>
              </td>
              <td className="mono">{s.id}</td>
              <td className="muted right">{s.intrinsics ? `${s.intrinsics.width}×${s.intrinsics.height}` : s.frameId}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h4>Streams</h4>
      <table className="grid-table streams" data-testid="streams">
        <thead>
          <tr>
            <th>Topic</th>
            <th className="right">Msgs</th>
            <th className="right">Rate</th>
          </tr>
        </thead>
        <tbody>
          {log.streams.map((s) => (
            <tr key={s.topic} title={`${s.schema} · ${s.kind}`}>
              <td className="mono topic">
                <span className={`kind-dot kind-${s.kind}`} />
                {s.topic}
              </td>
              <td className="right mono">{formatCount(s.messageCount)}</td>
              <td className="right mono">{formatHz(s.rateHz)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
