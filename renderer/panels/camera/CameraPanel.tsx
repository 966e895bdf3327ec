import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { classColor, IGNORE_COLOR } from '../../app/classColors.js';
import { Tooltip } from '../../app/Tooltip.js';
import type { PanelProps } from '../../app/panelRegistry.js';
import { useSession } from '../../app/sessionContext.js';
import { registerCameraView } from '../../app/viewRegistry.js';
import { classVisible, useApp } from '../../state/appState.js';
import { maskClassVisible, passesFilter } from '../../state/detections.js';
import { groundZOf, intrudingIds, PATH_COLORS } from '../../state/plan.js';
import { runLabel } from '../../state/runLabel.js';
import { turboGradientCss } from '../../renderables/colormap.js';
import { CameraView, type CameraBox2D, type CameraBox3D, type CameraMask, type HoverInfo } from './cameraView.js';
import { EditToolbar } from './editLayerToolbar.js';

const DEPTH_GRADIENT = turboGradientCss('to left'); // near (left) red … far (right) blue
const EMPTY_SET: ReadonlySet<string> = new Set();

export function CameraPanel({ param: sensorId }: PanelProps): ReactNode {
  const session = useSession();
  const frame = useApp((s) => s.frame);
  const selection = useApp((s) => s.selection);
  const detections = useApp((s) => s.detections);
  const layers = useApp((s) => s.layers);
  const review = useApp((s) => s.review);
  const runs = useApp((s) => s.runs);
  const runStyles = useApp((s) => s.runStyles);
  const paths = useApp((s) => s.paths);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const viewRef = useRef<CameraView | null>(null);
  const [hover, setHover] = useState<HoverInfo | null>(null);
  const [zoom, setZoom] = useState<{ zoomed: boolean; percent: number }>({ zoomed: false, percent: 100 });
  const [failure, setFailure] = useState<string | null>(null);

  const data = frame?.data;
  const camera = data?.cameras.find((c) => c.sensorId === sensorId);
  const bitmap = frame?.images.get(sensorId) ?? null;
  const frameRuns = detections && data && detections.frameIndex === data.index ? detections.runs : null;

  const runInfo = useMemo(() => new Map(runs.map((r) => [r.runId, { name: runLabel(r), color: runStyles[r.runId]?.color ?? '#ffffff' }])), [runs, runStyles]);

  const boxes2d = useMemo<CameraBox2D[]>(() => {
    const out: CameraBox2D[] = [];
    if (!data) return out;
    if (layers.gt2d) {
      for (const b of data.labels2d) {
        if (b.sensorId !== sensorId || (!b.ignore && !classVisible(review, b.label))) continue;
        out.push({ id: b.id, kind: 'gt', label: b.label, x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2, trackId: b.trackId, score: b.score, ignore: b.ignore });
      }
    }
    if (layers.detections && frameRuns) {
      for (const run of frameRuns) {
        const info = runInfo.get(run.runId);
        for (const b of run.boxes2d) {
          if (b.sensorId !== sensorId || !passesFilter(review, b)) continue;
          out.push({ id: b.id, kind: 'detection', label: b.label, x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2, trackId: b.trackId, score: b.score, runName: info?.name, runTag: `#${run.runId}`, runColor: info?.color });
        }
      }
    }
    return out;
  }, [data, sensorId, layers.gt2d, layers.detections, frameRuns, review, runInfo]);

  const boxes3d = useMemo<CameraBox3D[]>(() => {
    const out: CameraBox3D[] = [];
    if (!data || !layers.wireframes) return out;
    if (layers.gt3d) {
      for (const b of data.labels3d) if (classVisible(review, b.label)) out.push({ id: b.id, kind: 'gt', label: b.label, center: b.center, size: b.size, yaw: b.yaw, trackId: b.trackId, score: b.score });
    }
    if (layers.detections && frameRuns) {
      for (const run of frameRuns) {
        const info = runInfo.get(run.runId);
        for (const b of run.boxes3d) {
          if (!passesFilter(review, b)) continue;
          out.push({ id: b.id, kind: 'detection', label: b.label, center: b.center, size: b.size, yaw: b.yaw, trackId: b.trackId, score: b.score, runName: info?.name, runColor: info?.color });
        }
      }
    }
    return out;
  }, [data, layers.wireframes, layers.gt3d, layers.detections, frameRuns, review, runInfo]);

  const masks = useMemo(() => {
    const out: Array<CameraMask & { classes: string[]; present: number[] }> = [];
    if (!layers.masks || !frameRuns) return out;
    for (const run of frameRuns) for (const m of run.masks) if (m.sensorId === sensorId && m.bitmap) out.push({ bitmap: m.bitmap, width: m.width, height: m.height, classes: m.classes, present: m.present });
    return out;
  }, [layers.masks, frameRuns, sensorId]);

  const overlays = useMemo(() => (layers.paths && paths && data && paths.frameIndex === data.index ? paths.overlays : []), [layers.paths, paths, data]);
  // Intruding 3D boxes, and the 2D labels of the same tracks.
  const intrusions = useMemo(() => {
    if (!overlays.length) return EMPTY_SET;
    const ids = intrudingIds(overlays);
    if (ids.size === 0 || !data) return ids;
    const tracks = new Set(data.labels3d.filter((b) => ids.has(b.id) && b.trackId).map((b) => b.trackId!));
    for (const b of data.labels2d) if (b.trackId && tracks.has(b.trackId)) ids.add(b.id);
    return ids;
  }, [overlays, data]);

  useEffect(() => {
    const canvas = canvasRef.current!;
    let view: CameraView;
    try {
      view = new CameraView(canvas, sensorId);
    } catch (error) {
      setFailure(error instanceof Error ? error.message : String(error));
      return;
    }
    view.onHover = setHover;
    view.onSelect = (item) => session.select(item ? { kind: item.kind === 'box3d' ? 'box3d' : 'box2d', id: item.id, trackId: item.trackId } : null);
    view.onZoomChange = (zoomed, percent) => setZoom({ zoomed, percent });
    viewRef.current = view;
    const unregister = registerCameraView(sensorId, view);
    return () => {
      unregister();
      view.dispose();
      viewRef.current = null;
    };
  }, [session, sensorId]);

  useEffect(() => {
    const view = viewRef.current;
    if (!view) return;
    if (!data || !camera) {
      view.setContent(null);
      return;
    }
    view.setContent({
      index: data.index,
      bitmap,
      width: bitmap?.width || camera.intrinsics.width,
      height: bitmap?.height || camera.intrinsics.height,
      camera,
      boxes2d,
      boxes3d,
      masks,
      maskOpacity: review.maskOpacity,
      lidar: layers.lidarProjection ? (data.lidar ?? null) : null,
      pointSize: review.projectionPointSize,
      paths: overlays,
      groundZ: overlays.length ? groundZOf(data) : 0,
      intrusions,
    });
  }, [data, camera, bitmap, boxes2d, boxes3d, masks, review.maskOpacity, review.projectionPointSize, layers.lidarProjection, overlays, intrusions]);

  useEffect(() => viewRef.current?.setSelection(selection), [selection]);

  const legend = useMemo(() => {
    const byClass = new Map<string, { gt: number; det: number }>();
    let ignored = 0;
    for (const b of boxes2d) {
      if (b.ignore) {
        ignored++;
        continue;
      }
      const e = byClass.get(b.label.toLowerCase()) ?? { gt: 0, det: 0 };
      if (b.kind === 'gt') e.gt++;
      else e.det++;
      byClass.set(b.label.toLowerCase(), e);
    }
    const maskClasses = new Set<string>();
    for (const m of masks) for (const i of m.present) if (m.classes[i] && maskClassVisible(m.classes[i]!)) maskClasses.add(m.classes[i]!);
    // Runs with detections drawn here: their colour marks the box tags.
    const runsShown = new Map<string, { color: string; count: number }>();
    for (const b of [...boxes2d, ...boxes3d]) {
      if (b.kind !== 'detection' || !b.runName) continue;
      const e = runsShown.get(b.runName) ?? { color: b.runColor ?? '#ffffff', count: 0 };
      e.count++;
      runsShown.set(b.runName, e);
    }
    return { byClass: [...byClass].sort((a, b) => b[1].gt + b[1].det - (a[1].gt + a[1].det)), ignored, maskClasses: [...maskClasses], runs: [...runsShown] };
  }, [boxes2d, boxes3d, masks]);

  return (
    <div className="camera-panel">
      <canvas ref={canvasRef} className="camera-canvas" data-testid="camera-canvas" data-sensor={sensorId} />
      {failure && <div className="panel-empty">Canvas unavailable: {failure}</div>}
      {data && !camera && <div className="panel-empty">No image from {sensorId} in this frame</div>}
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
      {camera && <EditToolbar />}
      {zoom.zoomed && (
        <div className="overlay overlay-tr">
          <span className="chip">{zoom.percent}%</span>
          <button className="chip-button" onClick={() => viewRef.current?.resetView()} title="Fit (double-click)">
            Fit
          </button>
        </div>
      )}
      {camera && (legend.byClass.length > 0 || legend.runs.length > 0 || legend.ignored > 0 || legend.maskClasses.length > 0 || layers.lidarProjection || overlays.length > 0) && (
        <div className="overlay overlay-bl legend" data-testid="camera-legend">
          {legend.byClass.map(([label, n]) => (
            <span key={label} className="legend-item" title={`${n.gt} ground truth, ${n.det} detections`}>
              <i style={{ background: classColor(label) }} />
              {label} {n.gt > 0 && n.det > 0 ? `${n.gt}/${n.det}` : n.gt + n.det}
            </span>
          ))}
          {legend.ignored > 0 && (
            <span className="legend-item">
              <i className="hatched" style={{ borderColor: IGNORE_COLOR }} />
              ignore {legend.ignored}
            </span>
          )}
          {legend.runs.map(([name, r]) => (
            <span key={`run-${name}`} className="legend-item" title="Detections of this run (solid boxes; ground truth is dashed)">
              <i className="run" style={{ background: r.color }} />
              {name}
            </span>
          ))}
          {legend.maskClasses.length > 0 && <span className="legend-sep" />}
          {legend.maskClasses.map((name) => (
            <span key={`mask-${name}`} className="legend-item mask" title="Segmentation class">
              <i className="square" style={{ background: classColor(name) }} />
              {name}
            </span>
          ))}
          {overlays.map((o) => (
            <span key={o.id} className="legend-item" title={o.source}>
              <i className="line" style={{ background: PATH_COLORS[o.kind] }} />
              {o.kind} path
            </span>
          ))}
          {layers.lidarProjection && data?.lidar && (
            <span className="legend-item depth" title="Lidar depth: near … far">
              near <span className="depth-ramp" style={{ background: DEPTH_GRADIENT }} /> 70 m
            </span>
          )}
        </div>
      )}
      {hover && <HoverCard info={hover} width={canvasRef.current?.clientWidth ?? 0} height={canvasRef.current?.clientHeight ?? 0} />}
    </div>
  );
}

