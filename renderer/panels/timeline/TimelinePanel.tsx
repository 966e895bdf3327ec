// Transport controls, the scrub bar and the current time.
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { FrameStub } from '../../../src/logs/model.js';
import { Icon } from '../../app/icons.js';
import { formatStampSeconds, formatStampUtc } from '../../app/format.js';
import { useSession } from '../../app/sessionContext.js';
import { SPEEDS, useApp, type MarkerKind, type TimelineMarker } from '../../state/appState.js';
import { INTRUSION_COLOR } from '../../state/plan.js';
import { nearestIndex } from '../../state/player.js';
import { ThumbnailCache } from '../../state/thumbnails.js';

const noFocus = (e: React.MouseEvent) => e.preventDefault();

export function TimelinePanel(): ReactNode {
  const session = useSession();
  const stubs = useApp((s) => s.stubs);
  const frameIndex = useApp((s) => s.frameIndex);
  const playing = useApp((s) => s.playing);
  const speed = useApp((s) => s.speed);
  const loading = useApp((s) => s.frameLoading);
  const frameError = useApp((s) => s.frameError);
  const range = useApp((s) => s.range);
  const markers = useApp((s) => s.markers);
  const stub = stubs[frameIndex];
  const nextMarker = (direction: 1 | -1) => {
    const list = direction > 0 ? markers : [...markers].reverse();
    const m = list.find((x) => (direction > 0 ? x.index > frameIndex : x.index < frameIndex));
    if (m) session.seek(m.index);
  };
  const count = stubs.length;
  const speeds = (SPEEDS as readonly number[]).includes(speed) ? SPEEDS : [...SPEEDS, speed].sort((a, b) => a - b);

  return (
    <div className="timeline" data-testid="timeline">
      <div className="transport">
        <button title="First frame (Home)" onMouseDown={noFocus} onClick={() => session.seek(0)} disabled={!count} aria-label="First frame">
          <Icon name="first" />
        </button>
        <button title="Previous frame (←)" onMouseDown={noFocus} onClick={() => session.step(-1)} disabled={!count} data-testid="step-back" aria-label="Previous frame">
          <Icon name="prev" size={11} />
        </button>
        <button className="play" title="Play / pause (Space)" onMouseDown={noFocus} onClick={() => session.togglePlay()} disabled={count < 2} data-testid="play-button" aria-label={playing ? 'Pause' : 'Play'}>
          <Icon name={playing ? 'pause' : 'play'} size={13} />
        </button>
        <button title="Next frame (→)" onMouseDown={noFocus} onClick={() => session.step(1)} disabled={!count} data-testid="step-forward" aria-label="Next frame">
          <Icon name="next" size={11} />
        </button>
        <button title="Last frame (End)" onMouseDown={noFocus} onClick={() => session.seek(count - 1)} disabled={!count} aria-label="Last frame">
          <Icon name="last" />
        </button>
        <select className="speed" title="Playback speed ([ / ])" value={speed} onChange={(e) => {
            session.setSpeed(Number(e.target.value));
            e.currentTarget.blur(); // give the keyboard back to the shortcuts
          }} data-testid="speed-select">
          {speeds.map((s) => (
            <option key={s} value={s}>
              {s}×
            </option>
          ))}
        </select>
        <span className="transport-extra">
          <button title="Previous frame of interest" onMouseDown={noFocus} onClick={() => nextMarker(-1)} disabled={!markers.some((m) => m.index < frameIndex)} aria-label="Previous marker">
            ◆‹
          </button>
          <button title="Next frame of interest" onMouseDown={noFocus} onClick={() => nextMarker(1)} disabled={!markers.some((m) => m.index > frameIndex)} aria-label="Next marker">
            ›◆
          </button>
          {range && (
            <span className="range-chip" data-testid="range-chip" title="Playback and new runs use this range">
              #{range.start}–#{range.end}
              <button className="chip-close" onMouseDown={noFocus} onClick={() => session.setRange(null)} aria-label="Clear the range">
                ×
              </button>
            </span>
          )}
        </span>
      </div>
      <ScrubBar stubs={stubs} index={frameIndex} onSeek={(i) => session.seek(i)} />
      <div className="clock">
        <div className="clock-main">
          <span className="clock-time" data-testid="frame-time">
            {stub ? stub.timeS.toFixed(3) : '—'}
          </span>
          <span className="clock-unit">s</span>
          <span className="clock-total">/ {count ? stubs[count - 1]!.timeS.toFixed(3) : '—'}</span>
          <span className={`loading-dot${loading ? ' on' : ''}`} title={loading ? 'Loading frame…' : ''} />
        </div>
        <div className="clock-sub">
          <span className="label">frame</span>
          <span className="mono" data-testid="frame-index">
            {count ? frameIndex : '—'}
          </span>
          <span className="muted">of {count}</span>
          <span className="label">stamp</span>
          <span className="mono stamp" data-testid="frame-timestamp" title={stub ? `${formatStampSeconds(stub.stampNs)} s · ${formatStampUtc(stub.stampNs, 9)}` : undefined}>
            {stub?.stampNs ?? '—'}
          </span>
        </div>
        <div className="clock-sub">
          <span className="muted" title="UTC">
            {stub ? formatStampUtc(stub.stampNs, 3) : ''}
          </span>
          {frameError && (
            <span className="frame-error" title={frameError}>
              ⚠ {frameError}
            </span>
          )}
        </div>
      </div>
    </div>
  );
}

