// The lidar sweep: ONE preallocated BufferGeometry whose capacity doubles only when a sweep is
// larger than any before; every frame copies positions (and the colouring field) in place and
// sets the draw range. Colour is computed in the vertex shader (turbo colormap over ego height,
// range from the sensor or a point field; a class palette for point labels), so there is no
// per-point colour loop on any CPU thread.
import { BufferAttribute, BufferGeometry, DynamicDrawUsage, Matrix4, Points, ShaderMaterial, Vector3 } from 'three';
import type { PointCloud } from '../../src/logs/model.js';
import { classColorRgb } from '../app/classColors.js';
import { TURBO_GLSL } from './colormap.js';
import { poseToMatrix } from './pose.js';

export const MAX_LABEL_CLASSES = 32;

/** Per-point class labels from a run (ground / obstacle, or fused camera classes). */
export interface PointLabels {
  labels: Uint8Array;
  classes: string[];
}

const VERTEX = /* glsl */ `
uniform float uSize;
uniform int uMode;
uniform vec2 uRange;
uniform vec4 uHeightRow;
uniform vec3 uPalette[${MAX_LABEL_CLASSES}];
attribute float value;
varying vec3 vColor;
${TURBO_GLSL}
void main() {
  if (uMode == 3) {
    vColor = uPalette[int(clamp(value, 0.0, ${MAX_LABEL_CLASSES - 1}.0))];
  } else {
    float v = uMode == 0 ? dot(uHeightRow.xyz, position) + uHeightRow.w : uMode == 2 ? length(position) : value;
    vColor = turbo((v - uRange.x) / max(uRange.y - uRange.x, 1e-6));
  }
  gl_Position = projectionMatrix * modelViewMatrix * vec4(position, 1.0);
  gl_PointSize = uSize;
}
`;

const FRAGMENT = /* glsl */ `
uniform float uRound;
varying vec3 vColor;
void main() {
  if (uRound > 0.5) {
    vec2 c = gl_PointCoord - vec2(0.5);
    if (dot(c, c) > 0.25) discard;
  }
  gl_FragColor = vec4(vColor, 1.0);
}
`;

export class PointCloudRenderable {
  readonly object: Points<BufferGeometry, ShaderMaterial>;
  private readonly geometry = new BufferGeometry();
  private readonly material: ShaderMaterial;
  private capacity = 0;
  private positions = new Float32Array(0);
  private values = new Float32Array(0);
  private cloud: PointCloud | null = null;
  private labels: PointLabels | null = null;
  private mode = 'height';
  private readonly ranges = new Map<string, [number, number]>();
  private activeKey = 'height';
  private readonly egoFromSensor = new Matrix4();
  count = 0;

  constructor(initialCapacity = 1 << 17) {
    this.material = new ShaderMaterial({
      vertexShader: VERTEX,
      fragmentShader: FRAGMENT,
      uniforms: {
        uSize: { value: 2 },
        uMode: { value: 0 },
        uRange: { value: [-1, 3] },
        uHeightRow: { value: [0, 0, 1, 0] },
        uRound: { value: 0 },
        uPalette: { value: Array.from({ length: MAX_LABEL_CLASSES }, () => new Vector3(0.6, 0.6, 0.6)) },
      },
    });
    this.ensureCapacity(initialCapacity);
    this.object = new Points(this.geometry, this.material);
    this.object.frustumCulled = false; // the bounding sphere would be stale as data changes
    this.object.matrixAutoUpdate = false;
    this.geometry.setDrawRange(0, 0);
  }

  /** The colour scale in use: [value at the blue end, value at the red end]. */
  get range(): [number, number] {
    return this.ranges.get(this.activeKey) ?? [0, 1];
  }

  /** Colouring fields available in the current sweep, besides 'height'. */
  fields(): string[] {
    return this.cloud ? Object.keys(this.cloud.fields) : [];
  }

  private ensureCapacity(count: number): void {
    if (count <= this.capacity) return;
    let capacity = Math.max(1024, this.capacity);
    while (capacity < count) capacity *= 2;
    this.capacity = capacity;
    this.positions = new Float32Array(capacity * 3);
    this.values = new Float32Array(capacity);
    // Old GPU buffers are released; the new attributes are uploaded on the next render.
    this.geometry.dispose();
    this.geometry.setAttribute('position', new BufferAttribute(this.positions, 3).setUsage(DynamicDrawUsage));
    this.geometry.setAttribute('value', new BufferAttribute(this.values, 1).setUsage(DynamicDrawUsage));
  }

  setPointSize(px: number, pixelRatio: number): void {
    this.material.uniforms.uSize!.value = px * pixelRatio;
    this.material.uniforms.uRound!.value = px * pixelRatio >= 3 ? 1 : 0;
  }

  /** Forget auto ranges (a new log). */
  resetRanges(): void {
    this.ranges.clear();
  }

  setMode(mode: string): void {
    if (mode === this.mode) return;
    this.mode = mode;
    if (this.cloud) this.upload(this.cloud, false);
  }

  update(cloud: PointCloud | undefined, labels: PointLabels | null = null): void {
    this.labels = labels && cloud && labels.labels.length >= cloud.count ? labels : null;
    if (!cloud || cloud.count === 0) {
      this.cloud = null;
      this.count = 0;
      this.geometry.setDrawRange(0, 0);
      return;
    }
    this.cloud = cloud;
    this.upload(cloud, true);
  }

  /** New point labels for the sweep on screen (a run finished, or its visibility changed). */
  setLabels(labels: PointLabels | null): void {
    if (labels === this.labels) return;
    this.labels = labels && this.cloud && labels.labels.length >= this.cloud.count ? labels : null;
    if (this.cloud && this.mode === 'label') this.upload(this.cloud, false);
  }

