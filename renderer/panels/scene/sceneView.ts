// The 3D view: three.js, rendered on demand (data or camera changed), never in a constant loop.
// Display frames: in follow mode the display frame IS the ego frame (the camera rides behind the
// ego); otherwise it is the world frame (re-centred at a local origin), and the ego drives
// through a fixed scene.
import {
  AmbientLight,
  BufferGeometry,
  Color,
  ColorManagement,
  DirectionalLight,
  Float32BufferAttribute,
  GridHelper,
  Group,
  LinearSRGBColorSpace,
  LineBasicMaterial,
  LineLoop,
  Matrix4,
  OrthographicCamera,
  PerspectiveCamera,
  Ray,
  Raycaster,
  Scene,
  Vector2,
  Vector3,
  WebGLRenderer,
  MOUSE,
} from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import type { Box3D, FrameData } from '../../../src/logs/model.js';
import type { SceneSettings, Selection } from '../../state/appState.js';
import { reportPainted } from '../../state/paint.js';
import { recordStat } from '../../state/stats.js';
import { BoxesRenderable, type BoxHighlight } from '../../renderables/BoxesRenderable.js';
import { createEgoVehicle } from '../../renderables/EgoVehicle.js';
import { FrustumRenderable } from '../../renderables/FrustumRenderable.js';
import { PointCloudRenderable } from '../../renderables/PointCloudRenderable.js';
import { poseToMatrix } from '../../renderables/pose.js';

ColorManagement.enabled = false; // colours are given and shown as sRGB, untouched

const GRID_CELL = 5;
const GRID_CELLS = 60;
const CHASE_POSITION = new Vector3(-19, 0, 11);
const CHASE_TARGET = new Vector3(14, 0, 0);
const BEV_HALF_HEIGHT = 32;

export interface SceneHover {
  box: Box3D;
  distance: number;
  x: number;
  y: number;
}

export class SceneView {
  readonly renderer: WebGLRenderer;
  /** Whether WebGL runs on a software rasterizer (then: no MSAA, device pixel ratio 1). */
  readonly software: boolean;
  private readonly scene = new Scene();
  private readonly perspective = new PerspectiveCamera(50, 1, 0.1, 3000);
  private readonly ortho = new OrthographicCamera(-1, 1, 1, -1, -1000, 3000);
  private readonly controls: OrbitControls;
  private readonly egoGroup = new Group();
  private readonly grid: GridHelper;
  private readonly rings: LineLoop[] = [];
  readonly points = new PointCloudRenderable();
  private readonly boxes = new BoxesRenderable();
  private readonly frusta = new FrustumRenderable();
  private readonly ego = createEgoVehicle();
  private readonly worldFromEgo = new Matrix4();
  private readonly displayFromWorld = new Matrix4();
  private readonly displayFromEgo = new Matrix4();
  private hasEgoPose = false;
  private fixedOrigin: Vector3 | null = null;
  private settings: SceneSettings;
  private selection: Selection | null = null;
  private hoveredId: string | undefined;
  private frameIndex = -1;
  private paintedIndex = -1;
  private raf = 0;
  private disposed = false;
  private readonly resizeObserver: ResizeObserver;
  private readonly cleanup: Array<() => void> = [];
  private pointer: { x: number; y: number; moved: boolean } | null = null;
  private readonly raycaster = new Raycaster();
  private readonly label: HTMLDivElement;
  private readonly labelPoint = new Vector3();
  private readonly scratch = { gridT: new Matrix4(), gridR: new Matrix4().makeRotationX(Math.PI / 2), inv: new Matrix4() };

  onHover: (hover: SceneHover | null) => void = () => undefined;
  onSelect: (box: Box3D | null) => void = () => undefined;
  onContextLost: (lost: boolean) => void = () => undefined;