interface HoverState {
  x: number;
  index: number;
  t: number;
}

function ScrubBar({ stubs, index, onSeek }: { stubs: FrameStub[]; index: number; onSeek(index: number): void }): ReactNode {
  const session = useSession();
  const logId = useApp((s) => s.log?.id);
  const markers = useApp((s) => s.markers);
  const range = useApp((s) => s.range);
  const ref = useRef<HTMLDivElement>(null);
  const [hover, setHover] = useState<HoverState | null>(null);
  const drag = useRef<{ mode: 'seek' | 'range'; anchor: number } | null>(null);
  const t0 = stubs[0]?.timeS ?? 0;
  const t1 = stubs[stubs.length - 1]?.timeS ?? 1;
  const span = Math.max(1e-9, t1 - t0);
  const fractionOf = useCallback((t: number) => (t - t0) / span, [t0, span]);
  const current = stubs[index];
  const ticks = useMemo(() => timeTicks(t0, t1), [t0, t1]);
  const [, setThumbVersion] = useState(0);
  // Created and disposed by the same effect: the cache in use is always alive.
  const [thumbnails, setThumbnails] = useState<ThumbnailCache | null>(null);
  useEffect(() => {
    if (!logId) return;
    const cache = new ThumbnailCache(session.api, logId, () => setThumbVersion((v) => v + 1));
    setThumbnails(cache);
    return () => cache.dispose();
  }, [logId, session]);

  const locate = (clientX: number): HoverState => {
    const rect = ref.current!.getBoundingClientRect();
    const x = Math.max(0, Math.min(rect.width, clientX - rect.left));
    const t = t0 + (x / rect.width) * span;
    return { x, t, index: nearestIndex(stubs, t) };
  };
  const thumbnail = hover && !drag.current ? thumbnails?.get(hover.index) : undefined;

  return (
    <div
      className="scrub"
      data-testid="scrub-bar"
      ref={ref}
      role="slider"
      aria-label="Frame"
      aria-valuemin={0}
      aria-valuemax={Math.max(0, stubs.length - 1)}
      aria-valuenow={index}
      title="Click or drag to seek · Shift-drag to select a range"
      onPointerDown={(e) => {
        if (!stubs.length || e.button !== 0) return;
        e.preventDefault();
        e.currentTarget.setPointerCapture(e.pointerId);
        const at = locate(e.clientX);
        setHover(at);
        if (e.shiftKey) {
          drag.current = { mode: 'range', anchor: at.index };
          session.setRange(null);
        } else {
          drag.current = { mode: 'seek', anchor: at.index };
          onSeek(at.index);
        }
      }}
      onPointerMove={(e) => {
        if (!stubs.length) return;
        const at = locate(e.clientX);
        setHover(at);
        const d = drag.current;
        if (d?.mode === 'seek' && at.index !== index) onSeek(at.index);
        if (d?.mode === 'range') session.setRange({ start: Math.min(d.anchor, at.index), end: Math.max(d.anchor, at.index) });
      }}
      onPointerUp={(e) => {
        drag.current = null;
        e.currentTarget.releasePointerCapture(e.pointerId);
      }}
      onPointerLeave={() => {
        if (!drag.current) setHover(null);
      }}
    >
      <div className="scrub-track">
        {range && stubs[range.start] && stubs[range.end] && (
          <div
            className="scrub-range"
            data-testid="scrub-range"
            style={{ left: `${fractionOf(stubs[range.start]!.timeS) * 100}%`, width: `${(fractionOf(stubs[range.end]!.timeS) - fractionOf(stubs[range.start]!.timeS)) * 100}%` }}
          />
        )}
        <div className="scrub-fill" style={{ width: `${current ? fractionOf(current.timeS) * 100 : 0}%` }} />
        <MarkerStrip markers={markers} stubs={stubs} fractionOf={fractionOf} />
        {ticks.map((t) => (
          <div key={t} className="scrub-tick" style={{ left: `${fractionOf(t) * 100}%` }}>
            <span>{Number.isInteger(t) ? t : t.toFixed(1)}s</span>
          </div>
        ))}
        {hover && <div className="scrub-hover-line" style={{ left: hover.x }} />}
        {current && <div className="scrub-thumb" style={{ left: `${fractionOf(current.timeS) * 100}%` }} />}
      </div>
      {hover && (
        <div className="scrub-tooltip" style={{ left: hover.x }} data-testid="scrub-preview">
          {!drag.current && <Thumbnail bitmap={thumbnail ?? null} />}
          <span>
            {hover.t.toFixed(3)} s · #{hover.index}
          </span>
        </div>
      )}
    </div>
  );
}

