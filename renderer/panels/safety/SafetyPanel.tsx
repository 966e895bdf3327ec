// "Safety": audit a run against the ground truth along the ego path (driven / planned corridor,
// braking horizon), list its safety-critical misses ranked by TTC, mark them on the timeline, and
// jump to one: seek to the frame it entered the corridor and select the obstacle.
import { useEffect, useState, type ReactNode } from 'react';
import type { MethodOutput, SightlineApi } from '../../../src/api/contract.js';
import { useSession } from '../../app/sessionContext.js';
import { useApp } from '../../state/appState.js';
import { runLabel } from '../../state/runLabel.js';
import { SafetyController, safetyTaskId, setSafetyForm, useSafety, type SafetyFormParams, type SafetyMiss } from '../../state/safety.js';

type LabelSetRecord = MethodOutput<'listLabelSets'>[number];

const noFocus = (e: React.MouseEvent) => e.preventDefault();

let shared: { api: SightlineApi; controller: SafetyController } | null = null;

export function safetyController(api: SightlineApi): SafetyController {
  if (shared?.api !== api) {
    shared?.controller.dispose();
    shared = { api, controller: new SafetyController(api) };
  }
  return shared.controller;
}

const REASONS: Record<SafetyMiss['reason'], string> = { 'never-detected': 'never detected', 'detected-late': 'detected late', lost: 'lost' };
const PATHS: SafetyFormParams['paths'] = ['driven', 'planned', 'heading'];

