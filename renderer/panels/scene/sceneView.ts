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
  LineSegments,
  Matrix4,
  type Object3D,
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
import type { Box3D, FrameData, PointCloud } from '../../../src/logs/model.js';
import { registerTestHook } from '../../app/testHooks.js';
import type { SceneSettings, Selection } from '../../state/appState.js';
import { reportPainted } from '../../state/paint.js';
import type { PathOverlay } from '../../state/plan.js';
import { recordStat } from '../../state/stats.js';
import { BoxesRenderable, type BoxHighlight } from '../../renderables/BoxesRenderable.js';
import { createEgoVehicle } from '../../renderables/EgoVehicle.js';
import { FrustumRenderable } from '../../renderables/FrustumRenderable.js';
import { PathsRenderable } from '../../renderables/PathsRenderable.js';
import { PointCloudRenderable, type PointLabels } from '../../renderables/PointCloudRenderable.js';
import { poseToMatrix } from '../../renderables/pose.js';
import { SweepHistoryRenderable, type PastSweep } from '../../renderables/SweepHistoryRenderable.js';

ColorManagement.enabled = false; // colours are given and shown as sRGB, untouched

const GRID_CELL = 5;
const GRID_CELLS = 60;
const CHASE_POSITION = new Vector3(-19, 0, 11);
const CHASE_TARGET = new Vector3(14, 0, 0);
const BEV_HALF_HEIGHT = 32;

export interface SceneHover {
  box: Box3D;
  /** Run id, or null for ground truth. */
  runId: number | null;
  distance: number;
  x: number;
  y: number;
}

/** Everything the 3D view draws for a frame; fields are compared by identity to skip uploads. */
export interface SceneData {
  frame: FrameData | null;
  gtBoxes: Box3D[];
  runs: Array<{ runId: number; color: string; boxes: Box3D[] }>;
  paths: PathOverlay[];
  groundZ: number;
  intrusions: ReadonlySet<string>;
  pointLabels: PointLabels | null;
  showFrusta: boolean;
  showGrid: boolean;
  /** Past sweeps, newest first (accumulation). */
  sweeps: PastSweep[];
}

/** What `benchmarkRender` measured, and the view setup it measured with. */
export interface SceneRenderBench {
  ms: number[];
  width: number;
  height: number;
  antialias: boolean;
  pointSize: number;
  camera: { fov: number; near: number; far: number; position: [number, number, number]; quaternion: [number, number, number, number] };
  pointsMatrix: number[];
  drawCalls: number;
}

export interface SceneSnapshot {
  frameIndex: number;
  paintedIndex: number;
  viewMode: 'follow' | 'orbit' | 'birdseye';
  colorMode: string;
  labelled: boolean;
  points: number;
  pastSweeps: number;
  gtBoxes: number;
  runBoxes: Record<string, number>;
  pathSegments: number;
  corridorQuads: number;
  gridVisible: boolean;
  frustaVisible: boolean;
  memory: { geometries: number; textures: number; programs: number };
  render: { calls: number; points: number; lines: number; triangles: number };
  renderMs: number;
  uploadMs: number;
  /** Renders since the view started (it renders on demand, not in a loop). */
  renders: number;
  software: boolean;
}