/** Lanes top to bottom: consequences (intrusions, safety misses), review work, model output. */
const MARKER_STYLES: Record<MarkerKind, { lane: number; color: string }> = {
  intrusion: { lane: 0, color: INTRUSION_COLOR },
  safety: { lane: 0, color: '#ff2d6f' },
  review: { lane: 1, color: '#4fc3f7' },
  issue: { lane: 1, color: '#ff8a65' },
  query: { lane: 1, color: '#b388ff' },
  eval: { lane: 1, color: '#69f0ae' },
  detection: { lane: 2, color: '#ffb443' },
};

/** Markers of interest as one canvas (thousands of frames stay cheap). */
function MarkerStrip({ markers, stubs, fractionOf }: { markers: TimelineMarker[]; stubs: FrameStub[]; fractionOf(t: number): number }): ReactNode {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas) return;
    const draw = () => {
      const dpr = window.devicePixelRatio || 1;
      const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
      const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
      if (canvas.width !== w || canvas.height !== h) {
        canvas.width = w;
        canvas.height = h;
      }
      const g = canvas.getContext('2d');
      if (!g) return;
      g.clearRect(0, 0, w, h);
      const width = Math.max(1, 2 * dpr);
      const lane = h / 3;
      for (const m of markers) {
        const stub = stubs[m.index];
        if (!stub) continue;
        const style = MARKER_STYLES[m.kind];
        g.fillStyle = m.color ?? style.color;
        g.fillRect(Math.round(fractionOf(stub.timeS) * (w - width)), style.lane * lane, width, lane);
      }
    };
    draw();
    const observer = new ResizeObserver(draw);
    observer.observe(canvas);
    return () => observer.disconnect();
  }, [markers, stubs, fractionOf]);
  return <canvas ref={ref} className="scrub-markers" data-testid="timeline-markers" data-count={markers.length} />;
}

function Thumbnail({ bitmap }: { bitmap: ImageBitmap | null }): ReactNode {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas || !bitmap) return;
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    canvas.getContext('2d')?.drawImage(bitmap, 0, 0);
  }, [bitmap]);
  if (!bitmap) return <div className="scrub-thumbnail pending" />;
  return <canvas ref={ref} className="scrub-thumbnail" data-testid="scrub-thumbnail" style={{ aspectRatio: `${bitmap.width} / ${bitmap.height}` }} />;
}

/** Round-number second marks, about 6–12 over the span. */
function timeTicks(t0: number, t1: number): number[] {
  const span = t1 - t0;
  if (!(span > 0)) return [];
  const steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600];
  const step = steps.find((s) => span / s <= 12) ?? 600;
  const out: number[] = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1 + 1e-9; t += step) out.push(Math.round(t * 1000) / 1000);
  return out;
}