  constructor(readonly canvas: HTMLCanvasElement, settings: SceneSettings) {
    this.settings = settings;
    // MSAA on real GPUs; software rasterizers (SwiftShader, llvmpipe: CI, VMs) pay dearly for it.
    this.software = isSoftwareRenderer();
    this.renderer = new WebGLRenderer({ canvas, antialias: !this.software, preserveDrawingBuffer: true, powerPreference: 'high-performance' });
    this.renderer.outputColorSpace = LinearSRGBColorSpace;
    this.renderer.setClearColor(new Color(0x0d1014), 1);
    this.renderer.setPixelRatio(this.software ? 1 : Math.min(window.devicePixelRatio || 1, 2));

    for (const camera of [this.perspective, this.ortho]) camera.up.set(0, 0, 1);
    this.controls = new OrbitControls(this.perspective, canvas);
    this.controls.enableDamping = false;
    this.controls.screenSpacePanning = true;
    this.controls.maxDistance = 1500;
    this.controls.addEventListener('change', () => this.invalidate());

    this.scene.add(new AmbientLight(0xffffff, 1.6));
    const sun = new DirectionalLight(0xffffff, 1.8);
    sun.position.set(-3, 2, 10);
    this.scene.add(sun);

    this.grid = new GridHelper(GRID_CELL * GRID_CELLS, GRID_CELLS, 0x2f3a48, 0x1c232c);
    this.grid.matrixAutoUpdate = false;
    (this.grid.material as LineBasicMaterial).transparent = true;
    (this.grid.material as LineBasicMaterial).depthWrite = false;
    this.scene.add(this.grid);

    this.egoGroup.matrixAutoUpdate = false;
    this.egoGroup.add(this.points.object, this.boxes.object, this.frusta.object, this.ego.object);
    const ringMaterial = new LineBasicMaterial({ color: 0x3a4656, transparent: true, opacity: 0.6, depthWrite: false });
    for (const radius of [10, 20, 30, 50]) {
      const positions: number[] = [];
      for (let i = 0; i < 128; i++) {
        const a = (i / 128) * Math.PI * 2;
        positions.push(Math.cos(a) * radius, Math.sin(a) * radius, 0.02);
      }
      const geometry = new BufferGeometry();
      geometry.setAttribute('position', new Float32BufferAttribute(positions, 3));
      const ring = new LineLoop(geometry, ringMaterial);
      this.rings.push(ring);
      this.egoGroup.add(ring);
    }
    this.scene.add(this.egoGroup);

    this.points.setPointSize(settings.pointSize, this.renderer.getPixelRatio());
    this.points.setMode(settings.colorMode);
    this.applyCameraMode(true);

    // A label that follows the selected box (positioned after every render).
    this.label = document.createElement('div');
    this.label.className = 'scene-label';
    this.label.hidden = true;
    canvas.parentElement?.appendChild(this.label);

    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(canvas);
    this.resize();

    this.listen(canvas, 'pointerdown', (e) => {
      const p = e as PointerEvent;
      this.pointer = { x: p.clientX, y: p.clientY, moved: false };
    });
    this.listen(window, 'pointermove', (e) => this.onPointerMove(e as PointerEvent));
    this.listen(window, 'pointerup', (e) => this.onPointerUp(e as PointerEvent));
    this.listen(canvas, 'pointerleave', () => {
      if (!this.pointer) this.setHovered(null);
    });
    this.listen(canvas, 'webglcontextlost', (e) => {
      e.preventDefault();
      this.onContextLost(true);
    });
    this.listen(canvas, 'webglcontextrestored', () => {
      this.onContextLost(false);
      this.invalidate();
    });
  }

  private listen(target: EventTarget, type: string, fn: (e: Event) => void): void {
    target.addEventListener(type, fn);
    this.cleanup.push(() => target.removeEventListener(type, fn));
  }

  get activeCamera(): PerspectiveCamera | OrthographicCamera {
    return this.settings.birdsEye ? this.ortho : this.perspective;
  }

  // ---- data ----------------------------------------------------------------------------------

  /** A new log: forget colour ranges and the fixed-frame origin. */
  resetForLog(): void {
    this.points.resetRanges();
    this.fixedOrigin = null;
    this.frameIndex = -1;
    this.paintedIndex = -1;
  }

  setFrame(frame: FrameData | null): void {
    if (!frame) {
      this.points.update(undefined);
      this.boxes.update([], this.highlight());
      this.frusta.update([]);
      this.frameIndex = -1;
      this.invalidate();
      return;
    }
    this.hasEgoPose = !!frame.egoPose;
    if (frame.egoPose) poseToMatrix(frame.egoPose, this.worldFromEgo);
    else this.worldFromEgo.identity();
    if (!this.fixedOrigin && frame.egoPose) this.fixedOrigin = new Vector3(...frame.egoPose.translation);
    const started = performance.now();
    this.points.update(frame.lidar);
    this.boxes.update(this.settings.showBoxes ? frame.labels3d : [], this.highlight());
    this.frusta.update(this.settings.showFrustum ? frame.cameras : []);
    this.frameIndex = frame.index;
    this.updateDisplayTransforms();
    recordStat('sceneUpload', performance.now() - started);
    this.invalidate();
  }

  setSelection(selection: Selection | null): void {
    this.selection = selection;
    this.boxes.recolor(this.highlight());
    this.invalidate();
  }

  setSettings(next: SceneSettings, frame: FrameData | null): void {
    const prev = this.settings;
    this.settings = next;
    if (next.pointSize !== prev.pointSize) this.points.setPointSize(next.pointSize, this.renderer.getPixelRatio());
    if (next.colorMode !== prev.colorMode) this.points.setMode(next.colorMode);
    if (next.showBoxes !== prev.showBoxes) this.boxes.update(next.showBoxes && frame ? frame.labels3d : [], this.highlight());
    if (next.showFrustum !== prev.showFrustum) this.frusta.update(next.showFrustum && frame ? frame.cameras : []);
    if (next.follow !== prev.follow) this.changeFollow(next.follow);
    if (next.birdsEye !== prev.birdsEye) this.applyCameraMode(true);
    this.invalidate();
  }