  /** Whether the sweep on screen is coloured by labels (else it fell back to height). */
  get labelled(): boolean {
    return this.mode === 'label' && !!this.labels;
  }

  /** Classes of the point labels in use, for the legend. */
  get labelClasses(): string[] {
    return this.labels?.classes ?? [];
  }

  private upload(cloud: PointCloud, withPositions: boolean): void {
    const count = Math.min(cloud.count, Math.floor(cloud.positions.length / 3));
    this.ensureCapacity(count);
    if (withPositions || this.positions.length < count * 3) {
      this.positions.set(cloud.positions.subarray(0, count * 3));
      const attribute = this.geometry.getAttribute('position') as BufferAttribute;
      attribute.clearUpdateRanges();
      attribute.addUpdateRange(0, count * 3);
      attribute.needsUpdate = true;
    }
    poseToMatrix(cloud.extrinsic, this.egoFromSensor);
    this.object.matrix.copy(this.egoFromSensor);
    this.object.matrixWorldNeedsUpdate = true;
    const e = this.egoFromSensor.elements; // column-major: row 2 = e[2], e[6], e[10], e[14]
    this.material.uniforms.uHeightRow!.value = [e[2], e[6], e[10], e[14]];

    const labels = this.mode === 'label' ? this.labels : null;
    const field = labels ? undefined : this.mode === 'height' || this.mode === 'distance' || this.mode === 'label' ? undefined : cloud.fields[this.mode];
    const distance = this.mode === 'distance';
    this.material.uniforms.uMode!.value = labels ? 3 : field ? 1 : distance ? 2 : 0;
    if (field || labels) {
      if (labels) {
        const palette = this.material.uniforms.uPalette!.value as Vector3[];
        labels.classes.slice(0, MAX_LABEL_CLASSES).forEach((name, i) => palette[i]!.set(...labelColor(name)));
        for (let i = 0; i < count; i++) this.values[i] = labels.labels[i]!;
      } else {
        this.values.set(field!.subarray(0, count));
      }
      const attribute = this.geometry.getAttribute('value') as BufferAttribute;
      attribute.clearUpdateRanges();
      attribute.addUpdateRange(0, count);
      attribute.needsUpdate = true;
    }
    const key = labels ? 'label' : field ? this.mode : distance ? 'distance' : 'height';
    this.activeKey = key;
    let range = this.ranges.get(key);
    if (!range) {
      range = labels ? [0, 1] : field ? robustRange(field, count) : distance ? distanceRange(cloud.positions, count) : heightRange(cloud.positions, count, [e[2]!, e[6]!, e[10]!, e[14]!]);
      this.ranges.set(key, range);
    }
    this.material.uniforms.uRange!.value = range;
    this.geometry.setDrawRange(0, count);
    this.count = count;
  }

  dispose(): void {
    this.geometry.dispose();
    this.material.dispose();
  }
}

/** 1st–99th percentile over a sample: fixed for the log once computed, so colours don't flicker. */
function robustRange(values: Float32Array, count: number): [number, number] {
  const stride = Math.max(1, Math.floor(count / 20000));
  const sample = new Float32Array(Math.ceil(count / stride));
  let n = 0;
  for (let i = 0; i < count; i += stride) {
    const v = values[i]!;
    if (Number.isFinite(v)) sample[n++] = v;
  }
  return percentiles(sample.subarray(0, n));
}

function distanceRange(positions: Float32Array, count: number): [number, number] {
  const stride = Math.max(1, Math.floor(count / 20000));
  const sample = new Float32Array(Math.ceil(count / stride));
  let n = 0;
  for (let i = 0; i < count; i += stride) {
    const d = Math.hypot(positions[i * 3]!, positions[i * 3 + 1]!, positions[i * 3 + 2]!);
    if (Number.isFinite(d)) sample[n++] = d;
  }
  const [, hi] = percentiles(sample.subarray(0, n));
  return [0, Math.max(hi, 1)];
}

/** Ground grey, obstacles red, anything else in its class colour. */
export function labelColor(name: string): [number, number, number] {
  const l = name.toLowerCase();
  if (/ground|road|terrain|floor|drivable/.test(l)) return [0.45, 0.47, 0.5];
  if (/obstacle|object|non.?ground/.test(l)) return [1, 0.32, 0.25];
  if (/unlabel|unknown|noise|none/.test(l)) return [0.25, 0.27, 0.3];
  return classColorRgb(name);
}

function heightRange(positions: Float32Array, count: number, row: number[]): [number, number] {
  const [a, b, c, d] = row as [number, number, number, number];
  const stride = Math.max(1, Math.floor(count / 20000));
  const sample = new Float32Array(Math.ceil(count / stride));
  let n = 0;
  for (let i = 0; i < count; i += stride) {
    const o = i * 3;
    const z = a * positions[o]! + b * positions[o + 1]! + c * positions[o + 2]! + d;
    if (Number.isFinite(z)) sample[n++] = z;
  }
  const [lo, hi] = percentiles(sample.subarray(0, n));
  // At least 3 m of span, and the ground just above the bottom of the scale (deep blue, not the
  // near-black end): the ground recedes, cars and people land in the warm half.
  const span = Math.max(hi - lo, 3);
  return [lo - 0.12 * span, lo + span];
}

function percentiles(sample: Float32Array): [number, number] {
  if (sample.length === 0) return [0, 1];
  sample.sort();
  const lo = sample[Math.floor(sample.length * 0.01)]!;
  const hi = sample[Math.min(sample.length - 1, Math.floor(sample.length * 0.99))]!;
  return hi > lo ? [lo, hi] : [lo, lo + 1];
}
