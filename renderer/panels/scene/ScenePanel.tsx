import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { classColor } from '../../app/classColors.js';
import { Tooltip } from '../../app/Tooltip.js';
import type { PanelProps } from '../../app/panelRegistry.js';
import { useSession } from '../../app/sessionContext.js';
import { appStore, updateScene, useApp } from '../../state/appState.js';
import { turboGradientCss } from '../../renderables/colormap.js';
import { SceneView, type SceneHover } from './sceneView.js';

const GRADIENT = turboGradientCss();
const noFocus = (e: React.MouseEvent) => e.preventDefault();

export function ScenePanel(_props: PanelProps): ReactNode {
  const session = useSession();
  const frame = useApp((s) => s.frame);
  const logId = useApp((s) => s.log?.id);
  const selection = useApp((s) => s.selection);
  const settings = useApp((s) => s.scene);
  const resetSeq = useApp((s) => s.sceneViewReset);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const viewRef = useRef<SceneView | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [hover, setHover] = useState<SceneHover | null>(null);
  const [contextLost, setContextLost] = useState(false);
  const [range, setRange] = useState<[number, number] | null>(null);

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
    return () => {
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
    view.setFrame(frame?.data ?? null);
    setRange(frame?.data.lidar ? view.points.range : null);
  }, [frame]);

  useEffect(() => {
    const view = viewRef.current;
    if (!view) return;
    view.setSettings(settings, appStore.get().frame?.data ?? null);
    setRange(appStore.get().frame?.data.lidar ? view.points.range : null);
  }, [settings]);

  useEffect(() => viewRef.current?.setSelection(selection), [selection]);

  useEffect(() => {
    if (resetSeq > 0) viewRef.current?.resetView();
  }, [resetSeq]);

  const lidar = frame?.data.lidar;
  const fields = useMemo(() => Object.keys(lidar?.fields ?? {}), [lidar]);
  const modeValid = settings.colorMode === 'height' || fields.includes(settings.colorMode);
  const boxCounts = useMemo(() => {
    const m = new Map<string, number>();
    for (const b of frame?.data.labels3d ?? []) m.set(b.label, (m.get(b.label) ?? 0) + 1);
    return [...m].sort((a, b) => b[1] - a[1]);
  }, [frame]);

  return (
    <div className="scene-panel">
      <canvas ref={canvasRef} className="scene-canvas" data-testid="scene-canvas" />
      {failure && <div className="panel-empty">{failure}</div>}
      {contextLost && <div className="panel-empty">The GPU context was lost; waiting for it to come back…</div>}
      <div className="overlay overlay-tl scene-toolbar">
        <button className={`chip-button${settings.follow ? ' active' : ''}`} onMouseDown={noFocus} onClick={() => updateScene({ follow: !settings.follow })} title="Follow the ego (F)">
          Follow
        </button>
        <button className={`chip-button${settings.birdsEye ? ' active' : ''}`} onMouseDown={noFocus} onClick={() => updateScene({ birdsEye: !settings.birdsEye })} title="Bird's-eye view (B)">
          BEV
        </button>
        <button className="chip-button" onMouseDown={noFocus} onClick={() => viewRef.current?.resetView()} title="Reset the camera (R)">
          Reset
        </button>
        <span className="sep" />
        <label className="chip-select" title="Colour points by (C)">
          <select value={modeValid ? settings.colorMode : 'height'} onChange={(e) => {
              updateScene({ colorMode: e.target.value });
              e.currentTarget.blur();
            }}>
            <option value="height">Height</option>
            {fields.map((f) => (
              <option key={f} value={f}>
                {f[0]!.toUpperCase() + f.slice(1)}
              </option>
            ))}
          </select>
        </label>
        <label className="chip-select" title="Point size">
          <select value={settings.pointSize} onChange={(e) => {
              updateScene({ pointSize: Number(e.target.value) });
              e.currentTarget.blur();
            }}>
            {[1, 1.5, 2, 3, 4, 6].map((s) => (
              <option key={s} value={s}>
                {s} px
              </option>
            ))}
          </select>
        </label>
        <button className={`chip-button${settings.showBoxes ? ' active' : ''}`} onMouseDown={noFocus} onClick={() => updateScene({ showBoxes: !settings.showBoxes })} title="Show 3D boxes">
          Boxes
        </button>
        <button className={`chip-button${settings.showFrustum ? ' active' : ''}`} onMouseDown={noFocus} onClick={() => updateScene({ showFrustum: !settings.showFrustum })} title="Show camera frusta">
          Frusta
        </button>
      </div>
      {lidar && range && (
        <div className="overlay overlay-bl colorbar">
          <span className="colorbar-label">{modeValid ? (settings.colorMode === 'height' ? 'height (m, ego)' : settings.colorMode) : 'height (m, ego)'}</span>
          <span className="colorbar-min">{fmt(range[0])}</span>
          <span className="colorbar-ramp" style={{ background: GRADIENT }} />
          <span className="colorbar-max">{fmt(range[1])}</span>
        </div>
      )}
      {frame && (
        <div className="overlay overlay-br legend">
          <span className="legend-item muted">{lidar ? `${lidar.count.toLocaleString('en-US')} pts` : 'no lidar'}</span>
          {boxCounts.map(([label, n]) => (
            <span key={label} className="legend-item">
              <i style={{ background: classColor(label) }} />
              {label} {n}
            </span>
          ))}
        </div>
      )}
      {hover && (
        <Tooltip x={hover.x} y={hover.y} width={canvasRef.current?.clientWidth ?? 0} height={canvasRef.current?.clientHeight ?? 0}>
          <div className="tooltip-title">
            <i style={{ background: classColor(hover.box.label) }} />
            {hover.box.label}
          </div>
          <table>
            <tbody>
              <tr>
                <th>id</th>
                <td>{hover.box.id}</td>
              </tr>
              {hover.box.trackId && (
                <tr>
                  <th>track</th>
                  <td>{hover.box.trackId}</td>
                </tr>
              )}
              {hover.box.score !== undefined && (
                <tr>
                  <th>score</th>
                  <td>{hover.box.score.toFixed(3)}</td>
                </tr>
              )}
              <tr>
                <th>size</th>
                <td>{hover.box.size.map((v) => v.toFixed(2)).join(' × ')} m</td>
              </tr>
              <tr>
                <th>range</th>
                <td>{hover.distance.toFixed(1)} m</td>
              </tr>
              <tr>
                <th>yaw</th>
                <td>{((hover.box.yaw * 180) / Math.PI).toFixed(1)}°</td>
              </tr>
            </tbody>
          </table>
        </Tooltip>
      )}
    </div>
  );
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1);
}
