// "Explain": occlusion-sensitivity saliency for the selected detection. Patch and stride, the scan's
// progress with ETA and cancel, the maps stored for the detection, and the overlay's opacity,
// visibility (Shift+H) and colour legend. The heatmap itself is drawn in the camera panel.
import { useEffect, useState, type ReactNode } from 'react';
import type { SightlineApi } from '../../../src/api/contract.js';
import { formatDuration } from '../../app/format.js';
import { useSession } from '../../app/sessionContext.js';
import { useApp } from '../../state/appState.js';
import { SaliencyController, setSaliencyParams, setSaliencyView, useSaliency, type SaliencyRequestParams } from '../../state/saliency.js';
import { colormapGradient } from './saliencyOverlay.js';

const noFocus = (e: React.MouseEvent) => e.preventDefault();

let shared: { api: SightlineApi; controller: SaliencyController } | null = null;

/** One controller per connection: it outlives the panel (the overlay keeps showing its map). */
export function saliencyController(api: SightlineApi): SaliencyController {
  if (shared?.api !== api) {
    shared?.controller.dispose();
    shared = { api, controller: new SaliencyController(api) };
  }
  return shared.controller;
}

export function ExplainPanel(): ReactNode {
  const session = useSession();
  const controller = saliencyController(session.api);
  const target = useSaliency((s) => s.target);
  const problem = useSaliency((s) => s.targetProblem);
  const params = useSaliency((s) => s.params);
  const status = useSaliency((s) => s.status);
  const error = useSaliency((s) => s.error);
  const taskId = useSaliency((s) => s.taskId);
  const list = useSaliency((s) => s.list);
  const shown = useSaliency((s) => s.shown);
  const fromCache = useSaliency((s) => s.fromCache);
  const opacity = useSaliency((s) => s.opacity);
  const visible = useSaliency((s) => s.visible);
  const task = useApp((s) => (taskId ? s.tasks[taskId] : undefined));
  const frameIndex = useApp((s) => s.frameIndex);

  useEffect(() => {
    void controller.resolveTarget();
  }, [controller]);

  if (!target) {
    return (
      <div className="explain-panel muted pad" data-testid="explain-panel">
        {problem ? <span data-testid="explain-problem">{problem}</span> : 'Select a detection of a run (a box in a camera panel or a table row) to explain it.'}
      </div>
    );
  }
  const running = status === 'running';
  const fraction = task && task.total > 0 ? Math.min(1, task.done / task.total) : 0;
  return (
    <div className="explain-panel" data-testid="explain-panel" data-status={status}>
      <div className="explain-target" data-testid="explain-target">
        <strong>{target.label}</strong> {target.score.toFixed(2)} · run {target.runId} · {target.sensorId} · frame #{target.frameIndex}
        {frameIndex !== target.frameIndex && <span className="muted"> (not on screen)</span>}
        <div className="muted small mono">
          [{[target.box.x1, target.box.y1, target.box.x2, target.box.y2].map((v) => v.toFixed(0)).join(', ')}] · detection {target.detectionId}
        </div>
      </div>
      {problem && (
        <div className="muted small" data-testid="explain-problem">
          {problem}
        </div>
      )}
      <div className="field-row">
        <NumberField label="Patch (px)" value={params.patch} min={4} max={512} onChange={(patch) => setSaliencyParams({ patch, stride: Math.min(params.stride, patch) })} testId="saliency-patch" />
        <NumberField label="Stride (px)" value={params.stride} min={2} max={params.patch} onChange={(stride) => setSaliencyParams({ stride })} testId="saliency-stride" />
      </div>
      <div className="field-row">
        <label className="field">
          <span>Region</span>
          <select value={params.region} onChange={(e) => setSaliencyParams({ region: e.target.value as SaliencyRequestParams['region'] })} data-testid="saliency-region">
            <option value="target">Around the box</option>
            <option value="full">Whole image</option>
          </select>
        </label>
        <label className="field">
          <span>Occluder</span>
          <select value={params.fill} onChange={(e) => setSaliencyParams({ fill: e.target.value as SaliencyRequestParams['fill'] })} data-testid="saliency-fill">
            <option value="mean">Mean colour</option>
            <option value="gray">Grey</option>
            <option value="blur">Blurred</option>
          </select>
        </label>
      </div>
      <div className="explain-actions">
        {/* With a selection it cannot explain, the button would explain the older target shown above: off until a detection is selected. */}
        <button className="primary" onMouseDown={noFocus} onClick={() => void controller.explain()} disabled={running || problem !== null} title={problem ?? undefined} data-testid="saliency-explain">
          {running ? 'Explaining…' : 'Explain (saliency)'}
        </button>
        {running && taskId && (
          <button onMouseDown={noFocus} onClick={() => void controller.cancel()} data-testid="saliency-cancel">
            Cancel
          </button>
        )}
      </div>
      {running && (
        <div className="explain-progress" data-testid="saliency-progress">
          <div className="run-progress" role="progressbar" aria-valuenow={Math.round(fraction * 100)}>
            <div className="run-progress-bar" style={{ width: `${fraction * 100}%` }} />
          </div>
          <div className="muted small">
            {task && task.total > 0 ? `${task.done}/${task.total} occluded passes` : 'Starting…'}
            {task?.rate ? ` · ${task.rate.toFixed(1)}/s` : ''}
            {task?.etaS !== undefined ? ` · ${formatDuration(task.etaS)} left` : ''}
          </div>
        </div>
      )}
      {status === 'cancelled' && <div className="muted small">Cancelled.</div>}
      {error && (
        <div className="run-error" data-testid="saliency-error">
          {error}
        </div>
      )}
      {shown && (
        <div className="explain-result" data-testid="saliency-result" data-saliency-id={shown.map.saliencyId} data-cached={String(fromCache)}>
          <div>
            Peak drop <strong>{shown.map.peak.value.toFixed(3)}</strong> of {shown.map.baselineScore.toFixed(3)} at ({shown.map.peak.x.toFixed(0)}, {shown.map.peak.y.toFixed(0)})
            {fromCache && <span className="badge explain-cached">cached</span>}
          </div>
          <div className="colorbar">
            <span className="colorbar-label">Score drop when occluded</span>
            <span className="colorbar-min">0</span>
            <span className="colorbar-ramp" style={{ background: colormapGradient(shown.map.colormap.stops) }} />
            <span className="colorbar-max">{shown.map.peak.value.toFixed(2)}</span>
          </div>
          <div className="field-row">
            <label className="check" title="Shift+H">
              <input type="checkbox" checked={visible} onChange={(e) => setSaliencyView({ visible: e.target.checked })} data-testid="saliency-visible" /> Heatmap
            </label>
            <label className="field explain-opacity">
              <span>Opacity {Math.round(opacity * 100)}%</span>
              <input type="range" min={0} max={1} step={0.05} value={opacity} onChange={(e) => setSaliencyView({ opacity: Number(e.target.value) })} data-testid="saliency-opacity" />
            </label>
          </div>
        </div>
      )}
      {list.length > 0 && (
        <ul className="explain-list" data-testid="saliency-list">
          {list.map((m) => (
            <li key={m.saliencyId} className={shown?.map.saliencyId === m.saliencyId ? 'current' : ''}>
              <button className="link" onMouseDown={noFocus} onClick={() => void controller.showStored(m.saliencyId)} data-testid="saliency-list-item">
                patch {m.params.patch} / stride {m.params.stride} · {m.params.fill} · {m.params.region}
              </button>
              <span className="muted small">
                {' '}
                {m.passes} passes · {(m.computeMs / 1000).toFixed(1)} s · {m.backend}
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function NumberField({ label, value, min, max, onChange, testId }: { label: string; value: number; min: number; max: number; onChange(v: number): void; testId: string }): ReactNode {
  const [text, setText] = useState(String(value));
  useEffect(() => setText(String(value)), [value]);
  const commit = (raw: string) => {
    const v = Math.round(Number(raw));
    if (Number.isFinite(v) && v >= min && v <= max) onChange(v);
    else setText(String(value));
  };
  return (
    <label className="field">
      <span>{label}</span>
      <input type="number" min={min} max={max} value={text} onChange={(e) => setText(e.target.value)} onBlur={(e) => commit(e.target.value)} onKeyDown={(e) => e.key === 'Enter' && commit(text)} data-testid={testId} />
    </label>
  );
}
