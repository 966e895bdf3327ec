import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { Box3D } from '../../../src/logs/model.js';
import { classColor } from '../../app/classColors.js';
import { Tooltip } from '../../app/Tooltip.js';
import type { PanelProps } from '../../app/panelRegistry.js';
import { useSession } from '../../app/sessionContext.js';
import { registerSceneView } from '../../app/viewRegistry.js';
import { appStore, classVisible, MAX_ACCUMULATE, toggleLayer, updateScene, useApp } from '../../state/appState.js';
import { passesFilter } from '../../state/detections.js';
import { groundZOf, intrudingIds } from '../../state/plan.js';
import { runLabel } from '../../state/runLabel.js';
import { turboGradientCss } from '../../renderables/colormap.js';
import { labelColor, type PointLabels } from '../../renderables/PointCloudRenderable.js';
import { labelSessionFor, useLabelState } from '../../state/labelSession.js';
import { LabelEditor3D, type SceneTool } from './labelEditor3d.js';
import { SceneEditToolbar } from './SceneEditToolbar.js';
import { SceneView, type SceneData, type SceneHover } from './sceneView.js';

const GRADIENT = turboGradientCss();
const noFocus = (e: React.MouseEvent) => e.preventDefault();
const EMPTY_SET: ReadonlySet<string> = new Set();
const ACCUMULATE_CHOICES = [1, 2, 3, 5, MAX_ACCUMULATE];