  private highlight(): BoxHighlight {
    const sel = this.selection;
    return {
      selectedId: sel?.kind === 'box3d' ? sel.id : undefined,
      selectedTrack: sel?.trackId,
      hoveredId: this.hoveredId,
    };
  }

  // ---- frames of reference -------------------------------------------------------------------

  private computeDisplayFromWorld(follow: boolean, out: Matrix4): Matrix4 {
    if (follow || !this.hasEgoPose) return out.copy(this.worldFromEgo).invert();
    const o = this.fixedOrigin ?? new Vector3();
    return out.makeTranslation(-o.x, -o.y, -o.z);
  }

  private updateDisplayTransforms(): void {
    this.computeDisplayFromWorld(this.settings.follow, this.displayFromWorld);
    if (this.settings.follow || !this.hasEgoPose) this.displayFromEgo.identity();
    else this.displayFromEgo.multiplyMatrices(this.displayFromWorld, this.worldFromEgo);
    this.egoGroup.matrix.copy(this.displayFromEgo);
    this.egoGroup.matrixWorldNeedsUpdate = true;
    // The grid lives in the world, snapped to whole cells under the ego, so it stays put in the
    // world while the ego moves (and scrolls under the car in follow mode).
    const e = this.worldFromEgo.elements;
    const gx = Math.round(e[12]! / GRID_CELL) * GRID_CELL;
    const gy = Math.round(e[13]! / GRID_CELL) * GRID_CELL;
    const worldFromGrid = this.scratch.gridT.makeTranslation(gx, gy, e[14]!).multiply(this.scratch.gridR);
    this.grid.matrix.multiplyMatrices(this.displayFromWorld, worldFromGrid);
    this.grid.matrixWorldNeedsUpdate = true;
  }

  private changeFollow(follow: boolean): void {
    if (!follow && this.hasEgoPose) {
      // Keep the view where it is: re-express the camera (given in the ego frame) in the world.
      const oldDisplayFromEgo = this.displayFromEgo.clone();
      this.fixedOrigin = new Vector3().setFromMatrixPosition(this.worldFromEgo);
      this.updateDisplayTransforms();
      const newFromOld = this.displayFromEgo.clone().multiply(oldDisplayFromEgo.invert());
      for (const camera of [this.perspective, this.ortho]) camera.position.applyMatrix4(newFromOld);
      this.controls.target.applyMatrix4(newFromOld);
      this.controls.update();
    } else {
      this.updateDisplayTransforms();
      this.resetView();
    }
  }

  /** The default view for the mode: behind the ego, or above it. */
  resetView(): void {
    this.applyCameraMode(true);
  }

  private applyCameraMode(resetPose: boolean): void {
    const bev = this.settings.birdsEye;
    const camera = this.activeCamera;
    this.controls.object = camera;
    this.controls.enableRotate = true;
    this.controls.mouseButtons = bev
      ? { LEFT: MOUSE.PAN, MIDDLE: MOUSE.DOLLY, RIGHT: MOUSE.ROTATE }
      : { LEFT: MOUSE.ROTATE, MIDDLE: MOUSE.DOLLY, RIGHT: MOUSE.PAN };
    if (resetPose) {
      const m = this.displayFromEgo;
      if (bev) {
        const target = new Vector3(12, 0, 0).applyMatrix4(m);
        const forward = new Vector3(1, 0, 0).transformDirection(m);
        this.ortho.position.copy(target).add(new Vector3(-forward.x * 0.01, -forward.y * 0.01, 200));
        this.ortho.zoom = 1;
        this.ortho.updateProjectionMatrix();
        this.controls.target.copy(target);
      } else {
        this.perspective.position.copy(CHASE_POSITION).applyMatrix4(m);
        this.controls.target.copy(CHASE_TARGET).applyMatrix4(m);
      }
    }
    this.controls.update();
    this.updateProjection();
    this.invalidate();
  }

  // ---- rendering -----------------------------------------------------------------------------

  private resize(): void {
    const w = Math.max(1, this.canvas.clientWidth);
    const h = Math.max(1, this.canvas.clientHeight);
    this.renderer.setSize(w, h, false);
    this.updateProjection();
    this.render(); // right away: a resized drawing buffer is blank until drawn
  }

