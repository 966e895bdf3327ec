// Projection of ego-frame geometry into one camera image: lidar points (a typed-array loop into
// reused buffers), 3D box wireframes and path ribbons (clipped at the near plane, so boxes and
// paths that pass behind the camera are cut, not folded through it).
import type { CameraImage, PointCloud, Vec3 } from '../../../src/logs/model.js';
import { BOX_EDGES, BOX_FRONT_CROSS, boxCornersInto, invertMat34, multiplyMat34, poseToMat34, type Mat34 } from '../../state/geometry.js';

/** Near plane, metres in front of the camera. */
export const NEAR = 0.15;
/** Colour buckets for depth (drawn far to near, one fill per bucket). */
export const DEPTH_BUCKETS = 32;
export const DEPTH_MAX_M = 70;

export interface Rect {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** Projected lidar points that land in the image, bucketed by depth colour. Buffers are reused. */
export class ProjectedPoints {
  capacity = 0;
  /** Image pixels, interleaved u,v. */
  uv = new Float32Array(0);
  bucket = new Uint8Array(0);
  /** Indices into uv sorted by bucket, far buckets first. */
  order = new Uint32Array(0);
  /** Start offset of each bucket in `order` (DEPTH_BUCKETS + 1 entries). */
  readonly bucketStart = new Uint32Array(DEPTH_BUCKETS + 1);
  count = 0;
  total = 0;
  inFront = 0;
  bounds: Rect = { x1: 0, y1: 0, x2: 0, y2: 0 };
  projectMs = 0;

  ensure(n: number): void {
    if (n <= this.capacity) return;
    let capacity = Math.max(4096, this.capacity);
    while (capacity < n) capacity *= 2;
    this.capacity = capacity;
    this.uv = new Float32Array(capacity * 2);
    this.bucket = new Uint8Array(capacity);
    this.order = new Uint32Array(capacity);
  }
}

export class CameraProjector {
  width = 0;
  height = 0;
  /** camera optical <- ego. */
  private readonly cameraFromEgo: Mat34 = new Float64Array(12);
  private readonly scratch: Mat34 = new Float64Array(12);
  private readonly m: Mat34 = new Float64Array(12);
  private readonly P = new Float64Array(12);
  private readonly pm: Mat34 = new Float64Array(12);
  private readonly corners = new Float64Array(24);
  private readonly cam = new Float64Array(24);
  valid = false;

  setCamera(camera: CameraImage): void {
    const { P, width, height } = camera.intrinsics;
    this.width = width;
    this.height = height;
    this.valid = Array.isArray(P) && P.length >= 12 && P[0]! > 0;
    if (!this.valid) return;
    for (let i = 0; i < 12; i++) this.P[i] = P[i]!;
    invertMat34(poseToMat34(camera.extrinsic, this.scratch), this.cameraFromEgo);
  }

  /** Ego-frame point into the camera's optical frame. */
  toCamera(x: number, y: number, z: number, out: Float64Array, o: number): void {
    const m = this.cameraFromEgo;
    out[o] = m[0]! * x + m[1]! * y + m[2]! * z + m[3]!;
    out[o + 1] = m[4]! * x + m[5]! * y + m[6]! * z + m[7]!;
    out[o + 2] = m[8]! * x + m[9]! * y + m[10]! * z + m[11]!;
  }

  /** Optical-frame point to pixels (z must be > 0). */
  toPixel(x: number, y: number, z: number, out: Float64Array, o: number): void {
    const P = this.P;
    const w = P[8]! * x + P[9]! * y + P[10]! * z + P[11]!;
    out[o] = (P[0]! * x + P[1]! * y + P[2]! * z + P[3]!) / w;
    out[o + 1] = (P[4]! * x + P[5]! * y + P[6]! * z + P[7]!) / w;
  }