const EMPTY_DATA: SceneData = { frame: null, gtBoxes: [], runs: [], paths: [], groundZ: 0, intrusions: new Set(), pointLabels: null, showFrusta: true, showGrid: true, sweeps: [] };

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
  private readonly rings: LineSegments[] = [];
  readonly points = new PointCloudRenderable();
  private readonly boxes = new BoxesRenderable({ fill: true });
  private readonly runBoxes = new Map<number, BoxesRenderable>();
  private readonly frusta = new FrustumRenderable();
  private readonly paths = new PathsRenderable();
  private readonly history = new SweepHistoryRenderable();
  private readonly worldGroup = new Group();
  private historyOrigin: [number, number, number] | null = null;
  private data: SceneData = EMPTY_DATA;
  private readonly ego = createEgoVehicle();
  private lastRenderMs = 0;
  private lastUploadMs = 0;
  private renderCount = 0;
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
  /** Bumped per frame shown, so a frame seen before (looping) still reports its paint. */
  private frameVersion = 0;
  private paintedVersion = 0;
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
    this.egoGroup.add(this.points.object, this.boxes.object, this.frusta.object, this.paths.object, this.ego.object);
    this.worldGroup.matrixAutoUpdate = false;
    this.worldGroup.add(this.history.object);
    this.scene.add(this.worldGroup);
    // Range rings at 10, 20, 30 and 50 m: one LineSegments (one draw call) for all four.
    const ringMaterial = new LineBasicMaterial({ color: 0x3a4656, transparent: true, opacity: 0.6, depthWrite: false });
    const ringPositions: number[] = [];
    for (const radius of [10, 20, 30, 50]) {
      for (let i = 0; i < 128; i++) {
        const a0 = (i / 128) * Math.PI * 2;
        const a1 = ((i + 1) / 128) * Math.PI * 2;
        ringPositions.push(Math.cos(a0) * radius, Math.sin(a0) * radius, 0.02, Math.cos(a1) * radius, Math.sin(a1) * radius, 0.02);
      }
    }
    const ringGeometry = new BufferGeometry();
    ringGeometry.setAttribute('position', new Float32BufferAttribute(ringPositions, 3));
    const rings = new LineSegments(ringGeometry, ringMaterial);
    this.rings.push(rings);
    this.egoGroup.add(rings);
    this.scene.add(this.egoGroup);

    this.points.setPointSize(settings.pointSize, this.renderer.getPixelRatio());
    this.points.setMode(settings.colorMode);
    this.history.setPointSize(settings.pointSize * this.renderer.getPixelRatio());
    this.history.setCapacity(Math.max(0, settings.accumulate - 1));
    this.applyCameraMode(true);

    // A label that follows the selected box (positioned after every render).
    this.label = document.createElement('div');
    this.label.className = 'scene-label';
    this.label.hidden = true;
    canvas.parentElement?.appendChild(this.label);

    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(canvas);
    this.resize();
    // `npm run bench:ui` times renders of synthetic clouds through this (the app never calls it).
    registerTestHook('sceneRenderBench', (cloud: PointCloud, frames: number) => this.benchmarkRender(cloud, frames));

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

  /** A new log: forget colour ranges, origins and past sweeps. */
  resetForLog(): void {
    this.points.resetRanges();
    this.fixedOrigin = null;
    this.historyOrigin = null;
    this.history.clear();
    this.dropRunBoxes();
    this.frameIndex = -1;
    this.paintedIndex = -1;
  }

  setData(next: SceneData): void {
    const prev = this.data;
    this.data = next;
    const frame = next.frame;
    const started = performance.now();
    if (frame !== prev.frame) {
      if (!frame) {
        this.points.update(undefined);
        this.frameIndex = -1;
      } else {
        this.hasEgoPose = !!frame.egoPose;
        if (frame.egoPose) poseToMatrix(frame.egoPose, this.worldFromEgo);
        else this.worldFromEgo.identity();
        if (!this.fixedOrigin && frame.egoPose) this.fixedOrigin = new Vector3(...frame.egoPose.translation);
        if (!this.historyOrigin && frame.egoPose) this.historyOrigin = [...frame.egoPose.translation];
        this.points.update(frame.lidar, next.pointLabels);
        this.frameIndex = frame.index;
        this.frameVersion++;
        this.updateDisplayTransforms();
      }
    } else if (next.pointLabels !== prev.pointLabels) {
      this.points.setLabels(next.pointLabels);
    }
    const highlight = this.highlight();
    if (next.gtBoxes !== prev.gtBoxes || next.intrusions !== prev.intrusions) this.boxes.update(next.gtBoxes, highlight);
    if (next.runs !== prev.runs || next.intrusions !== prev.intrusions) this.updateRunBoxes(next.runs, highlight);
    if (next.showFrusta !== prev.showFrusta || (frame !== prev.frame && next.showFrusta)) this.frusta.update(next.showFrusta && frame ? frame.cameras : []);
    this.frusta.object.visible = next.showFrusta;
    if (next.paths !== prev.paths || next.groundZ !== prev.groundZ) this.paths.update(next.paths, next.groundZ);
    this.grid.visible = next.showGrid;
    for (const ring of this.rings) ring.visible = next.showGrid;
    if (next.sweeps !== prev.sweeps || frame !== prev.frame) this.updateHistory();
    this.lastUploadMs = performance.now() - started;
    recordStat('sceneUpload', this.lastUploadMs);
    this.invalidate();
  }

  /** One dashed, run-coloured box set per run, kept for the log (runs are few). */
  private updateRunBoxes(runs: SceneData['runs'], highlight: BoxHighlight): void {
    const seen = new Set<number>();
    for (const run of runs) {
      seen.add(run.runId);
      let renderable = this.runBoxes.get(run.runId);
      const color = hexRgb(run.color);
      if (!renderable) {
        renderable = new BoxesRenderable({ fill: false, dashed: true, color });
        this.runBoxes.set(run.runId, renderable);
        this.egoGroup.add(renderable.object);
      } else {
        renderable.setColor(color);
      }
      renderable.update(run.boxes, highlight);
    }
    // A run missing from this frame (hidden, or its detections still loading) keeps its buffers,
    // emptied: frames must not create and drop GPU objects.
    for (const [runId, renderable] of this.runBoxes) {
      if (seen.has(runId) || renderable.current.length === 0) continue;
      renderable.update([], highlight);
    }
  }

  private dropRunBoxes(): void {
    for (const renderable of this.runBoxes.values()) {
      this.egoGroup.remove(renderable.object);
      renderable.dispose();
    }
    this.runBoxes.clear();
  }

  private updateHistory(): void {
    const sweeps = this.historyOrigin && this.hasEgoPose ? this.data.sweeps : [];
    this.history.update(sweeps, this.historyOrigin ?? [0, 0, 0], this.points.labelled ? 'height' : this.settings.colorMode, this.points.range);
    this.updateWorldGroup();
  }

  private updateWorldGroup(): void {
    const o = this.historyOrigin ?? [0, 0, 0];
    this.worldGroup.matrix.copy(this.displayFromWorld).multiply(this.scratch.gridT.makeTranslation(o[0], o[1], o[2]));
    this.worldGroup.matrixWorldNeedsUpdate = true;
  }

  setSelection(selection: Selection | null): void {
    this.selection = selection;
    this.recolorAll();
    this.invalidate();
  }

  private recolorAll(): void {
    const highlight = this.highlight();
    this.boxes.recolor(highlight);
    for (const r of this.runBoxes.values()) r.recolor(highlight);
  }

  setSettings(next: SceneSettings): void {
    const prev = this.settings;
    this.settings = next;
    if (next.pointSize !== prev.pointSize) {
      this.points.setPointSize(next.pointSize, this.renderer.getPixelRatio());
      this.history.setPointSize(next.pointSize * this.renderer.getPixelRatio());
    }
    if (next.colorMode !== prev.colorMode) {
      this.points.setMode(next.colorMode);
      this.updateHistory();
    }
    if (next.accumulate !== prev.accumulate) {
      this.history.setCapacity(Math.max(0, next.accumulate - 1));
      this.updateHistory();
    }
    if (next.follow !== prev.follow) this.changeFollow(next.follow);
    if (next.birdsEye !== prev.birdsEye) this.applyCameraMode(true);
    this.invalidate();
  }

  private highlight(): BoxHighlight {
    const sel = this.selection;
    return {
      selectedId: sel?.id,
      selectedTrack: sel?.trackId,
      hoveredId: this.hoveredId,
      intruding: this.data.intrusions,
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
    this.updateWorldGroup();
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
    this.lastRenderMs = performance.now() - started;
    this.renderCount++;
    recordStat('sceneRender', this.lastRenderMs);
    this.placeLabel();
    if (this.frameIndex >= 0 && this.frameVersion !== this.paintedVersion) {
      this.paintedIndex = this.frameIndex;
      this.paintedVersion = this.frameVersion;
      reportPainted('scene', this.frameIndex);
    }
  }

  private placeLabel(): void {
    let box = this.boxes.selected;
    for (const r of this.runBoxes.values()) box ??= r.selected;
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

  // ---- for the 3D label editor ---------------------------------------------------------------

  /** Adds an object drawn in the ego frame (it moves with the ego like the boxes). */
  addToEgoFrame(object: Object3D): void {
    this.egoGroup.add(object);
    this.invalidate();
  }

  removeFromEgoFrame(object: Object3D): void {
    this.egoGroup.remove(object);
    this.invalidate();
  }

  get birdsEye(): boolean {
    return this.settings.birdsEye;
  }

  /** The pointer's ray in the ego frame, or null outside the canvas. */
  egoRay(clientX: number, clientY: number): Ray | null {
    return this.rayAt(clientX, clientY);
  }

  /** An ego-frame point in client (page CSS) pixels; null when behind the camera. */
  egoToClient(p: readonly [number, number, number]): { x: number; y: number } | null {
    const camera = this.activeCamera;
    camera.updateMatrixWorld();
    const v = this.labelPoint.set(p[0], p[1], p[2]).applyMatrix4(this.displayFromEgo).project(camera);
    if (v.z < -1 || v.z > 1) return null;
    const rect = this.canvas.getBoundingClientRect();
    return { x: rect.left + ((v.x + 1) / 2) * rect.width, y: rect.top + ((1 - v.y) / 2) * rect.height };
  }

  /** The sweep point drawn nearest the pointer (within `maxPx` CSS pixels; the nearest to the camera on ties), in the ego frame. */
  pickLidarPoint(clientX: number, clientY: number, maxPx: number): [number, number, number] | null {
    const lidar = this.data.frame?.lidar;
    if (!lidar) return null;
    const camera = this.activeCamera;
    camera.updateMatrixWorld();
    const rect = this.canvas.getBoundingClientRect();
    const egoFromSensor = poseToMatrix(lidar.extrinsic, new Matrix4());
    const clipFromSensor = new Matrix4().multiplyMatrices(camera.projectionMatrix, camera.matrixWorldInverse).multiply(this.displayFromEgo).multiply(egoFromSensor);
    const m = clipFromSensor.elements;
    const positions = lidar.positions;
    let best = -1;
    let bestScore = Infinity;
    for (let i = 0; i < lidar.count; i++) {
      const x = positions[3 * i]!;
      const y = positions[3 * i + 1]!;
      const z = positions[3 * i + 2]!;
      const w = m[3]! * x + m[7]! * y + m[11]! * z + m[15]!;
      if (!(w > 0)) continue;
      const nx = (m[0]! * x + m[4]! * y + m[8]! * z + m[12]!) / w;
      const ny = (m[1]! * x + m[5]! * y + m[9]! * z + m[13]!) / w;
      const nz = (m[2]! * x + m[6]! * y + m[10]! * z + m[14]!) / w;
      if (nz < -1 || nz > 1) continue;
      const d = Math.hypot(rect.left + ((nx + 1) / 2) * rect.width - clientX, rect.top + ((1 - ny) / 2) * rect.height - clientY);
      if (d > maxPx) continue;
      // Within a pixel, the point nearer the camera is the one seen.
      const score = Math.round(d) + nz;
      if (score < bestScore) {
        bestScore = score;
        best = i;
      }
    }
    if (best < 0) return null;
    const p = new Vector3(positions[3 * best]!, positions[3 * best + 1]!, positions[3 * best + 2]!).applyMatrix4(egoFromSensor);
    return [p.x, p.y, p.z];
  }

  /** Looks at a box from its left side, level with it (a side view for editing its height). */
  lookAtSide(box: { center: readonly [number, number, number]; size: readonly [number, number, number]; yaw: number }): void {
    if (this.settings.birdsEye) return;
    const distance = Math.max(6, 1.6 * Math.max(box.size[0], box.size[2]) + 4);
    const side = new Vector3(-Math.sin(box.yaw), Math.cos(box.yaw), 0);
    const target = new Vector3(...box.center);
    const eye = target.clone().addScaledVector(side, distance);
    this.perspective.position.copy(eye.applyMatrix4(this.displayFromEgo));
    this.controls.target.copy(target.applyMatrix4(this.displayFromEgo));
    this.controls.update();
    this.invalidate();
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
    const hit = ray ? this.pick(ray) : null;
    const rect = this.canvas.getBoundingClientRect();
    this.setHovered(hit ? { box: hit.box, runId: hit.runId, distance: Math.hypot(hit.box.center[0], hit.box.center[1]), x: e.clientX - rect.left, y: e.clientY - rect.top } : null);
  }

  /** The nearest box along the ray, ground truth or any run. */
  private pick(ray: Ray): { box: Box3D; runId: number | null; distance: number } | null {
    let best: { box: Box3D; runId: number | null; distance: number } | null = null;
    const gt = this.boxes.object.visible ? this.boxes.pick(ray) : null;
    if (gt) best = { ...gt, runId: null };
    for (const [runId, renderable] of this.runBoxes) {
      const hit = renderable.pick(ray);
      if (hit && (!best || hit.distance < best.distance)) best = { ...hit, runId };
    }
    return best;
  }

  private onPointerUp(e: PointerEvent): void {
    const pointer = this.pointer;
    this.pointer = null;
    if (!pointer || pointer.moved || e.button !== 0) return;
    const ray = this.rayAt(e.clientX, e.clientY);
    const hit = ray ? this.pick(ray) : null;
    this.onSelect(hit?.box ?? null);
  }

  private setHovered(hover: SceneHover | null): void {
    const id = hover?.box.id;
    this.onHover(hover);
    this.canvas.classList.toggle('pointing', !!hover);
    if (id === this.hoveredId) return;
    this.hoveredId = id;
    this.recolorAll();
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
    this.dropRunBoxes();
    this.frusta.dispose();
    this.paths.dispose();
    this.history.dispose();
    this.ego.dispose();
    this.grid.geometry.dispose();
    (this.grid.material as LineBasicMaterial).dispose();
    for (const ring of this.rings) ring.geometry.dispose();
    (this.rings[0]?.material as LineBasicMaterial | undefined)?.dispose();
    // No forceContextLoss(): React may mount a new view on this same canvas (StrictMode, HMR).
    this.renderer.dispose();
    this.label.remove();
  }

  // ---- test and benchmark state --------------------------------------------------------------

  /**
   * Shows `cloud` as the sweep and times `frames` whole renders, each waited for on the GPU (a
   * 1-pixel read), then puts the frame's own sweep back. Returns what a bare page needs to draw
   * the same points the same way.
   */
  benchmarkRender(cloud: PointCloud, frames: number): SceneRenderBench {
    this.points.update(cloud);
    const gl = this.renderer.getContext();
    const pixel = new Uint8Array(4);
    const timed = () => {
      const started = performance.now();
      this.render();
      gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
      return performance.now() - started;
    };
    timed(); // uploads the points
    const ms = Array.from({ length: frames }, timed);
    const camera = this.perspective;
    const result: SceneRenderBench = {
      ms,
      width: this.canvas.width,
      height: this.canvas.height,
      antialias: !this.software,
      pointSize: this.settings.pointSize,
      camera: { fov: camera.fov, near: camera.near, far: camera.far, position: camera.position.toArray(), quaternion: camera.quaternion.toArray() as [number, number, number, number] },
      pointsMatrix: this.points.object.matrixWorld.toArray(),
      drawCalls: this.renderer.info.render.calls,
    };
    this.points.update(this.data.frame?.lidar, this.data.pointLabels);
    this.invalidate();
    return result;
  }


  snapshot(): SceneSnapshot {
    const info = this.renderer.info;
    const runBoxes: Record<string, number> = {};
    for (const [runId, r] of this.runBoxes) runBoxes[runId] = r.current.length;
    return {
      frameIndex: this.frameIndex,
      paintedIndex: this.paintedIndex,
      viewMode: this.settings.birdsEye ? 'birdseye' : this.settings.follow ? 'follow' : 'orbit',
      colorMode: this.settings.colorMode,
      labelled: this.points.labelled,
      points: this.points.count,
      pastSweeps: this.history.drawn,
      gtBoxes: this.boxes.current.length,
      runBoxes,
      pathSegments: this.paths.segments,
      corridorQuads: this.paths.quads,
      gridVisible: this.grid.visible,
      frustaVisible: this.frusta.object.visible,
      memory: { geometries: info.memory.geometries, textures: info.memory.textures, programs: info.programs?.length ?? 0 },
      render: { calls: info.render.calls, points: info.render.points, lines: info.render.lines, triangles: info.render.triangles },
      renderMs: this.lastRenderMs,
      uploadMs: this.lastUploadMs,
      renders: this.renderCount,
      software: this.software,
    };
  }
}

function hexRgb(hex: string): [number, number, number] {
  const n = parseInt(hex.replace('#', ''), 16);
  return [((n >> 16) & 255) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255];
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