  private updateProjection(): void {
    const w = Math.max(1, this.canvas.clientWidth);
    const h = Math.max(1, this.canvas.clientHeight);
    const aspect = w / h;
    this.perspective.aspect = aspect;
    this.perspective.updateProjectionMatrix();
    this.ortho.left = -BEV_HALF_HEIGHT * aspect;
    this.ortho.right = BEV_HALF_HEIGHT * aspect;
    this.ortho.top = BEV_HALF_HEIGHT;
    this.ortho.bottom = -BEV_HALF_HEIGHT;
    this.ortho.updateProjectionMatrix();
  }

  invalidate(): void {
    if (this.raf || this.disposed) return;
    this.raf = requestAnimationFrame(() => {
      this.raf = 0;
      this.render();
    });
  }

  private render(): void {
    if (this.disposed) return;
    const started = performance.now();
    this.renderer.render(this.scene, this.activeCamera);
    recordStat('sceneRender', performance.now() - started);
    this.placeLabel();
    if (this.frameIndex >= 0 && this.frameIndex !== this.paintedIndex) {
      this.paintedIndex = this.frameIndex;
      reportPainted('scene', this.frameIndex);
    }
  }

  private placeLabel(): void {
    const box = this.boxes.selected;
    if (!box) {
      this.label.hidden = true;
      return;
    }
    const p = this.labelPoint.set(box.center[0], box.center[1], box.center[2] + box.size[2] / 2).applyMatrix4(this.displayFromEgo).project(this.activeCamera);
    if (p.z < -1 || p.z > 1 || Math.abs(p.x) > 1.05 || Math.abs(p.y) > 1.05) {
      this.label.hidden = true;
      return;
    }
    const x = ((p.x + 1) / 2) * this.canvas.clientWidth;
    const y = ((1 - p.y) / 2) * this.canvas.clientHeight;
    this.label.textContent = box.trackId ? `${box.label} ${box.trackId}` : box.label;
    this.label.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px) translate(-50%, -100%) translateY(-6px)`;
    this.label.hidden = false;
  }

  // ---- picking -------------------------------------------------------------------------------

  private rayAt(clientX: number, clientY: number): Ray | null {
    const rect = this.canvas.getBoundingClientRect();
    if (clientX < rect.left || clientX > rect.right || clientY < rect.top || clientY > rect.bottom) return null;
    const ndc = new Vector2(((clientX - rect.left) / rect.width) * 2 - 1, -((clientY - rect.top) / rect.height) * 2 + 1);
    this.raycaster.setFromCamera(ndc, this.activeCamera);
    const egoFromDisplay = this.scratch.inv.copy(this.displayFromEgo).invert();
    return this.raycaster.ray.clone().applyMatrix4(egoFromDisplay);
  }

  private onPointerMove(e: PointerEvent): void {
    if (this.pointer) {
      if (Math.hypot(e.clientX - this.pointer.x, e.clientY - this.pointer.y) > 4) this.pointer.moved = true;
      return;
    }
    if (e.target !== this.canvas) return;
    const ray = this.rayAt(e.clientX, e.clientY);
    const hit = ray ? this.boxes.pick(ray) : null;
    const rect = this.canvas.getBoundingClientRect();
    this.setHovered(hit ? { box: hit.box, distance: Math.hypot(...hit.box.center.slice(0, 2)), x: e.clientX - rect.left, y: e.clientY - rect.top } : null);
  }

  private onPointerUp(e: PointerEvent): void {
    const pointer = this.pointer;
    this.pointer = null;
    if (!pointer || pointer.moved || e.button !== 0) return;
    const ray = this.rayAt(e.clientX, e.clientY);
    const hit = ray ? this.boxes.pick(ray) : null;
    this.onSelect(hit?.box ?? null);
  }

  private setHovered(hover: SceneHover | null): void {
    const id = hover?.box.id;
    this.onHover(hover);
    this.canvas.classList.toggle('pointing', !!hover);
    if (id === this.hoveredId) return;
    this.hoveredId = id;
    this.boxes.recolor(this.highlight());
    this.invalidate();
  }

  dispose(): void {
    this.disposed = true;
    cancelAnimationFrame(this.raf);
    this.resizeObserver.disconnect();
    this.cleanup.forEach((fn) => fn());
    this.controls.dispose();
    this.points.dispose();
    this.boxes.dispose();
    this.frusta.dispose();
    this.ego.dispose();
    this.grid.geometry.dispose();
    (this.grid.material as LineBasicMaterial).dispose();
    for (const ring of this.rings) ring.geometry.dispose();
    (this.rings[0]?.material as LineBasicMaterial | undefined)?.dispose();
    // No forceContextLoss(): React may mount a new view on this same canvas (StrictMode, HMR).
    this.renderer.dispose();
    this.label.remove();
  }
}

function isSoftwareRenderer(): boolean {
  try {
    const gl = document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
    if (!gl) return false;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return /swiftshader|llvmpipe|softpipe|software|microsoft basic render/i.test(name);
  } catch {
    return false;
  }
}
