// Extra camera layers contributed by feature modules (saliency heatmaps, editing handles, ...),
// drawn by every CameraView in image space, so features need not edit the view itself.
export interface CameraOverlayContext {
  ctx: CanvasRenderingContext2D;
  sensorId: string;
  frameIndex: number;
  /** Image pixel -> canvas pixel: x' = ox + x * s. */
  transform: { s: number; ox: number; oy: number };
  dpr: number;
  imageWidth: number;
  imageHeight: number;
}

export interface CameraOverlay {
  id: string;
  /** 'under-boxes' draws clipped to the image before boxes; 'over-boxes' draws after them. */
  stage: 'under-boxes' | 'over-boxes';
  draw(context: CameraOverlayContext): void;
}

const overlays = new Map<string, CameraOverlay>();
const redrawListeners = new Set<() => void>();

export function registerCameraOverlay(overlay: CameraOverlay): () => void {
  overlays.set(overlay.id, overlay);
  requestCameraRedraw();
  return () => {
    if (overlays.get(overlay.id) === overlay) overlays.delete(overlay.id);
    requestCameraRedraw();
  };
}

export function cameraOverlays(stage: CameraOverlay['stage']): CameraOverlay[] {
  return [...overlays.values()].filter((o) => o.stage === stage);
}

/** Asks every camera view to repaint (an overlay's data changed). */
export function requestCameraRedraw(): void {
  redrawListeners.forEach((l) => l());
}

export function onCameraRedrawRequest(listener: () => void): () => void {
  redrawListeners.add(listener);
  return () => redrawListeners.delete(listener);
}
