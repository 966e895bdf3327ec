// Camera frusta from each camera's extrinsic (ego <- optical) and intrinsics, pooled in one
// LineSegments: apex to the four image corners at a fixed depth, plus the image rectangle and a
// small tick marking the image top.
import { BufferAttribute, BufferGeometry, DynamicDrawUsage, LineBasicMaterial, LineSegments, Matrix4, Vector3 } from 'three';
import type { CameraImage } from '../../src/logs/model.js';
import { poseToMatrix } from './pose.js';

const VERTS_PER_CAMERA = 22; // 4 rays + 4 rectangle edges + 3 "up" triangle edges, 2 vertices each
const DEPTH = 5; // metres

export class FrustumRenderable {
  readonly object: LineSegments;
  private readonly geometry = new BufferGeometry();
  private capacity = 0;
  private positions = new Float32Array(0);
  private readonly m = new Matrix4();
  private readonly v = new Vector3();
  /** Sensors whose intrinsics were missing and were drawn with a nominal 60° field of view. */
  approximate: string[] = [];

  constructor() {
    this.ensureCapacity(4);
    this.object = new LineSegments(this.geometry, new LineBasicMaterial({ color: 0xffe08a, transparent: true, opacity: 0.8 }));
    this.object.frustumCulled = false;
  }

  private ensureCapacity(count: number): void {
    if (count <= this.capacity) return;
    let capacity = Math.max(4, this.capacity);
    while (capacity < count) capacity *= 2;
    this.capacity = capacity;
    this.positions = new Float32Array(capacity * VERTS_PER_CAMERA * 3);
    this.geometry.dispose();
    this.geometry.setAttribute('position', new BufferAttribute(this.positions, 3).setUsage(DynamicDrawUsage));
  }

  update(cameras: CameraImage[]): void {
    this.ensureCapacity(cameras.length);
    this.approximate = [];
    let o = 0;
    const p = this.positions;
    const push = (x: number, y: number, z: number) => {
      this.v.set(x, y, z).applyMatrix4(this.m);
      p[o++] = this.v.x;
      p[o++] = this.v.y;
      p[o++] = this.v.z;
    };
    for (const camera of cameras) {
      const { width, height } = camera.intrinsics;
      let { fx, fy, cx, cy } = intrinsicsOf(camera);
      if (!(fx > 0 && fy > 0)) {
        this.approximate.push(camera.sensorId);
        fx = fy = width / 2 / Math.tan(Math.PI / 6);
        cx = width / 2;
        cy = height / 2;
      }
      poseToMatrix(camera.extrinsic, this.m);
      const corner = (u: number, v: number): [number, number, number] => [((u - cx) / fx) * DEPTH, ((v - cy) / fy) * DEPTH, DEPTH];
      const cs = [corner(0, 0), corner(width, 0), corner(width, height), corner(0, height)];
      for (const c of cs) {
        push(0, 0, 0);
        push(...c);
      }
      for (let i = 0; i < 4; i++) {
        push(...cs[i]!);
        push(...cs[(i + 1) % 4]!);
      }
      // "Up" triangle above the top edge (optical y is down).
      const [tlx, tly] = cs[0]!;
      const [trx] = cs[1]!;
      const mid = (tlx + trx) / 2;
      const h = (trx - tlx) * 0.12;
      push(tlx + (trx - tlx) * 0.35, tly, DEPTH);
      push(mid, tly - h, DEPTH);
      push(mid, tly - h, DEPTH);
      push(tlx + (trx - tlx) * 0.65, tly, DEPTH);
      push(tlx + (trx - tlx) * 0.35, tly, DEPTH);
      push(tlx + (trx - tlx) * 0.65, tly, DEPTH);
    }
    const attribute = this.geometry.getAttribute('position') as BufferAttribute;
    attribute.clearUpdateRanges();
    attribute.addUpdateRange(0, o);
    attribute.needsUpdate = true;
    this.geometry.setDrawRange(0, o / 3);
  }

  dispose(): void {
    this.geometry.dispose();
    (this.object.material as LineBasicMaterial).dispose();
  }
}

function intrinsicsOf(camera: CameraImage): { fx: number; fy: number; cx: number; cy: number } {
  const { K, P } = camera.intrinsics;
  if (P && P.length >= 12 && P[0]! > 0) return { fx: P[0]!, fy: P[5]!, cx: P[2]!, cy: P[6]! };
  if (K && K.length >= 9 && K[0]! > 0) return { fx: K[0]!, fy: K[4]!, cx: K[2]!, cy: K[5]! };
  return { fx: 0, fy: 0, cx: 0, cy: 0 };
}
