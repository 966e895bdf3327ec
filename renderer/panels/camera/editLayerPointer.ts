// Pointer hooks for layers that edit in a camera view (the label edit layer): every CameraView offers
// its primary-button gestures here first, in image pixels of its current zoom/pan transform. A handler
// that takes the pointer-down owns that gesture until release; otherwise the view pans, hovers and
// selects as usual.
export interface CameraPointerInput {
  sensorId: string;
  /** Frame index of the image on screen in that view. */
  frameIndex: number;
  /** Image pixels under the pointer. */
  x: number;
  y: number;
  /** CSS pixels per image pixel (for hit tolerances that stay the same size on screen). */
  cssPerImagePixel: number;
  imageWidth: number;
  imageHeight: number;
  shiftKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
}

export interface CameraPointerHandler {
  id: string;
  /** Return true to take the gesture: the view then sends move/up here and neither pans nor selects. */
  down(input: CameraPointerInput): boolean;
  move(input: CameraPointerInput): void;
  up(input: CameraPointerInput): void;
  /** The gesture ended without an up (pointer capture lost, view disposed). */
  cancel(): void;
  /** CSS cursor to show while hovering (null: the view's own). */
  cursor?(input: CameraPointerInput): string | null;
}

const handlers = new Map<string, CameraPointerHandler>();

export function registerCameraPointerHandler(handler: CameraPointerHandler): () => void {
  handlers.set(handler.id, handler);
  return () => {
    if (handlers.get(handler.id) === handler) handlers.delete(handler.id);
  };
}

export function cameraPointerHandlers(): CameraPointerHandler[] {
  return [...handlers.values()];
}
