import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { classColor } from '../../app/classColors.js';
import { Tooltip } from '../../app/Tooltip.js';
import type { PanelProps } from '../../app/panelRegistry.js';
import { useSession } from '../../app/sessionContext.js';
import { useApp } from '../../state/appState.js';
import { CameraView, type HoverInfo } from './cameraView.js';

export function CameraPanel({ param: sensorId }: PanelProps): ReactNode {
  const session = useSession();
  const frame = useApp((s) => s.frame);
  const selection = useApp((s) => s.selection);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const viewRef = useRef<CameraView | null>(null);
  const [hover, setHover] = useState<HoverInfo | null>(null);
  const [zoom, setZoom] = useState<{ zoomed: boolean; percent: number }>({ zoomed: false, percent: 100 });
  const [failure, setFailure] = useState<string | null>(null);

  const camera = frame?.data.cameras.find((c) => c.sensorId === sensorId);
  const bitmap = frame?.images.get(sensorId) ?? null;
  const boxes = useMemo(() => frame?.data.labels2d.filter((b) => b.sensorId === sensorId) ?? [], [frame, sensorId]);

  useEffect(() => {
    const canvas = canvasRef.current!;
    let view: CameraView;
    try {
      view = new CameraView(canvas);
    } catch (error) {
      setFailure(error instanceof Error ? error.message : String(error));
      return;
    }
    view.onHover = setHover;
    view.onSelect = (box) => session.select(box ? { kind: 'box2d', id: box.id, trackId: box.trackId } : null);
    view.onZoomChange = (zoomed, percent) => setZoom({ zoomed, percent });
    viewRef.current = view;
    return () => {
      view.dispose();
      viewRef.current = null;
    };
  }, [session]);

  useEffect(() => {
    const view = viewRef.current;
    if (!view) return;
    if (!frame || !camera) {
      view.setContent(null);
      return;
    }
    view.setContent({
      index: frame.data.index,
      bitmap,
      width: bitmap?.width || camera.intrinsics.width,
      height: bitmap?.height || camera.intrinsics.height,
      boxes,
    });
  }, [frame, camera, bitmap, boxes]);

  useEffect(() => viewRef.current?.setSelection(selection), [selection]);

  const counts = useMemo(() => {
    const byClass = new Map<string, number>();
    let ignored = 0;
    for (const b of boxes) {
      if (b.ignore) ignored++;
      else byClass.set(b.label, (byClass.get(b.label) ?? 0) + 1);
    }
    return { byClass: [...byClass].sort((a, b) => b[1] - a[1]), ignored };
  }, [boxes]);

  return (
    <div className="camera-panel">
      <canvas ref={canvasRef} className="camera-canvas" data-testid="camera-canvas" data-sensor={sensorId} />
      {failure && <div className="panel-empty">Canvas unavailable: {failure}</div>}
      {frame && !camera && <div className="panel-empty">No image from {sensorId} in this frame</div>}
      {camera && (
        <div className="overlay overlay-tl">
          <span className="chip">{sensorId}</span>
          <span className="chip muted">
            {bitmap?.width ?? camera.intrinsics.width}×{bitmap?.height ?? camera.intrinsics.height} · {camera.format.toUpperCase()}
          </span>
          {Math.abs(camera.skewS) >= 0.0005 && (
            <span className={`chip ${Math.abs(camera.skewS) > 0.05 ? 'warn' : 'muted'}`} title="Camera stamp minus the frame's reference stamp">
              Δt {(camera.skewS * 1000).toFixed(1)} ms
            </span>
          )}
        </div>
      )}
      {zoom.zoomed && (
        <div className="overlay overlay-tr">
          <span className="chip">{zoom.percent}%</span>
          <button className="chip-button" onClick={() => viewRef.current?.resetView()} title="Fit (double-click)">
            Fit
          </button>
        </div>
      )}
      {camera && boxes.length > 0 && (
        <div className="overlay overlay-bl legend">
          {counts.byClass.map(([label, n]) => (
            <span key={label} className="legend-item">
              <i style={{ background: classColor(label) }} />
              {label} {n}
            </span>
          ))}
          {counts.ignored > 0 && (
            <span className="legend-item">
              <i className="hatched" />
              ignore {counts.ignored}
            </span>
          )}
        </div>
      )}
      {hover && <BoxTooltip info={hover} width={canvasRef.current?.clientWidth ?? 0} height={canvasRef.current?.clientHeight ?? 0} />}
    </div>
  );
}

function BoxTooltip({ info, width, height }: { info: HoverInfo; width: number; height: number }): ReactNode {
  const { box, x, y } = info;
  return (
    <Tooltip x={x} y={y} width={width} height={height}>
      <div className="tooltip-title">
        <i style={{ background: box.ignore ? '#8a919c' : classColor(box.label) }} />
        {box.ignore ? `${box.label} (ignore region)` : box.label}
      </div>
      <table>
        <tbody>
          <tr>
            <th>id</th>
            <td>{box.id}</td>
          </tr>
          {box.trackId && (
            <tr>
              <th>track</th>
              <td>{box.trackId}</td>
            </tr>
          )}
          {box.score !== undefined && (
            <tr>
              <th>score</th>
              <td>{box.score.toFixed(3)}</td>
            </tr>
          )}
          <tr>
            <th>box</th>
            <td>
              ({box.x1.toFixed(0)}, {box.y1.toFixed(0)}) – ({box.x2.toFixed(0)}, {box.y2.toFixed(0)})
            </td>
          </tr>
          <tr>
            <th>size</th>
            <td>
              {(box.x2 - box.x1).toFixed(0)} × {(box.y2 - box.y1).toFixed(0)} px
            </td>
          </tr>
        </tbody>
      </table>
    </Tooltip>
  );
}