  /** Projects a sweep: pixel = P · cameraFromEgo · egoFromSensor · p, one fused 3x4 per point. */
  projectCloud(cloud: PointCloud, out: ProjectedPoints): void {
    const started = performance.now();
    const count = Math.min(cloud.count, Math.floor(cloud.positions.length / 3));
    out.total = count;
    out.count = 0;
    out.inFront = 0;
    if (!this.valid || count === 0) {
      out.projectMs = performance.now() - started;
      return;
    }
    out.ensure(count);
    const camFromSensor = multiplyMat34(this.cameraFromEgo, poseToMat34(cloud.extrinsic, this.scratch), this.m);
    const M = multiplyMat34(this.P, camFromSensor, this.pm);
    const c = camFromSensor;
    const m0 = M[0]!, m1 = M[1]!, m2 = M[2]!, m3 = M[3]!, m4 = M[4]!, m5 = M[5]!, m6 = M[6]!, m7 = M[7]!, m8 = M[8]!, m9 = M[9]!, m10 = M[10]!, m11 = M[11]!;
    const z0 = c[8]!, z1 = c[9]!, z2 = c[10]!, z3 = c[11]!;
    const p = cloud.positions;
    const uv = out.uv;
    const bucket = out.bucket;
    const w = this.width;
    const h = this.height;
    let n = 0;
    let inFront = 0;
    let minU = Infinity, minV = Infinity, maxU = -Infinity, maxV = -Infinity;
    const scale = (DEPTH_BUCKETS - 1) / Math.sqrt(DEPTH_MAX_M);
    for (let i = 0; i < count; i++) {
      const x = p[i * 3]!, y = p[i * 3 + 1]!, z = p[i * 3 + 2]!;
      const depth = z0 * x + z1 * y + z2 * z + z3;
      if (!(depth > NEAR)) continue;
      inFront++;
      const ww = m8 * x + m9 * y + m10 * z + m11;
      const u = (m0 * x + m1 * y + m2 * z + m3) / ww;
      const v = (m4 * x + m5 * y + m6 * z + m7) / ww;
      if (!(u >= 0 && u < w && v >= 0 && v < h)) continue;
      uv[n * 2] = u;
      uv[n * 2 + 1] = v;
      // sqrt spreads the near range (where detail matters) over more colours. Bucket 0 = nearest.
      const b = Math.sqrt(depth) * scale;
      bucket[n] = b >= DEPTH_BUCKETS - 1 ? DEPTH_BUCKETS - 1 : b | 0;
      if (u < minU) minU = u;
      if (u > maxU) maxU = u;
      if (v < minV) minV = v;
      if (v > maxV) maxV = v;
      n++;
    }
    // Counting sort by bucket, far first, so near points are painted on top.
    const starts = out.bucketStart;
    starts.fill(0);
    for (let i = 0; i < n; i++) starts[DEPTH_BUCKETS - 1 - bucket[i]! + 1]!++;
    for (let b = 1; b <= DEPTH_BUCKETS; b++) starts[b]! += starts[b - 1]!;
    const cursor = starts.slice(0, DEPTH_BUCKETS);
    for (let i = 0; i < n; i++) out.order[cursor[DEPTH_BUCKETS - 1 - bucket[i]!]!++] = i;
    out.count = n;
    out.inFront = inFront;
    out.bounds = n ? { x1: minU, y1: minV, x2: maxU, y2: maxV } : { x1: 0, y1: 0, x2: 0, y2: 0 };
    out.projectMs = performance.now() - started;
  }

  /**
   * A box as clipped image segments (x1,y1,x2,y2 per segment) appended to `out` from `offset`;
   * returns the new offset and widens `rect` (image pixels, unclipped to the image) to cover them.
   */
  projectBox(box: { center: readonly number[]; size: readonly number[]; yaw: number }, out: Float32Array, offset: number, rect: Rect, withCross: boolean): number {
    if (!this.valid) return offset;
    const corners = boxCornersInto(box, this.corners);
    const cam = this.cam;
    let anyInFront = false;
    for (let k = 0; k < 8; k++) {
      this.toCamera(corners[k * 3]!, corners[k * 3 + 1]!, corners[k * 3 + 2]!, cam, k * 3);
      if (cam[k * 3 + 2]! > NEAR) anyInFront = true;
    }
    if (!anyInFront) return offset;
    let o = offset;
    const edges = withCross ? [...BOX_EDGES, ...BOX_FRONT_CROSS] : BOX_EDGES;
    for (const [a, b] of edges) {
      o = this.segment(cam[a * 3]!, cam[a * 3 + 1]!, cam[a * 3 + 2]!, cam[b * 3]!, cam[b * 3 + 1]!, cam[b * 3 + 2]!, out, o, rect);
    }
    return o;
  }

  private readonly px = new Float64Array(4);

