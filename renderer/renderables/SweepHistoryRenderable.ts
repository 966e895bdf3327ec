// Past lidar sweeps accumulated in the world frame (Foxglove's "decay"): a fixed set of slots,
// each ONE Points with its own reused buffers, filled once when a sweep enters (transformed to the
// world with that sweep's ego pose) and faded with age. Slots are created when the number of
// sweeps changes (a setting), never per frame.
import { BufferAttribute, BufferGeometry, DynamicDrawUsage, Group, Matrix4, Points, ShaderMaterial } from 'three';
import type { PointCloud, Pose } from '../../src/logs/model.js';
import { TURBO_GLSL } from './colormap.js';
import { poseToMatrix } from './pose.js';

export interface PastSweep {
  /** Frame index: a sweep already in a slot is not uploaded again. */
  index: number;
  cloud: PointCloud;
  /** world <- ego at that sweep. */
  egoPose: Pose;
}

const VERTEX = /* glsl */ `
uniform float uSize;
uniform vec2 uRange;
attribute float value;
varying vec3 vColor;
${TURBO_GLSL}
void main() {
  vColor = turbo((value - uRange.x) / max(uRange.y - uRange.x, 1e-6));
  gl_Position = projectionMatrix * modelViewMatrix * vec4(position, 1.0);
  gl_PointSize = uSize;
}
`;

const FRAGMENT = /* glsl */ `
uniform float uOpacity;
varying vec3 vColor;
void main() {
  gl_FragColor = vec4(vColor, uOpacity);
}
`;

interface Slot {
  points: Points<BufferGeometry, ShaderMaterial>;
  geometry: BufferGeometry;
  material: ShaderMaterial;
  capacity: number;
  positions: Float32Array;
  values: Float32Array;
  index: number;
  mode: string;
}

export class SweepHistoryRenderable {
  readonly object = new Group();
  private slots: Slot[] = [];
  private readonly worldFromSensor = new Matrix4();
  private readonly scratch = new Matrix4();
  private size = 2;
  private range: [number, number] = [0, 1];
  /** Sweeps drawn now (for tests and the legend). */
  drawn = 0;

  constructor() {
    this.object.matrixAutoUpdate = false;
  }

  /** Number of past sweeps to keep (0 disables). Creates or drops slots. */
  setCapacity(n: number): void {
    while (this.slots.length > n) this.disposeSlot(this.slots.pop()!);
    while (this.slots.length < n) this.slots.push(this.createSlot());
  }

  private createSlot(): Slot {
    const geometry = new BufferGeometry();
    const material = new ShaderMaterial({
      vertexShader: VERTEX,
      fragmentShader: FRAGMENT,
      transparent: true,
      depthWrite: false,
      uniforms: { uSize: { value: this.size }, uRange: { value: this.range }, uOpacity: { value: 0.5 } },
    });
    const points = new Points(geometry, material);
    points.frustumCulled = false;
    points.visible = false;
    this.object.add(points);
    const slot: Slot = { points, geometry, material, capacity: 0, positions: new Float32Array(0), values: new Float32Array(0), index: -1, mode: '' };
    this.ensure(slot, 1 << 16);
    return slot;
  }

  private ensure(slot: Slot, count: number): void {
    if (count <= slot.capacity) return;
    let capacity = Math.max(1024, slot.capacity);
    while (capacity < count) capacity *= 2;
    slot.capacity = capacity;
    slot.positions = new Float32Array(capacity * 3);
    slot.values = new Float32Array(capacity);
    slot.geometry.dispose();
    slot.geometry.setAttribute('position', new BufferAttribute(slot.positions, 3).setUsage(DynamicDrawUsage));
    slot.geometry.setAttribute('value', new BufferAttribute(slot.values, 1).setUsage(DynamicDrawUsage));
  }

  private disposeSlot(slot: Slot): void {
    this.object.remove(slot.points);
    slot.geometry.dispose();
    slot.material.dispose();
  }

  setPointSize(px: number): void {
    this.size = px;
    for (const s of this.slots) s.material.uniforms.uSize!.value = px;
  }

  /**
   * Shows `sweeps` (newest first), positions relative to `origin` in the world (float32 keeps
   * centimetres near the origin). `mode` and `range` colour them like the live sweep.
   */
  update(sweeps: readonly PastSweep[], origin: readonly [number, number, number], mode: string, range: [number, number]): void {
    this.range = range;
    const wanted = sweeps.slice(0, this.slots.length);
    const keep = new Set(wanted.map((s) => s.index));
    const free = this.slots.filter((s) => !keep.has(s.index));
    this.drawn = 0;
    wanted.forEach((sweep, age) => {
      let slot = this.slots.find((s) => s.index === sweep.index);
      if (!slot) {
        slot = free.shift();
        if (!slot) return;
        this.fill(slot, sweep, origin, mode);
      } else if (slot.mode !== mode) {
        this.fill(slot, sweep, origin, mode);
      }
      slot.material.uniforms.uRange!.value = range;
      slot.material.uniforms.uOpacity!.value = 0.75 * (1 - age / (this.slots.length + 1));
      slot.points.visible = true;
      this.drawn++;
    });
    // Unused slots keep their sweep (hidden): stepping back shows it again without an upload.
    for (const slot of this.slots) if (!keep.has(slot.index)) slot.points.visible = false;
  }

  private fill(slot: Slot, sweep: PastSweep, origin: readonly [number, number, number], mode: string): void {
    const { cloud } = sweep;
    const count = Math.min(cloud.count, Math.floor(cloud.positions.length / 3));
    this.ensure(slot, count);
    const egoFromSensor = poseToMatrix(cloud.extrinsic, this.scratch);
    const m = poseToMatrix(sweep.egoPose, this.worldFromSensor).multiply(egoFromSensor).elements; // column-major
    const e = egoFromSensor.elements;
    const p = cloud.positions;
    const out = slot.positions;
    const values = slot.values;
    const field = mode !== 'height' && mode !== 'distance' ? cloud.fields[mode] : undefined;
    for (let i = 0; i < count; i++) {
      const x = p[i * 3]!, y = p[i * 3 + 1]!, z = p[i * 3 + 2]!;
      out[i * 3] = m[0]! * x + m[4]! * y + m[8]! * z + m[12]! - origin[0];
      out[i * 3 + 1] = m[1]! * x + m[5]! * y + m[9]! * z + m[13]! - origin[1];
      out[i * 3 + 2] = m[2]! * x + m[6]! * y + m[10]! * z + m[14]! - origin[2];
      // Colour as the live sweep: height in that sweep's ego frame, range, or the field.
      values[i] = field ? field[i]! : mode === 'distance' ? Math.hypot(x, y, z) : e[2]! * x + e[6]! * y + e[10]! * z + e[14]!;
    }
    for (const name of ['position', 'value']) {
      const attribute = slot.geometry.getAttribute(name) as BufferAttribute;
      attribute.clearUpdateRanges();
      attribute.addUpdateRange(0, count * (name === 'position' ? 3 : 1));
      attribute.needsUpdate = true;
    }
    slot.geometry.setDrawRange(0, count);
    slot.index = sweep.index;
    slot.mode = mode;
  }

  /** Drop every sweep (a new log, a jump far away). */
  clear(): void {
    for (const slot of this.slots) {
      slot.index = -1;
      slot.points.visible = false;
    }
    this.drawn = 0;
  }

  dispose(): void {
    for (const slot of this.slots) this.disposeSlot(slot);
    this.slots = [];
  }
}
