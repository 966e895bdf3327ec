// A PCD point-cloud file (v0.7: ascii, binary or binary_compressed) as a one-sweep, lidar-only drive.
// Binary data is read with one positional read after the header; nothing else is kept.
import { open as openFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { DriveLog, FrameInclude, OpenOptions } from '../driveLog.js';
import { LogError } from '../errors.js';
import type { FrameData, FrameStub, LogInfo, PointCloud } from '../model.js';
import { frameKey } from '../model.js';
import { IDENTITY_POSE } from '../transforms.js';

export const PCD_MAGIC = /^(#[^\n]*\n)*\s*VERSION\s/;
const MAX_HEADER_BYTES = 64 * 1024;

interface PcdHeader {
  fields: string[];
  sizes: number[];
  types: string[];
  counts: number[];
  width: number;
  height: number;
  points: number;
  data: 'ascii' | 'binary' | 'binary_compressed';
  dataOffset: number;
}

function parseHeader(text: string, path: string): PcdHeader {
  const values = new Map<string, string[]>();
  let offset = 0;
  let line = 0;
  for (const raw of text.split('\n')) {
    line++;
    offset += Buffer.byteLength(raw) + 1;
    const trimmed = raw.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const [key, ...rest] = trimmed.split(/\s+/);
    values.set(key!.toUpperCase(), rest);
    if (key!.toUpperCase() === 'DATA') {
      const header = {
        fields: values.get('FIELDS') ?? [],
        sizes: (values.get('SIZE') ?? []).map(Number),
        types: values.get('TYPE') ?? [],
        counts: (values.get('COUNT') ?? (values.get('FIELDS') ?? []).map(() => '1')).map(Number),
        width: Number(values.get('WIDTH')?.[0]),
        height: Number(values.get('HEIGHT')?.[0] ?? 1),
        points: Number(values.get('POINTS')?.[0] ?? Number(values.get('WIDTH')?.[0]) * Number(values.get('HEIGHT')?.[0] ?? 1)),
        data: rest[0]?.toLowerCase() as PcdHeader['data'],
        dataOffset: offset,
      };
      const bad = (why: string): never => {
        throw new LogError(`${path}: bad PCD header (${why}) at line ${line}`, { path, line });
      };
      if (!['ascii', 'binary', 'binary_compressed'].includes(header.data)) bad(`DATA '${rest[0] ?? ''}' is not ascii, binary or binary_compressed`);
      if (header.data === 'binary_compressed') bad('binary_compressed PCD is not supported yet; re-save as binary');
      if (!header.fields.includes('x') || !header.fields.includes('y')) bad('no x/y fields');
      if (header.sizes.length !== header.fields.length || header.types.length !== header.fields.length) bad('FIELDS, SIZE and TYPE differ in length');
      if (!Number.isInteger(header.points) || header.points < 0) bad(`POINTS '${values.get('POINTS')?.[0]}'`);
      return header;
    }
  }
  throw new LogError(`${path}: PCD header has no DATA line within ${MAX_HEADER_BYTES} bytes`, { path });
}

function reader(type: string, size: number): ((v: DataView, o: number) => number) | undefined {
  if (type === 'F' && size === 4) return (v, o) => v.getFloat32(o, true);
  if (type === 'F' && size === 8) return (v, o) => v.getFloat64(o, true);
  if (type === 'U' && size === 1) return (v, o) => v.getUint8(o);
  if (type === 'U' && size === 2) return (v, o) => v.getUint16(o, true);
  if (type === 'U' && size === 4) return (v, o) => v.getUint32(o, true);
  if (type === 'I' && size === 1) return (v, o) => v.getInt8(o);
  if (type === 'I' && size === 2) return (v, o) => v.getInt16(o, true);
  if (type === 'I' && size === 4) return (v, o) => v.getInt32(o, true);
  return undefined;
}

export function isPcdFile(head: Buffer): boolean {
  return PCD_MAGIC.test(head.subarray(0, 512).toString('latin1'));
}

export async function openPcdLog(path: string, options: OpenOptions): Promise<DriveLog> {
  const size = (await stat(path)).size;
  const handle = await openFile(path, 'r');
  let header: PcdHeader;
  try {
    const head = Buffer.alloc(Math.min(MAX_HEADER_BYTES, size));
    await handle.read(head, 0, head.length, 0);
    const end = head.indexOf('\nDATA');
    const lineEnd = end < 0 ? -1 : head.indexOf('\n', end + 1);
    header = parseHeader(head.subarray(0, lineEnd < 0 ? head.length : lineEnd + 1).toString('latin1'), path);
  } finally {
    await handle.close();
  }
  const stampNs = '0';
  const frames: FrameStub[] = [{ index: 0, id: frameKey(options.logId, stampNs), stampNs, timeS: 0 }];
  const info: LogInfo = {
    id: options.logId,
    path,
    name: basename(path),
    format: 'pcd',
    fingerprint: options.fingerprint,
    sizeBytes: size,
    startNs: stampNs,
    endNs: stampNs,
    durationS: 0,
    frameCount: 1,
    referenceSensor: 'lidar',
    streams: [{ topic: basename(path), kind: 'lidar', schema: `pcd.${header.data}`, messageCount: 1, rateHz: 0, sensorId: 'lidar' }],
    sensors: [{ id: 'lidar', kind: 'lidar', frameId: 'lidar', extrinsic: IDENTITY_POSE }],
    labelCount: 0,
    warnings: ['A PCD file holds one sweep and no timestamps, poses or calibration: the sensor frame is the ego frame'],
  };
  return {
    info,
    frames,
    async readFrame(index: number, include: Partial<FrameInclude> = {}): Promise<FrameData> {
      if (index !== 0) throw new LogError(`Frame ${index} is out of range: ${info.name} has 1 frame (0–0)`, { path });
      const warnings: string[] = [];
      const frame: FrameData = { logId: options.logId, index: 0, id: frames[0]!.id, stampNs, timeS: 0, cameras: [], labels3d: [], labels2d: [], paths: [], warnings };
      if (include.lidar !== false) frame.lidar = await readPoints(path, header, size, warnings);
      return frame;
    },
    async close() {},
  };
}

async function readPoints(path: string, header: PcdHeader, fileSize: number, warnings: string[]): Promise<PointCloud> {
  const handle = await openFile(path, 'r');
  let body: Buffer;
  try {
    body = Buffer.alloc(Math.max(0, fileSize - header.dataOffset));
    await handle.read(body, 0, body.length, header.dataOffset);
  } finally {
    await handle.close();
  }
  const columns = header.fields.map((name, i) => ({ name, size: header.sizes[i]!, count: header.counts[i] ?? 1, read: reader(header.types[i]!, header.sizes[i]!) }));
  const offsets: number[] = [];
  let stride = 0;
  for (const c of columns) {
    offsets.push(stride);
    stride += c.size * c.count;
  }
  let total = header.points;
  let rows: string[] | undefined;
  if (header.data === 'binary') {
    const available = Math.floor(body.length / stride);
    if (available < total) {
      warnings.push(`${path}: header says ${total} points but the data holds ${available} (truncated at byte ${header.dataOffset + available * stride})`);
      total = available;
    }
  } else {
    rows = body.toString('latin1').split('\n').filter((l) => l.trim());
    if (rows.length < total) {
      warnings.push(`${path}: header says ${total} points but ${rows.length} data lines follow`);
      total = rows.length;
    }
  }
  const xi = header.fields.indexOf('x');
  const yi = header.fields.indexOf('y');
  const zi = header.fields.indexOf('z');
  const extras = columns.map((c, i) => ({ ...c, i })).filter((c) => !['x', 'y', 'z', '_'].includes(c.name) && c.read);
  const positions = new Float32Array(total * 3);
  const fieldArrays = extras.map(() => new Float32Array(total));
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let n = 0;
  let dropped = 0;
  for (let p = 0; p < total; p++) {
    let value: (col: number) => number;
    if (rows) {
      const parts = rows[p]!.trim().split(/\s+/);
      value = (col) => Number(parts[col]);
    } else {
      const base = p * stride;
      value = (col) => columns[col]!.read!(view, base + offsets[col]!);
    }
    const x = value(xi);
    const y = value(yi);
    const z = zi >= 0 ? value(zi) : 0;
    if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z)) {
      dropped++;
      continue;
    }
    positions[n * 3] = x;
    positions[n * 3 + 1] = y;
    positions[n * 3 + 2] = z;
    for (let e = 0; e < extras.length; e++) fieldArrays[e]![n] = value(extras[e]!.i);
    n++;
  }
  if (dropped) warnings.push(`${dropped} points with NaN or infinite coordinates dropped`);
  return {
    sensorId: 'lidar',
    frameId: 'lidar',
    stampNs: '0',
    count: n,
    positions: n === total ? positions : positions.slice(0, n * 3),
    fields: Object.fromEntries(extras.map((e, k) => [e.name, n === total ? fieldArrays[k]! : fieldArrays[k]!.slice(0, n)])),
    extrinsic: IDENTITY_POSE,
  };
}
