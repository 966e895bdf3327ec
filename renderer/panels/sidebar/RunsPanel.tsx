// Inference runs on the open log: start one (model, device, cameras, lidar stage, frame range),
// follow its progress, cancel it, and choose which runs are drawn and in which colour.
import { useMemo, useState, type ReactNode } from 'react';
import type { RunInfo, RunProgressEvent } from '../../../src/api/contract.js';
import { formatDuration } from '../../app/format.js';
import { useSession } from '../../app/sessionContext.js';
import { useApp } from '../../state/appState.js';
import { runLabel } from '../../state/runLabel.js';

const noFocus = (e: React.MouseEvent) => e.preventDefault();
type Device = 'auto' | 'gpu' | 'cpu';

export function RunsPanel(): ReactNode {
  const session = useSession();
  const log = useApp((s) => s.log);
  const runs = useApp((s) => s.runs);
  const models = useApp((s) => s.models);
  const styles = useApp((s) => s.runStyles);
  const progress = useApp((s) => s.runProgress);
  const range = useApp((s) => s.range);
  const [modelId, setModelId] = useState('');
  const [device, setDevice] = useState<Device>('auto');
  const [sensor, setSensor] = useState('');
  const [lidar, setLidar] = useState(false);
  const [useRange, setUseRange] = useState(true);
  const [starting, setStarting] = useState(false);
  const cameras = useMemo(() => (log?.sensors ?? []).filter((s) => s.kind === 'camera').map((s) => s.id), [log]);
  const hasLidar = useMemo(() => (log?.sensors ?? []).some((s) => s.kind === 'lidar'), [log]);
  const model = models.find((m) => m.id === modelId) ?? models[0];

  if (!log) return <div className="muted pad">No log open.</div>;

  const start = async () => {
    if (!model) return;
    setStarting(true);
    await session.runs.startRun({
      logId: log.id,
      modelId: model.id,
      device,
      ...(sensor ? { sensor } : {}),
      ...(hasLidar && lidar ? { lidar: true } : {}),
      ...(range && useRange ? { frameRange: { start: range.start, end: range.end + 1 } } : {}),
      resume: 'new',
    });
    setStarting(false);
  };

  return (
    <div className="runs-panel" data-testid="runs-panel">
      <div className="run-form">
        <label className="field">
          <span>Model</span>
          <select value={model?.id ?? ''} onChange={(e) => setModelId(e.target.value)} data-testid="run-model" disabled={models.length === 0}>
            {models.length === 0 && <option value="">No models</option>}
            {models.map((m) => (
              <option key={m.id} value={m.id} title={m.description ?? m.name}>
                {m.name} · {m.task}
              </option>
            ))}
          </select>
        </label>
        <div className="field-row">
          <label className="field">
            <span>Device</span>
            <select value={device} onChange={(e) => setDevice(e.target.value as Device)} data-testid="run-device">
              <option value="auto">Auto</option>
              <option value="gpu">GPU</option>
              <option value="cpu">CPU</option>
            </select>
          </label>
          <label className="field">
            <span>Cameras</span>
            <select value={sensor} onChange={(e) => setSensor(e.target.value)}>
              <option value="">All ({cameras.length})</option>
              {cameras.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </label>
        </div>
        <div className="field-row">
          {hasLidar && (
            <label className="check" title="Also run the lidar obstacle stage (ground removal, clustering, boxes)">
              <input type="checkbox" checked={lidar} onChange={(e) => setLidar(e.target.checked)} /> Lidar obstacles
            </label>
          )}
          {range && (
            <label className="check" title="Only the frames selected on the timeline (shift-drag)">
              <input type="checkbox" checked={useRange} onChange={(e) => setUseRange(e.target.checked)} /> Frames #{range.start}–#{range.end}
            </label>
          )}
        </div>
        <button className="primary" onMouseDown={noFocus} onClick={() => void start()} disabled={!model || starting} data-testid="run-start">
          {starting ? 'Starting…' : 'Run model'}
        </button>
      </div>
      {runs.length === 0 ? (
        <p className="muted pad">No runs on this log yet.</p>
      ) : (
        <ul className="run-list" data-testid="run-list">
          {runs.map((run) => (
            <RunRow key={run.runId} run={run} style={styles[run.runId]} progress={progress[run.runId]} />
          ))}
        </ul>
      )}
    </div>
  );
}

function RunRow({ run, style, progress }: { run: RunInfo; style?: { visible: boolean; color: string }; progress?: RunProgressEvent }): ReactNode {
  const session = useSession();
  const total = progress?.framesTotal ?? run.framesTotal ?? 0;
  const done = progress?.framesDone ?? run.framesDone;
  const running = run.status === 'running' || run.status === 'pending';
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const backend = progress?.backend ?? (run.engine ? `${run.engine}${run.executionProvider ? `/${run.executionProvider}` : ''}` : null);
  const visible = style?.visible ?? false;
  return (
    <li className={`run-row status-${run.status}`} data-testid="run-row" data-run-id={run.runId} data-status={run.status}>
      <div className="run-line">
        <input type="checkbox" checked={visible} onChange={(e) => session.runs.setStyle(run.runId, { visible: e.target.checked })} title="Show this run" data-testid="run-visible" />
        <label className="run-swatch" title="Run colour" style={{ background: style?.color ?? '#888' }}>
          <input type="color" value={style?.color ?? '#888888'} onChange={(e) => session.runs.setStyle(run.runId, { color: e.target.value })} />
        </label>
        <span className="run-name" title={`${run.name}\n${run.modelSha256 ?? ''}`}>
          {runLabel(run)}
        </span>
        <span className={`run-status ${run.status}`}>{run.status}</span>
        {run.active && running && (
          <button className="chip-close" onMouseDown={noFocus} onClick={() => void session.runs.cancelRun(run.runId)} title="Cancel this run" aria-label="Cancel this run">
            ×
          </button>
        )}
      </div>
      <div className="run-meta muted">
        {done}/{total || '?'} frames
        {backend ? ` · ${backend}` : ''}
        {run.device ? ` · ${run.device}` : ''}
        {running && progress?.framesPerS ? ` · ${progress.framesPerS.toFixed(1)} fps` : ''}
        {running && progress?.etaS ? ` · ${formatDuration(progress.etaS)} left` : ''}
      </div>
      {running && (
        <div className="run-progress" role="progressbar" aria-valuenow={Math.round(fraction * 100)} data-testid="run-progress">
          <div className="run-progress-bar" style={{ width: `${fraction * 100}%`, background: style?.color }} />
        </div>
      )}
      {run.error && <div className="run-error">{run.error}</div>}
    </li>
  );
}