export function SafetyPanel(): ReactNode {
  const session = useSession();
  const controller = safetyController(session.api);
  const log = useApp((s) => s.log);
  const runs = useApp((s) => s.runs);
  const runId = useSafety((s) => s.runId);
  const labelSetId = useSafety((s) => s.labelSetId);
  const params = useSafety((s) => s.params);
  const running = useSafety((s) => s.running);
  const error = useSafety((s) => s.error);
  const audit = useSafety((s) => s.audit);
  const showIntrusions = useSafety((s) => s.showIntrusions);
  const task = useApp((s) => (log && runId !== null ? s.tasks[safetyTaskId(log.id, runId)] : undefined));
  const [labelSets, setLabelSets] = useState<LabelSetRecord[]>([]);

  useEffect(() => {
    if (!log) return;
    let live = true;
    session.api
      .listLabelSets({ logId: log.id })
      .then((sets) => live && setLabelSets(sets))
      .catch(() => live && setLabelSets([]));
    return () => {
      live = false;
    };
  }, [log, session.api]);

  if (!log) return <div className="muted pad">No log open.</div>;
  const pickRun = (value: string) => {
    const id = value ? Number(value) : null;
    setSafetyForm({ runId: id });
    if (id !== null) void controller.loadLatest(id);
  };
  const number = (key: 'brakeDecelMps2' | 'reactionTimeS' | 'lateFrames', raw: string) => {
    const v = Number(raw);
    if (Number.isFinite(v) && v >= 0) setSafetyForm({ params: { [key]: key === 'lateFrames' ? Math.round(v) : v } });
  };
  const togglePath = (path: SafetyFormParams['paths'][number], on: boolean) => {
    const next = on ? [...new Set([...params.paths, path])] : params.paths.filter((p) => p !== path);
    if (next.length) setSafetyForm({ params: { paths: next } });
  };
  const fraction = task && task.total > 0 ? Math.min(1, task.done / task.total) : 0;
  const jump = (miss: SafetyMiss) => {
    session.seek(miss.entryFrame.frameIndex);
    session.select({ kind: 'box3d', id: `safety-track:${miss.trackId}`, trackId: miss.trackId });
  };

  return (
    <div className="safety-panel" data-testid="safety-panel">
      <label className="field">
        <span>Run</span>
        <select value={runId ?? ''} onChange={(e) => pickRun(e.target.value)} data-testid="safety-run">
          <option value="">Pick a run…</option>
          {runs.map((r) => (
            <option key={r.runId} value={r.runId}>
              {runLabel(r)}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Ground truth</span>
        <select value={labelSetId ?? ''} onChange={(e) => setSafetyForm({ labelSetId: e.target.value ? Number(e.target.value) : null })} data-testid="safety-gt">
          <option value="">The log's labels</option>
          {labelSets.map((s) => (
            <option key={s.id} value={s.id}>
              Label set: {s.name}
            </option>
          ))}
        </select>
      </label>
      <div className="field-row">
        <label className="field" title="Deceleration the braking horizon assumes">
          <span>Braking (m/s²)</span>
          <input type="number" min={0.5} max={15} step={0.5} value={params.brakeDecelMps2} onChange={(e) => number('brakeDecelMps2', e.target.value)} data-testid="safety-brake" />
        </label>
        <label className="field" title="Reaction time before braking starts">
          <span>Reaction (s)</span>
          <input type="number" min={0} max={5} step={0.1} value={params.reactionTimeS} onChange={(e) => number('reactionTimeS', e.target.value)} data-testid="safety-reaction" />
        </label>
        <label className="field" title="A first detection more than this many frames after entering the corridor is late">
          <span>Late after (frames)</span>
          <input type="number" min={0} max={100} step={1} value={params.lateFrames} onChange={(e) => number('lateFrames', e.target.value)} data-testid="safety-late" />
        </label>
      </div>
      <div className="field-row">
        {PATHS.map((p) => (
          <label key={p} className="check" title={`Corridor along the ${p} path`}>
            <input type="checkbox" checked={params.paths.includes(p)} onChange={(e) => togglePath(p, e.target.checked)} /> {p}
          </label>
        ))}
      </div>
      <button className="primary" onMouseDown={noFocus} onClick={() => void controller.runAudit()} disabled={runId === null || running} data-testid="safety-run-audit">
        {running ? 'Auditing…' : 'Run safety audit'}
      </button>
      {running && (
        <div className="run-progress" role="progressbar" aria-valuenow={Math.round(fraction * 100)} data-testid="safety-progress">
          <div className="run-progress-bar" style={{ width: `${fraction * 100}%` }} />
        </div>
      )}
      {error && <div className="run-error">{error}</div>}
      {audit && (
        <div className="safety-result" data-testid="safety-result" data-audit-id={audit.id}>
          <div className="muted small">
            Audit #{audit.id} · {audit.summary.frames} frames · {audit.summary.criticalTracks} obstacle{audit.summary.criticalTracks === 1 ? '' : 's'} in the corridor within the braking horizon ·{' '}
            {audit.summary.misses.safetyMiss} miss{audit.summary.misses.safetyMiss === 1 ? '' : 'es'}, {audit.summary.misses.lateDetection} late
          </div>
          {audit.summary.warnings.length > 0 && <div className="muted small">{audit.summary.warnings.length} warning(s): {audit.summary.warnings[0]}</div>}
          <label className="check">
            <input type="checkbox" checked={showIntrusions} onChange={(e) => setSafetyForm({ showIntrusions: e.target.checked })} /> Also mark detected obstacles in the corridor
          </label>
          {audit.misses.length === 0 ? (
            <p className="muted" data-testid="safety-no-misses">
              No safety-critical misses.
            </p>
          ) : (
            <table className="safety-misses" data-testid="safety-misses">
              <thead>
                <tr>
                  <th>#</th>
                  <th>Obstacle</th>
                  <th title="Frames it was in the corridor within the braking horizon → first detection">Frames</th>
                  <th title="Smallest time to collision over the missed frames">TTC</th>
                  <th title="Smallest distance from the bumper">Dist.</th>
                  <th>Reason</th>
                </tr>
              </thead>
              <tbody>
                {audit.misses.map((m) => (
                  <tr key={m.rank} className={`safety-miss ${m.kind}`} onClick={() => jump(m)} data-testid="safety-miss-row" data-rank={m.rank} data-track={m.trackId} data-entry={m.entryFrame.frameIndex} title="Go to the frame it entered the corridor">
                    <td>{m.rank}</td>
                    <td>
                      {m.label} <span className="muted">#{m.trackId}</span>
                    </td>
                    <td className="mono">
                      {m.entryFrame.frameIndex}–{m.exitFrame.frameIndex} → {m.firstDetectedFrame ? m.firstDetectedFrame.frameIndex : 'never'}
                    </td>
                    <td className="mono">{m.minTtcS === null ? '—' : `${m.minTtcS.toFixed(1)} s`}</td>
                    <td className="mono">{m.minDistanceM.toFixed(1)} m</td>
                    <td>{REASONS[m.reason]}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </div>
  );
}