  /** One optical-frame segment clipped at the near plane, projected; appended when visible. */
  private segment(ax: number, ay: number, az: number, bx: number, by: number, bz: number, out: Float32Array, o: number, rect: Rect): number {
    if (az <= NEAR && bz <= NEAR) return o;
    if (az < NEAR) {
      const t = (NEAR - az) / (bz - az);
      ax += (bx - ax) * t;
      ay += (by - ay) * t;
      az = NEAR;
    } else if (bz < NEAR) {
      const t = (NEAR - bz) / (az - bz);
      bx += (ax - bx) * t;
      by += (ay - by) * t;
      bz = NEAR;
    }
    const px = this.px;
    this.toPixel(ax, ay, az, px, 0);
    this.toPixel(bx, by, bz, px, 2);
    out[o] = px[0]!;
    out[o + 1] = px[1]!;
    out[o + 2] = px[2]!;
    out[o + 3] = px[3]!;
    rect.x1 = Math.min(rect.x1, px[0]!, px[2]!);
    rect.y1 = Math.min(rect.y1, px[1]!, px[3]!);
    rect.x2 = Math.max(rect.x2, px[0]!, px[2]!);
    rect.y2 = Math.max(rect.y2, px[1]!, px[3]!);
    return o + 4;
  }

  /**
   * A path on the road: the centre line as clipped segments and the corridor as clipped quads
   * (polygons of up to 5 image points, each as [n, x0, y0, ...]). `groundZ` lifts ego-origin
   * paths onto the road.
   */
  projectPath(points: readonly Vec3[], halfWidth: number, groundZ: number, onGround: boolean): { line: number[]; quads: number[][] } {
    const line: number[] = [];
    const quads: number[][] = [];
    if (!this.valid || points.length < 2) return { line, quads };
    const lift = onGround ? 0 : groundZ;
    const n = points.length;
    const left = new Float64Array(n * 3);
    const right = new Float64Array(n * 3);
    const centre = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) {
      const p = points[i]!;
      const prev = points[Math.max(0, i - 1)]!;
      const next = points[Math.min(n - 1, i + 1)]!;
      let tx = next[0] - prev[0];
      let ty = next[1] - prev[1];
      const len = Math.hypot(tx, ty) || 1;
      tx /= len;
      ty /= len;
      const z = p[2] + lift;
      this.toCamera(p[0], p[1], z, centre, i * 3);
      this.toCamera(p[0] - ty * halfWidth, p[1] + tx * halfWidth, z, left, i * 3);
      this.toCamera(p[0] + ty * halfWidth, p[1] - tx * halfWidth, z, right, i * 3);
    }
    const rect: Rect = { x1: Infinity, y1: Infinity, x2: -Infinity, y2: -Infinity };
    const seg = new Float32Array(4);
    for (let i = 0; i + 1 < n; i++) {
      const a = i * 3;
      const b = (i + 1) * 3;
      if (this.segment(centre[a]!, centre[a + 1]!, centre[a + 2]!, centre[b]!, centre[b + 1]!, centre[b + 2]!, seg, 0, rect) === 4) line.push(seg[0]!, seg[1]!, seg[2]!, seg[3]!);
      const quad = this.clipPolygon([left, a], [left, b], [right, b], [right, a]);
      if (quad) quads.push(quad);
    }
    return { line, quads };
  }

  /** Sutherland–Hodgman against z >= NEAR, then projected: [x0, y0, x1, y1, ...] or null. */
  private clipPolygon(...vertices: Array<[Float64Array, number]>): number[] | null {
    const input = vertices.map(([arr, o]) => [arr[o]!, arr[o + 1]!, arr[o + 2]!] as const);
    const clipped: Array<readonly [number, number, number]> = [];
    for (let i = 0; i < input.length; i++) {
      const a = input[i]!;
      const b = input[(i + 1) % input.length]!;
      const aIn = a[2] >= NEAR;
      const bIn = b[2] >= NEAR;
      if (aIn) clipped.push(a);
      if (aIn !== bIn) {
        const t = (NEAR - a[2]) / (b[2] - a[2]);
        clipped.push([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, NEAR]);
      }
    }
    if (clipped.length < 3) return null;
    const out: number[] = [];
    const px = this.px;
    for (const [x, y, z] of clipped) {
      this.toPixel(x, y, z, px, 0);
      out.push(px[0]!, px[1]!);
    }
    return out;
  }
}
