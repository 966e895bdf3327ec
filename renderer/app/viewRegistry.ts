// Live views, for the test hooks and benchmarks: each canvas view registers while mounted.
export interface SnapshotSource<T> {
  snapshot(): T | null;
}

const cameraViews = new Map<string, SnapshotSource<unknown>>();
let sceneView: SnapshotSource<unknown> | null = null;

export function registerCameraView(sensorId: string, view: SnapshotSource<unknown>): () => void {
  cameraViews.set(sensorId, view);
  return () => {
    if (cameraViews.get(sensorId) === view) cameraViews.delete(sensorId);
  };
}

export function registerSceneView(view: SnapshotSource<unknown>): () => void {
  sceneView = view;
  return () => {
    if (sceneView === view) sceneView = null;
  };
}

export function cameraSnapshot(sensorId: string): unknown {
  return cameraViews.get(sensorId)?.snapshot() ?? null;
}

export function cameraSensors(): string[] {
  return [...cameraViews.keys()];
}

export function sceneSnapshot(): unknown {
  return sceneView?.snapshot() ?? null;
}
