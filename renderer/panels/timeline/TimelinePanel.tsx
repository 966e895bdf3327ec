// Transport controls, the scrub bar and the current time.
import { useMemo, useRef, useState, type ReactNode } from 'react';
import type { FrameStub } from '../../../src/logs/model.js';
import { Icon } from '../../app/icons.js';
import { formatStampSeconds, formatStampUtc } from '../../app/format.js';
import { useSession } from '../../app/sessionContext.js';
import { SPEEDS, useApp } from '../../state/appState.js';
import { nearestIndex } from '../../state/player.js';

const noFocus = (e: React.MouseEvent) => e.preventDefault();

export function TimelinePanel(): ReactNode {
  const session = useSession();
  const stubs = useApp((s) => s.stubs);
  const frameIndex = useApp((s) => s.frameIndex);
  const playing = useApp((s) => s.playing);
  const speed = useApp((s) => s.speed);
  const loading = useApp((s) => s.frameLoading);
  const frameError = useApp((s) => s.frameError);
  const stub = stubs[frameIndex];
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

function ScrubBar({ stubs, index, onSeek }: { stubs: FrameStub[]; index: number; onSeek(index: number): void }): ReactNode {
  const ref = useRef<HTMLDivElement>(null);
  const [hover, setHover] = useState<{ x: number; index: number; t: number } | null>(null);
  const dragging = useRef(false);
  const t0 = stubs[0]?.timeS ?? 0;
  const t1 = stubs[stubs.length - 1]?.timeS ?? 1;
  const span = Math.max(1e-9, t1 - t0);
  const fractionOf = (t: number) => (t - t0) / span;
  const current = stubs[index];
  const ticks = useMemo(() => timeTicks(t0, t1), [t0, t1]);

  const locate = (clientX: number) => {
    const rect = ref.current!.getBoundingClientRect();
    const x = Math.max(0, Math.min(rect.width, clientX - rect.left));
    const t = t0 + (x / rect.width) * span;
    return { x, t, index: nearestIndex(stubs, t) };
  };

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
      onPointerDown={(e) => {
        if (!stubs.length || e.button !== 0) return;
        e.preventDefault();
        e.currentTarget.setPointerCapture(e.pointerId);
        dragging.current = true;
        const at = locate(e.clientX);
        setHover(at);
        onSeek(at.index);
      }}
      onPointerMove={(e) => {
        if (!stubs.length) return;
        const at = locate(e.clientX);
        setHover(at);
        if (dragging.current && at.index !== index) onSeek(at.index);
      }}
      onPointerUp={(e) => {
        dragging.current = false;
        e.currentTarget.releasePointerCapture(e.pointerId);
      }}
      onPointerLeave={() => {
        if (!dragging.current) setHover(null);
      }}
    >
      <div className="scrub-track">
        <div className="scrub-fill" style={{ width: `${current ? fractionOf(current.timeS) * 100 : 0}%` }} />
        {ticks.map((t) => (
          <div key={t} className="scrub-tick" style={{ left: `${fractionOf(t) * 100}%` }}>
            <span>{Number.isInteger(t) ? t : t.toFixed(1)}s</span>
          </div>
        ))}
        {hover && <div className="scrub-hover-line" style={{ left: hover.x }} />}
        {current && <div className="scrub-thumb" style={{ left: `${fractionOf(current.timeS) * 100}%` }} />}
      </div>
      {hover && (
        <div className="scrub-tooltip" style={{ left: hover.x }}>
          {hover.t.toFixed(3)} s · #{hover.index}
        </div>
      )}
    </div>
  );
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
