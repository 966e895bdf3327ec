// `npm run bench:ui`'s baseline: an otherwise empty three.js scene drawing a cloud with the 3D
// panel's point material, canvas size, pixel ratio and camera, timed the same way (each render
// waited for on the GPU). The ratio against the 3D panel is Sightline's overhead.
import { Color, ColorManagement, LinearSRGBColorSpace, PerspectiveCamera, Scene, WebGLRenderer } from 'three';
import type { PointCloud } from '../../src/logs/model.js';
import { PointCloudRenderable } from '../renderables/PointCloudRenderable.js';
import type { SceneRenderBench } from '../panels/scene/sceneView.js';

ColorManagement.enabled = false;

type Setup = Omit<SceneRenderBench, 'ms' | 'drawCalls'>;

let renderer: WebGLRenderer | null = null;
let rendererKey = '';

function bareRender(cloud: PointCloud, frames: number, setup: Setup): { ms: number[]; drawCalls: number } {
  const canvas = document.getElementById('bare') as HTMLCanvasElement;
  // One context per setup, like the panel (creating one per call would measure warm-up).
  const key = `${setup.width}x${setup.height}:${setup.antialias}`;
  if (!renderer || key !== rendererKey) {
    renderer?.dispose();
    renderer = new WebGLRenderer({ canvas, antialias: setup.antialias, preserveDrawingBuffer: true, powerPreference: 'high-performance' });
    renderer.outputColorSpace = LinearSRGBColorSpace;
    renderer.setClearColor(new Color(0x0d1014), 1);
    renderer.setPixelRatio(1);
    renderer.setSize(setup.width, setup.height);
    rendererKey = key;
  }
  const scene = new Scene();
  const points = new PointCloudRenderable();
  points.setPointSize(setup.pointSize, 1);
  points.update(cloud);
  points.object.matrix.fromArray(setup.pointsMatrix);
  points.object.matrixWorldNeedsUpdate = true;
  scene.add(points.object);
  const camera = new PerspectiveCamera(setup.camera.fov, setup.width / setup.height, setup.camera.near, setup.camera.far);
  camera.position.fromArray(setup.camera.position);
  camera.quaternion.fromArray(setup.camera.quaternion);

  const gl = renderer.getContext();
  const pixel = new Uint8Array(4);
  const r = renderer;
  const timed = () => {
    const started = performance.now();
    r.render(scene, camera);
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
    return performance.now() - started;
  };
  timed(); // uploads the points
  const ms = Array.from({ length: frames }, timed);
  const drawCalls = renderer.info.render.calls;
  points.dispose();
  return { ms, drawCalls };
}

declare global {
  interface Window {
    __bare?: { render: typeof bareRender };
  }
}

window.__bare = { render: bareRender };