export function ScenePanel(_props: PanelProps): ReactNode {
  const session = useSession();
  const frame = useApp((s) => s.frame);
  const logId = useApp((s) => s.log?.id);
  const selection = useApp((s) => s.selection);
  const settings = useApp((s) => s.scene);
  const layers = useApp((s) => s.layers);
  const review = useApp((s) => s.review);
  const detections = useApp((s) => s.detections);
  const runs = useApp((s) => s.runs);
  const runStyles = useApp((s) => s.runStyles);
  const paths = useApp((s) => s.paths);
  const sweepsVersion = useApp((s) => s.sweepsVersion);
  const resetSeq = useApp((s) => s.sceneViewReset);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const viewRef = useRef<SceneView | null>(null);
  const editorRef = useRef<LabelEditor3D | null>(null);
  const [tool, setTool] = useState<SceneTool>('select');
  /** A side view asked for while in bird's-eye: shown once the perspective camera is back. */
  const pendingSide = useRef(false);
  // Edit mode draws the working copies; the log's own boxes would double them.
  const editingLabels = useLabelState((s) => s.editMode && s.setId !== null);
  const [failure, setFailure] = useState<string | null>(null);
  const [hover, setHover] = useState<SceneHover | null>(null);
  const [contextLost, setContextLost] = useState(false);
  const [range, setRangeState] = useState<[number, number] | null>(null);
  const rangeRef = useRef<[number, number] | null>(null);
  // Only when the colour scale really changes: no state update (and re-render) per frame.
  const setRange = (next: [number, number] | null) => {
    const prev = rangeRef.current;
    if (prev === next || (prev && next && prev[0] === next[0] && prev[1] === next[1])) return;
    rangeRef.current = next;
    setRangeState(next);
  };

  const data = frame?.data ?? null;
  const frameRuns = detections && data && detections.frameIndex === data.index ? detections.runs : null;

  const gtBoxes = useMemo(
    () => (data && layers.gt3d && !editingLabels ? data.labels3d.filter((b) => classVisible(review, b.label)) : []),
    [data, layers.gt3d, review, editingLabels],
  );
  const runBoxes = useMemo(() => {
    if (!layers.detections || !frameRuns) return [];
    return frameRuns.map((r) => ({ runId: r.runId, color: runStyles[r.runId]?.color ?? '#ffffff', boxes: r.boxes3d.filter((b) => passesFilter(review, b)) as Box3D[] }));
  }, [layers.detections, frameRuns, runStyles, review]);
  const overlays = useMemo(() => (layers.paths && paths && data && paths.frameIndex === data.index ? paths.overlays : []), [layers.paths, paths, data]);
  const intrusions = useMemo(() => (overlays.length ? intrudingIds(overlays) : EMPTY_SET), [overlays]);
  const pointLabels = useMemo<PointLabels | null>(() => {
    const lidar = data?.lidar;
    if (!lidar || !frameRuns) return null;
    for (const run of frameRuns) {
      const match = run.pointLabels.find((p) => p.sensorId === lidar.sensorId && p.labels.length >= lidar.count);
      if (match) return { labels: match.labels, classes: match.classes };
    }
    return null;
  }, [data, frameRuns]);
  const sweeps = useMemo(
    () => (data && settings.accumulate > 1 && data.egoPose ? session.sweeps.before(data.index, settings.accumulate - 1) : []),
    // sweepsVersion: a missing sweep arrived.
    [data, settings.accumulate, session, sweepsVersion],
  );

  const sceneData = useMemo<SceneData>(
    () => ({
      frame: data,
      gtBoxes,
      runs: runBoxes,
      paths: overlays,
      groundZ: data && overlays.length ? groundZOf(data) : 0,
      intrusions,
      pointLabels,
      showFrusta: layers.frusta,
      showGrid: layers.grid,
      sweeps,
    }),
    [data, gtBoxes, runBoxes, overlays, intrusions, pointLabels, layers.frusta, layers.grid, sweeps],
  );

  useEffect(() => {
    let view: SceneView;
    try {
      view = new SceneView(canvasRef.current!, appStore.get().scene);
    } catch (error) {
      setFailure(`3D view unavailable: ${error instanceof Error ? error.message : String(error)} (WebGL could not start)`);
      return;
    }
    view.onHover = setHover;
    view.onSelect = (box) => session.select(box ? { kind: 'box3d', id: box.id, trackId: box.trackId } : null);
    view.onContextLost = setContextLost;
    viewRef.current = view;
    const editor = new LabelEditor3D(view, labelSessionFor(session));
    editor.onToolChange = setTool;
    editorRef.current = editor;
    const unregister = registerSceneView(view);
    return () => {
      unregister();
      editor.dispose();
      editorRef.current = null;
      view.dispose();
      viewRef.current = null;
    };
  }, [session]);

  useEffect(() => {
    viewRef.current?.resetForLog();
  }, [logId]);

  useEffect(() => {
    const view = viewRef.current;
    if (!view) return;
    view.setData(sceneData);
    setRange(sceneData.frame?.lidar ? view.points.range : null);
  }, [sceneData]);

  useEffect(() => {
    const view = viewRef.current;
    if (!view) return;
    view.setSettings(settings);
    editorRef.current?.refresh();
    if (pendingSide.current && !settings.birdsEye) {
      pendingSide.current = false;
      showSide();
    }
    setRange(appStore.get().frame?.data.lidar ? view.points.range : null);
  }, [settings]);

  useEffect(() => viewRef.current?.setSelection(selection), [selection]);

  useEffect(() => {
    if (resetSeq > 0) viewRef.current?.resetView();
  }, [resetSeq]);

  /** The selected label's box seen from its side (leaves bird's-eye first). */
  function showSide(): void {
    const controller = labelSessionFor(session);
    const box = controller.selectedLabels().find((l) => l.box3d)?.box3d;
    if (!box) return;
    if (appStore.get().scene.birdsEye) {
      pendingSide.current = true;
      updateScene({ birdsEye: false });
      return;
    }
    viewRef.current?.lookAtSide(box);
  }

  const lidar = data?.lidar;
  const fields = useMemo(() => Object.keys(lidar?.fields ?? {}), [lidar]);
  const modes = useMemo(() => ['height', 'distance', ...fields, ...(pointLabels ? ['label'] : [])], [fields, pointLabels]);
  const mode = modes.includes(settings.colorMode) ? settings.colorMode : 'height';
  const labelled = mode === 'label' && !!pointLabels;
  const boxCounts = useMemo(() => {
    const m = new Map<string, number>();
    for (const b of gtBoxes) m.set(b.label, (m.get(b.label) ?? 0) + 1);
    return [...m].sort((a, b) => b[1] - a[1]);
  }, [gtBoxes]);
  const selected = useMemo(() => findSelected(selection, gtBoxes, runBoxes), [selection, gtBoxes, runBoxes]);
  const viewMode = settings.birdsEye ? 'birdseye' : settings.follow ? 'follow' : 'orbit';
  const runName = (runId: number | null) => {
    if (runId === null) return 'ground truth';
    const run = runs.find((r) => r.runId === runId);
    return run ? runLabel(run) : `run ${runId}`;
  };

  return (
    <div className="scene-panel" data-view-mode={viewMode}>
      <canvas ref={canvasRef} className="scene-canvas" data-testid="scene-canvas" />
      {failure && <div className="panel-empty">{failure}</div>}
      {contextLost && <div className="panel-empty">The GPU context was lost; waiting for it to come back…</div>}
      <div className="overlay overlay-tl scene-toolbar">
        <span className="segmented" role="group" aria-label="View mode">
          <button className={`chip-button${viewMode === 'orbit' ? ' active' : ''}`} onMouseDown={noFocus} onClick={() => updateScene({ follow: false, birdsEye: false })} title="Orbit a fixed world point">
            Orbit
          </button>
          <button className={`chip-button${viewMode === 'follow' ? ' active' : ''}`} onMouseDown={noFocus} onClick={() => updateScene({ follow: true, birdsEye: false })} title="Follow the ego (F)" data-testid="view-follow">
            Follow
          </button>
          <button className={`chip-button${viewMode === 'birdseye' ? ' active' : ''}`} onMouseDown={noFocus} onClick={() => updateScene({ birdsEye: !settings.birdsEye })} title="Bird's-eye view (B)" data-testid="view-bev">
            BEV
          </button>
        </span>
        <button className="chip-button" onMouseDown={noFocus} onClick={() => viewRef.current?.resetView()} title="Reset the camera (R)">
          Reset
        </button>
        <span className="sep" />
        <label className="chip-select" title="Colour points by (C)">
          <select
            value={mode}
            data-testid="color-mode"
            onChange={(e) => {
              updateScene({ colorMode: e.target.value });
              e.currentTarget.blur();
            }}
          >
            {modes.map((m) => (
              <option key={m} value={m}>
                {m === 'label' ? 'Labels' : m[0]!.toUpperCase() + m.slice(1)}
              </option>
            ))}
          </select>
        </label>
        <label className="chip-select" title="Point size">
          <select
            value={settings.pointSize}
            onChange={(e) => {
              updateScene({ pointSize: Number(e.target.value) });
              e.currentTarget.blur();
            }}
          >
            {[1, 1.5, 2, 3, 4, 6].map((s) => (
              <option key={s} value={s}>
                {s} px
              </option>
            ))}
          </select>
        </label>
        <label className="chip-select" title={data?.egoPose ? 'Accumulate past sweeps in the world frame (decay)' : 'Accumulation needs ego poses; this log has none'}>
          <select
            value={settings.accumulate}
            disabled={!data?.egoPose}
            data-testid="accumulate"
            onChange={(e) => {
              updateScene({ accumulate: Number(e.target.value) });
              e.currentTarget.blur();
            }}
          >
            {ACCUMULATE_CHOICES.map((n) => (
              <option key={n} value={n}>
                {n === 1 ? '1 sweep' : `${n} sweeps`}
              </option>
            ))}
          </select>
        </label>
        <span className="sep" />
        {(
          [
            ['gt3d', 'Boxes', 'Ground-truth 3D boxes (2)'],
            ['paths', 'Paths', 'Paths and corridors (6)'],
            ['frusta', 'Frusta', 'Camera frusta (7)'],
            ['grid', 'Grid', 'Grid and range rings (8)'],
          ] as const
        ).map(([id, label, title]) => (
          <button key={id} className={`chip-button${layers[id] ? ' active' : ''}`} onMouseDown={noFocus} onClick={() => toggleLayer(id)} title={title}>
            {label}
          </button>
        ))}
      </div>
      {!failure && (
        <SceneEditToolbar
          tool={tool}
          onTool={(next) => editorRef.current?.setTool(next)}
          onSideView={showSide}
        />
      )}
      {lidar && range && !labelled && (
        <div className="overlay overlay-bl colorbar">
          <span className="colorbar-label">{mode === 'height' ? 'height (m, ego)' : mode === 'distance' ? 'range (m)' : mode}</span>
          <span className="colorbar-min">{fmt(range[0])}</span>
          <span className="colorbar-ramp" style={{ background: GRADIENT }} />
          <span className="colorbar-max">{fmt(range[1])}</span>
        </div>
      )}
      {labelled && pointLabels && (
        <div className="overlay overlay-bl legend" data-testid="label-legend">
          {pointLabels.classes.map((c) => {
            const [r, g, b] = labelColor(c);
            return (
              <span key={c} className="legend-item">
                <i style={{ background: `rgb(${Math.round(r * 255)} ${Math.round(g * 255)} ${Math.round(b * 255)})` }} />
                {c}
              </span>
            );
          })}
        </div>
      )}
      {data && (
        <div className="overlay overlay-br legend">
          <span className="legend-item muted">{lidar ? `${lidar.count.toLocaleString('en-US')} pts` : 'no lidar'}</span>
          {sweeps.length > 0 && <span className="legend-item muted">+{sweeps.length} past</span>}
          {boxCounts.map(([label, n]) => (
            <span key={label} className="legend-item">
              <i style={{ background: classColor(label) }} />
              {label} {n}
            </span>
          ))}
          {runBoxes
            .filter((r) => r.boxes.length > 0)
            .map((r) => (
              <span key={r.runId} className="legend-item" title="Run boxes (dashed)">
                <i className="dashed" style={{ borderColor: r.color }} />
                {runName(r.runId)} {r.boxes.length}
              </span>
            ))}
        </div>
      )}
      {selected && (
        <div className="overlay overlay-tr selection-card" data-testid="selection-card">
          <div className="tooltip-title">
            <i style={{ background: classColor(selected.box.label) }} />
            {selected.box.label}
            {intrusions.has(selected.box.id) && <span className="badge danger">in corridor</span>}
            <button className="chip-close" onClick={() => session.select(null)} title="Clear the selection (Esc)" aria-label="Clear the selection">
              ×
            </button>
          </div>
          <BoxTable box={selected.box} source={runName(selected.runId)} />
        </div>
      )}
      {hover && (
        <Tooltip x={hover.x} y={hover.y} width={canvasRef.current?.clientWidth ?? 0} height={canvasRef.current?.clientHeight ?? 0}>
          <div className="tooltip-title">
            <i style={{ background: classColor(hover.box.label) }} />
            {hover.box.label}
          </div>
          <BoxTable box={hover.box} source={runName(hover.runId)} brief />
        </Tooltip>
      )}
    </div>
  );
}

