import { describe, expect, it } from 'vitest';
import { decodeWire, encodeWire } from '../../src/api/wire.js';

describe('wire codec', () => {
  it('round-trips nested typed arrays as aligned zero-copy views', () => {
    const positions = Float32Array.from({ length: 3001 }, (_, i) => i * 0.5);
    const value = {
      name: 'frame',
      n: 7,
      nested: [{ bytes: new Uint8Array([1, 2, 3]), flag: true }, null],
      lidar: { positions, fields: { ring: new Uint16Array([5, 6]), t: new Float64Array([1.5]) } },
    };
    const bytes = encodeWire(value);
    const decoded = decodeWire<typeof value>(bytes);
    expect(decoded.name).toBe('frame');
    expect(decoded.nested[1]).toBeNull();
    expect(decoded.nested[0]!.bytes).toBeInstanceOf(Uint8Array);
    expect([...decoded.nested[0]!.bytes]).toEqual([1, 2, 3]);
    expect(decoded.lidar.positions).toBeInstanceOf(Float32Array);
    expect(decoded.lidar.positions).toEqual(positions);
    expect(decoded.lidar.fields.ring).toEqual(new Uint16Array([5, 6]));
    expect(decoded.lidar.fields.t[0]).toBe(1.5);
    // Zero copy: the decoded array is a view into the payload buffer.
    expect(decoded.lidar.positions.buffer).toBe(bytes.buffer);
    // Binary stays binary: the payload is about the size of the raw floats, not a JSON number list.
    expect(bytes.byteLength).toBeLessThan(positions.byteLength + 1024);
  });

  it('decodes from a misaligned buffer by copying once', () => {
    const bytes = encodeWire({ a: new Float64Array([1, 2, 3]) });
    const shifted = new Uint8Array(bytes.byteLength + 3);
    shifted.set(bytes, 3);
    const decoded = decodeWire<{ a: Float64Array }>(shifted.subarray(3));
    expect([...decoded.a]).toEqual([1, 2, 3]);
  });

  it('rejects garbage and truncation with clear errors', () => {
    expect(() => decodeWire(new Uint8Array([1, 2, 3]))).toThrow(/too short/);
    expect(() => decodeWire(new TextEncoder().encode('{"json": true}'))).toThrow(/bad magic/);
    const bytes = encodeWire({ a: new Float32Array(100) });
    expect(() => decodeWire(bytes.subarray(0, bytes.byteLength - 40))).toThrow(/truncated/);
  });
});
