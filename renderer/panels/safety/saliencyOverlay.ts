// The saliency heatmap over the camera image it explains (same frame, same camera), with a colour
// legend in the image's corner. Shift+H toggles it.
import { registerCameraOverlay, requestCameraRedraw, type CameraOverlayContext } from '../camera/overlays.js';
import { saliencyStore, setSaliencyView } from '../../state/saliency.js';

type Stops = ReadonlyArray<readonly [number, number, number]>;

/** CSS linear-gradient of a heatmap's colormap, low to high. */
export function colormapGradient(stops: Stops): string {
  return `linear-gradient(to right, ${stops.map(([r, g, b], i) => `rgb(${r}, ${g}, ${b}) ${((i / Math.max(1, stops.length - 1)) * 100).toFixed(1)}%`).join(', ')})`;
}

/** What the overlay last drew, for tests: the camera, frame and image rectangle in canvas pixels. */
export const overlayStats = { draws: 0, last: null as null | { sensorId: string; frameIndex: number; saliencyId: number; x: number; y: number; w: number; h: number; opacity: number } };

function drawLegend(c: CameraOverlayContext, stops: Stops, peak: number): void {
  const { ctx, transform: t, dpr, imageHeight } = c;
  const w = 120 * dpr;
  const h = 8 * dpr;
  const pad = 8 * dpr;
  const x = t.ox + pad;
  const y = t.oy + imageHeight * t.s - pad - h - 14 * dpr;
  ctx.globalAlpha = 1;
  ctx.fillStyle = 'rgba(13, 16, 20, 0.72)';
  ctx.fillRect(x - 6 * dpr, y - 4 * dpr, w + 12 * dpr, h + 22 * dpr);
  const gradient = ctx.createLinearGradient(x, 0, x + w, 0);
  stops.forEach(([r, g, b], i) => gradient.addColorStop(i / Math.max(1, stops.length - 1), `rgb(${r}, ${g}, ${b})`));
  ctx.fillStyle = gradient;
  ctx.fillRect(x, y, w, h);
  ctx.fillStyle = '#d5dce6';
  ctx.font = `${10 * dpr}px ui-sans-serif, system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  ctx.fillText('0', x, y + h + 3 * dpr);
  const label = `score drop ${peak.toFixed(2)}`;
  ctx.fillText(label, x + w - ctx.measureText(label).width, y + h + 3 * dpr);
}

export function registerSaliencyOverlay(): () => void {
  const offOverlay = registerCameraOverlay({
    id: 'saliency',
    stage: 'under-boxes',
    draw(c) {
      const { shown, visible, opacity } = saliencyStore.get();
      if (!visible || !shown?.bitmap || shown.map.sensorId !== c.sensorId || shown.frameIndex !== c.frameIndex) return;
      const { ctx, transform: t } = c;
      const w = c.imageWidth * t.s;
      const h = c.imageHeight * t.s;
      ctx.globalAlpha = opacity;
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(shown.bitmap, t.ox, t.oy, w, h);
      drawLegend(c, shown.map.colormap.stops, shown.map.peak.value);
      overlayStats.draws++;
      overlayStats.last = { sensorId: c.sensorId, frameIndex: c.frameIndex, saliencyId: shown.map.saliencyId, x: t.ox, y: t.oy, w, h, opacity };
    },
  });
  // Repaint the cameras when the map or its settings change.
  let last = saliencyStore.get();
  const offStore = saliencyStore.subscribe(() => {
    const s = saliencyStore.get();
    if (s.shown !== last.shown || s.visible !== last.visible || s.opacity !== last.opacity) requestCameraRedraw();
    last = s;
  });
  // Shift+H: heatmap on / off (outside text fields).
  const onKey = (e: KeyboardEvent) => {
    if (e.ctrlKey || e.metaKey || e.altKey || !e.shiftKey || e.key.toLowerCase() !== 'h') return;
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement || e.target instanceof HTMLSelectElement) return;
    setSaliencyView({ visible: !saliencyStore.get().visible });
  };
  window.addEventListener('keydown', onKey);
  return () => {
    offOverlay();
    offStore();
    window.removeEventListener('keydown', onKey);
  };
}
