// foxglove.PointCloud decoding for both memory layouts: 4-byte aligned float32 (one Float32Array view)
// and packed (the demo's x y z intensity float32 + ring uint16, stride 18, read column by column).
// Non-finite points are dropped from every column alike.
import { describe, expect, it } from 'vitest';
import { toPointCloud } from '../../src/logs/messages/foxglove.js';

const FLOAT32 = 7;
const UINT16 = 3;
const UINT8 = 1;

interface Point {
  x: number;
  y: number;
  z: number;
  intensity: number;
  ring: number;
}

function points(count: number): Point[] {
  return Array.from({ length: count }, (_, i) => ({
    x: i % 7 === 3 ? NaN : Math.fround(i * 0.5 - 3),
    y: i % 11 === 5 ? Infinity : Math.fround(-i * 0.25),
    z: Math.fround(1.5 + (i % 5) * 0.1),
    intensity: Math.fround((i * 13) % 255),
    ring: i % 64,
  }));
}

function encode(list: Point[], layout: 'packed' | 'aligned'): { data: Uint8Array; stride: number; fields: Array<{ name: string; offset: number; type: number }> } {
  const stride = layout === 'packed' ? 18 : 20;
  const fields = [
    { name: 'x', offset: 0, type: FLOAT32 },
    { name: 'y', offset: 4, type: FLOAT32 },
    { name: 'z', offset: 8, type: FLOAT32 },
    { name: 'intensity', offset: 12, type: FLOAT32 },
    { name: 'ring', offset: 16, type: layout === 'packed' ? UINT16 : UINT8 },
  ];
  // One spare byte in front: the payload sits at an odd offset, as inside a message buffer.
  const buffer = new Uint8Array(1 + list.length * stride);
  const view = new DataView(buffer.buffer, 1);
  list.forEach((p, i) => {
    const o = i * stride;
    view.setFloat32(o, p.x, true);
    view.setFloat32(o + 4, p.y, true);
    view.setFloat32(o + 8, p.z, true);
    view.setFloat32(o + 12, p.intensity, true);
    if (layout === 'packed') view.setUint16(o + 16, p.ring, true);
    else view.setUint8(o + 16, p.ring);
  });
  return { data: buffer.subarray(1), stride, fields };
}

describe('foxglove.PointCloud decoding', () => {
  for (const layout of ['packed', 'aligned'] as const) {
    it(`${layout} layout: positions and extra fields of the finite points, in order`, () => {
      const list = points(1000);
      const { data, stride, fields } = encode(list, layout);
      const cloud = toPointCloud({ frame_id: 'lidar', point_stride: stride, fields, data, pose: null });
      const finite = list.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && Number.isFinite(p.z));
      expect(cloud.count).toBe(finite.length);
      expect(cloud.droppedNonFinite).toBe(list.length - finite.length);
      expect(cloud.warnings).toEqual([`${list.length - finite.length} points with NaN or infinite coordinates dropped`]);
      expect([...cloud.positions]).toEqual(finite.flatMap((p) => [p.x, p.y, p.z]));
      expect([...cloud.fields.intensity!]).toEqual(finite.map((p) => p.intensity));
      expect([...cloud.fields.ring!]).toEqual(finite.map((p) => p.ring));
    });
  }
});