function BoxTable({ box, source, brief = false }: { box: Box3D; source: string; brief?: boolean }): ReactNode {
  const attributes = Object.entries(box.attributes ?? {});
  return (
    <table>
      <tbody>
        <tr>
          <th>source</th>
          <td>{source}</td>
        </tr>
        {box.score !== undefined && (
          <tr>
            <th>score</th>
            <td>{box.score.toFixed(3)}</td>
          </tr>
        )}
        {box.trackId && (
          <tr>
            <th>track</th>
            <td>{box.trackId}</td>
          </tr>
        )}
        <tr>
          <th>range</th>
          <td>{Math.hypot(box.center[0], box.center[1]).toFixed(1)} m</td>
        </tr>
        <tr>
          <th>size</th>
          <td>{box.size.map((v) => v.toFixed(2)).join(' × ')} m</td>
        </tr>
        <tr>
          <th>yaw</th>
          <td>{((box.yaw * 180) / Math.PI).toFixed(1)}°</td>
        </tr>
        {!brief && (
          <tr>
            <th>centre</th>
            <td className="mono small">{box.center.map((v) => v.toFixed(2)).join(', ')}</td>
          </tr>
        )}
        {!brief &&
          attributes.map(([k, v]) => (
            <tr key={k}>
              <th>{k}</th>
              <td>{typeof v === 'number' ? +v.toFixed(3) : String(v)}</td>
            </tr>
          ))}
        {!brief && (
          <tr>
            <th>id</th>
            <td className="mono small">{box.id}</td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

function findSelected(
  selection: { id: string; trackId?: string } | null,
  gt: Box3D[],
  runs: Array<{ runId: number; boxes: Box3D[] }>,
): { box: Box3D; runId: number | null } | null {
  if (!selection) return null;
  const match = (b: Box3D) => b.id === selection.id || (!!selection.trackId && b.trackId === selection.trackId);
  const g = gt.find(match);
  if (g) return { box: g, runId: null };
  for (const r of runs) {
    const b = r.boxes.find(match);
    if (b) return { box: b, runId: r.runId };
  }
  return null;
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1);
}