function HoverCard({ info, width, height }: { info: HoverInfo; width: number; height: number }): ReactNode {
  const { item, x, y } = info;
  const r = item.rect;
  const source = item.kind === 'gt2d' ? 'ground truth (2D)' : item.kind === 'box3d' ? (item.runName ? `${item.runName} (3D)` : 'ground truth (3D)') : (item.runName ?? 'detection');
  return (
    <Tooltip x={x} y={y} width={width} height={height}>
      <div className="tooltip-title" data-testid="camera-tooltip">
        <i style={{ background: item.ignore ? IGNORE_COLOR : classColor(item.label) }} />
        {item.ignore ? `${item.label} (ignore region)` : item.label}
        {item.intrudes && <span className="badge danger">in corridor</span>}
      </div>
      <table>
        <tbody>
          <tr>
            <th>source</th>
            <td>
              {item.runColor && <i className="swatch" style={{ background: item.runColor }} />}
              {source}
            </td>
          </tr>
          {item.score !== undefined && (
            <tr>
              <th>score</th>
              <td>{item.score.toFixed(3)}</td>
            </tr>
          )}
          {item.trackId && (
            <tr>
              <th>track</th>
              <td>{item.trackId}</td>
            </tr>
          )}
          {item.distance !== undefined && (
            <tr>
              <th>range</th>
              <td>{item.distance.toFixed(1)} m</td>
            </tr>
          )}
          {item.size && (
            <tr>
              <th>size</th>
              <td>{item.size.map((v) => v.toFixed(2)).join(' × ')} m</td>
            </tr>
          )}
          <tr>
            <th>image</th>
            <td>
              {Math.max(0, r.x2 - r.x1).toFixed(0)} × {Math.max(0, r.y2 - r.y1).toFixed(0)} px at ({r.x1.toFixed(0)}, {r.y1.toFixed(0)})
            </td>
          </tr>
          <tr>
            <th>id</th>
            <td className="mono small">{item.id}</td>
          </tr>
        </tbody>
      </table>
    </Tooltip>
  );
}
