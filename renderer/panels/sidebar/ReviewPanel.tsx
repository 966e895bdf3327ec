// What is drawn: the score threshold, the class filter and the layers (1–9), plus mask opacity and
// the size of lidar points projected into the cameras.
import { useRef, type ReactNode } from 'react';
import { classColor } from '../../app/classColors.js';
import { toggleClass, toggleLayer, updateReview, useApp } from '../../state/appState.js';
import { LAYERS } from '../../state/layers.js';

export function ReviewPanel(): ReactNode {
  const review = useApp((s) => s.review);
  const layers = useApp((s) => s.layers);
  const classes = useSeenClasses();
  return (
    <div className="review-panel" data-testid="review-panel">
      <label className="slider-field">
        <span>Score ≥</span>
        <input
          type="range"
          min={0}
          max={1}
          step={0.01}
          value={review.scoreThreshold}
          onChange={(e) => updateReview({ scoreThreshold: Number(e.target.value) })}
          data-testid="score-threshold"
          aria-label="Score threshold"
        />
        <span className="mono value">{review.scoreThreshold.toFixed(2)}</span>
      </label>
      <h4>
        Classes
        {review.hiddenClasses.length > 0 && (
          <button className="link" onClick={() => updateReview({ hiddenClasses: [] })}>
            show all
          </button>
        )}
      </h4>
      <div className="class-chips" data-testid="class-filter">
        {classes.length === 0 && <span className="muted">No classes yet</span>}
        {classes.map((c) => {
          const hidden = review.hiddenClasses.includes(c);
          return (
            <button key={c} className={`class-chip${hidden ? ' off' : ''}`} onMouseDown={(e) => e.preventDefault()} onClick={() => toggleClass(c)} title={hidden ? 'Hidden: click to show' : 'Click to hide'} data-class={c}>
              <i style={{ background: classColor(c) }} />
              {c}
            </button>
          );
        })}
      </div>
      <h4>Layers</h4>
      <ul className="layer-list">
        {LAYERS.map((layer) => (
          <li key={layer.id}>
            <label className="check" title={layer.description}>
              <input type="checkbox" checked={layers[layer.id]} onChange={() => toggleLayer(layer.id)} data-testid={`layer-${layer.id}`} />
              <kbd>{layer.key}</kbd>
              {layer.label}
            </label>
          </li>
        ))}
      </ul>
      <label className="slider-field">
        <span>Mask opacity</span>
        <input type="range" min={0} max={1} step={0.05} value={review.maskOpacity} onChange={(e) => updateReview({ maskOpacity: Number(e.target.value) })} aria-label="Mask opacity" data-testid="mask-opacity" />
        <span className="mono value">{Math.round(review.maskOpacity * 100)}%</span>
      </label>
      <label className="slider-field">
        <span>Lidar point size</span>
        <input type="range" min={1} max={6} step={0.5} value={review.projectionPointSize} onChange={(e) => updateReview({ projectionPointSize: Number(e.target.value) })} aria-label="Projected lidar point size" data-testid="projection-point-size" />
        <span className="mono value">{review.projectionPointSize} px</span>
      </label>
    </div>
  );
}

/**
 * Classes seen on this log so far (labels and detections), lower-cased and kept across frames, so
 * the filter does not reshuffle while stepping.
 */
function useSeenClasses(): string[] {
  const logId = useApp((s) => s.log?.id);
  const frame = useApp((s) => s.frame);
  const detections = useApp((s) => s.detections);
  const hidden = useApp((s) => s.review.hiddenClasses);
  const seen = useRef<{ logId: string | undefined; names: string[] }>({ logId, names: [] });
  if (seen.current.logId !== logId) seen.current = { logId, names: [] };
  // Derived during render (a ref, no state update per frame): stepping stays one render per frame.
  const names = new Set<string>([...seen.current.names, ...hidden]);
  for (const b of frame?.data.labels3d ?? []) names.add(b.label.toLowerCase());
  for (const b of frame?.data.labels2d ?? []) if (!b.ignore) names.add(b.label.toLowerCase());
  for (const r of detections?.runs ?? []) {
    for (const b of r.boxes2d) names.add(b.label.toLowerCase());
    for (const b of r.boxes3d) names.add(b.label.toLowerCase());
  }
  if (names.size !== seen.current.names.length) seen.current = { logId, names: [...names].sort() };
  return seen.current.names;
}
