// An MCAP file as a drive: classify channels into streams, build the frame table from the
// reference sensor's message index, and assemble each frame from the nearest messages.
import type { McapTypes } from '@mcap/core';
import type { DriveLog, FrameInclude, OpenOptions } from '../driveLog.js';
import { LogError } from '../errors.js';
import type {
  Box2D,
  Box3D,
  CameraImage,
  CameraIntrinsics,
  FrameData,
  FrameStub,
  LogInfo,
  Pose,
  SensorInfo,
  StreamInfo,
  StreamKind,
} from '../model.js';
import { frameKey } from '../model.js';
import { TransformTree } from '../transforms.js';
import { ByteLru } from '../../util/lru.js';
import { createDecoder, type MessageDecoder, type PlainMessage } from './decoders.js';
import {
  boxToEgo,
  toCompressedImage,
  toImageBoxes,
  toIntrinsics,
  toPointCloud,
  toPoseInFrame,
  toSceneUpdate,
  toTransforms,
} from './foxglove.js';
import { McapIndexedSource, type McapMessageRef } from './indexedSource.js';
import { basename } from 'node:path';

const SCHEMA_KINDS: Record<string, StreamKind> = {
  'foxglove.CompressedImage': 'camera',
  'foxglove.CameraCalibration': 'camera-calibration',
  'foxglove.PointCloud': 'lidar',
  'foxglove.FrameTransform': 'transform',
  'foxglove.FrameTransforms': 'transform',
  'foxglove.PoseInFrame': 'pose',
  'foxglove.SceneUpdate': 'labels3d',
  'foxglove.ImageAnnotations': 'labels2d',
};

const EGO_FRAME_CANDIDATES = ['base_link', 'base_footprint', 'ego_vehicle', 'ego', 'vehicle'];
const WORLD_FRAME_CANDIDATES = ['world', 'map', 'odom'];
const GROUND_TRUTH_TOPIC = /ground[_-]?truth|(^|\/)gt(\/|$)|label|annotation/i;
/** Transform channels this small are read whole at open (static or near-static trees). */
const SMALL_TRANSFORM_CHANNEL = 64;
const TF_WINDOW_NS = 250_000_000n;

interface Channel {
  id: number;
  topic: string;
  schemaName: string;
  kind: StreamKind;
  sensorId?: string;
  decoder?: MessageDecoder;
  groundTruth: boolean;
}

/** '/camera/front/image' -> 'camera/front'; '/lidar/points' -> 'lidar'. */
export function sensorIdFromTopic(topic: string): string {
  const parts = topic.split('/').filter(Boolean);
  const generic = /^(image|image_raw|image_rect|image_color|compressed|points|pointcloud|point_cloud|cloud|calibration|camera_info|data)$/i;
  while (parts.length > 1 && generic.test(parts[parts.length - 1]!)) parts.pop();
  return parts.join('/') || topic;
}

function commonPrefixLength(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

export async function openMcapLog(path: string, options: OpenOptions): Promise<DriveLog> {
  const source = await McapIndexedSource.open(path);
  try {
    return await McapDrive.create(path, source, options);
  } catch (error) {
    await source.close();
    throw error;
  }
}

class McapDrive implements DriveLog {
  private readonly tree = new TransformTree();
  private readonly loadedTransforms = new Set<string>();
  private readonly frameCache = new ByteLru<string, FrameData>(256 << 20, frameBytes);
  private readonly calibrationCache = new Map<string, { intrinsics: CameraIntrinsics; frameId: string }>();
  private egoFrame = '';
  private worldFrame = '';

  private constructor(
    readonly info: LogInfo,
    readonly frames: readonly FrameStub[],
    private readonly source: McapIndexedSource,
    private readonly channels: Channel[],
    private readonly reference: Channel,
    private readonly refTimes: BigInt64Array,
    private readonly toleranceNs: bigint,
  ) {}

  static async create(path: string, source: McapIndexedSource, options: OpenOptions): Promise<McapDrive> {
    const { reader } = source;
    const warnings: string[] = [];
    const channels: Channel[] = [];
    const unknownSchemas = new Set<string>();
    for (const ch of reader.channelsById.values()) {
      const schema: McapTypes.Schema | undefined = reader.schemasById.get(ch.schemaId);
      const schemaName = schema?.name ?? '';
      let kind = SCHEMA_KINDS[schemaName] ?? 'other';
      let decoder: MessageDecoder | undefined;
      if (kind !== 'other') {
        decoder = createDecoder(schema, ch, path);
        if (!decoder) {
          warnings.push(`${ch.topic}: ${schemaName} in '${ch.messageEncoding}' encoding is not supported; skipped`);
          kind = 'other';
        }
      } else {
        unknownSchemas.add(`${ch.topic} (${schemaName || 'no schema'})`);
      }
      const groundTruth = GROUND_TRUTH_TOPIC.test(ch.topic);
      channels.push({
        id: ch.id,
        topic: ch.topic,
        schemaName,
        kind,
        decoder,
        groundTruth,
        sensorId: kind === 'camera' || kind === 'lidar' || kind === 'camera-calibration' ? sensorIdFromTopic(ch.topic) : undefined,
      });
    }
    if (unknownSchemas.size) warnings.push(`Streams with unknown schemas skipped: ${[...unknownSchemas].join(', ')}`);

    const counts = (id: number) => source.channels.get(id)?.logTimes.length ?? 0;
    const lidars = channels.filter((c) => c.kind === 'lidar' && counts(c.id) > 0);
    const cameras = channels.filter((c) => c.kind === 'camera' && counts(c.id) > 0);
    const reference =
      (options.referenceSensor && [...lidars, ...cameras].find((c) => c.sensorId === options.referenceSensor)) ||
      lidars[0] ||
      cameras[0];
    if (options.referenceSensor && reference?.sensorId !== options.referenceSensor) {
      throw new LogError(`${path} has no sensor '${options.referenceSensor}'`, { path });
    }
    if (!reference) {
      throw new LogError(`${path} has no camera or lidar stream Sightline can read (channels: ${channels.map((c) => `${c.topic} [${c.schemaName}]`).join(', ') || 'none'})`, { path });
    }

    const refIndex = source.channels.get(reference.id)!;
    const refTimes = dedupeSorted(refIndex.logTimes);
    const startNs = refTimes[0]!;
    const endNs = refTimes[refTimes.length - 1]!;
    const frames: FrameStub[] = Array.from(refTimes, (t, index) => ({
      index,
      id: frameKey(options.logId, t.toString()),
      stampNs: t.toString(),
      timeS: Number(t - startNs) / 1e9,
    }));
    const periodNs = refTimes.length > 1 ? (endNs - startNs) / BigInt(refTimes.length - 1) : 100_000_000n;
    const toleranceNs = maxBig(periodNs / 2n, 20_000_000n);

    const durationS = Number(endNs - startNs) / 1e9;
    const streams: StreamInfo[] = channels.map((c) => ({
      topic: c.topic,
      kind: c.kind,
      schema: c.schemaName,
      messageCount: counts(c.id),
      rateHz: durationS > 0 ? counts(c.id) / durationS : 0,
      sensorId: c.sensorId,
    }));
    const info: LogInfo = {
      id: options.logId,
      path,
      name: basename(path),
      format: 'mcap',
      fingerprint: options.fingerprint,
      sizeBytes: source.sizeBytes,
      startNs: startNs.toString(),
      endNs: endNs.toString(),
      durationS,
      frameCount: frames.length,
      referenceSensor: reference.sensorId!,
      streams,
      sensors: [],
      labelCount: channels.filter((c) => c.groundTruth && c.kind === 'labels3d').reduce((n, c) => n + counts(c.id), 0),
      warnings,
    };
    const drive = new McapDrive(info, frames, source, channels, reference, refTimes, toleranceNs);
    await drive.loadSmallTransformChannels();
    await drive.loadDynamicTransforms(startNs);
    drive.pickFrames();
    info.sensors = await drive.describeSensors(lidars, cameras, startNs);
    return drive;
  }

  private async decode(channel: Channel, ref: McapMessageRef): Promise<PlainMessage> {
    const message = await this.source.readMessage(ref);
    try {
      return channel.decoder!(message.data);
    } catch (error) {
      throw new LogError(`${this.info.path}: cannot decode ${channel.topic} message at ${ref.logTime} (${(error as Error).message})`, {
        path: this.info.path,
      });
    }
  }

  private addTransformMessage(channel: Channel, message: PlainMessage, logTime: bigint, isStatic: boolean): void {
    for (const t of toTransforms(channel.schemaName, message)) {
      if (!t.parent || !t.child) continue;
      this.tree.add(t.parent, t.child, t.timeNs ?? logTime, t.pose, isStatic);
    }
  }

  private async loadSmallTransformChannels(): Promise<void> {
    for (const channel of this.channels.filter((c) => c.kind === 'transform')) {
      const index = this.source.channels.get(channel.id);
      if (!index || index.logTimes.length > SMALL_TRANSFORM_CHANNEL) continue;
      const isStatic = /static/.test(channel.topic);
      for (let i = 0; i < index.logTimes.length; i++) {
        const ref = this.source.refAt(index, i);
        this.addTransformMessage(channel, await this.decode(channel, ref), ref.logTime, isStatic);
        this.loadedTransforms.add(`${ref.chunk}:${ref.offset}`);
      }
    }
  }

  /** Dynamic trees are large: read only the transforms around the requested time. */
  private async loadDynamicTransforms(timeNs: bigint): Promise<void> {
    for (const channel of this.channels.filter((c) => c.kind === 'transform')) {
      for (const ref of this.source.range(channel.id, timeNs - TF_WINDOW_NS, timeNs + TF_WINDOW_NS)) {
        const key = `${ref.chunk}:${ref.offset}`;
        if (this.loadedTransforms.has(key)) continue;
        this.loadedTransforms.add(key);
        this.addTransformMessage(channel, await this.decode(channel, ref), ref.logTime, false);
      }
    }
  }

  private pickFrames(): void {
    const known = this.tree.frames();
    this.egoFrame = EGO_FRAME_CANDIDATES.find((f) => known.includes(f)) ?? '';
    this.worldFrame = WORLD_FRAME_CANDIDATES.find((f) => known.includes(f)) ?? '';
    if (!this.egoFrame) this.info.warnings.push('No ego frame (base_link) in the transform tree; sensor frames are used as the ego frame');
  }

  private egoFrom(frameId: string, timeNs: bigint, warnings: string[]): Pose {
    if (!this.egoFrame || !frameId) return { translation: [0, 0, 0], rotation: [0, 0, 0, 1] };
    const pose = this.tree.lookup(this.egoFrame, frameId, timeNs);
    if (!pose) {
      warnings.push(`No transform ${this.egoFrame} <- ${frameId} at ${timeNs}`);
      return { translation: [0, 0, 0], rotation: [0, 0, 0, 1] };
    }
    return pose;
  }

  private async describeSensors(lidars: Channel[], cameras: Channel[], timeNs: bigint): Promise<SensorInfo[]> {
    const sensors: SensorInfo[] = [];
    for (const cam of cameras) {
      const calib = await this.calibrationFor(cam, timeNs);
      sensors.push({
        id: cam.sensorId!,
        kind: 'camera',
        frameId: calib?.frameId ?? '',
        intrinsics: calib?.intrinsics,
        extrinsic: calib ? this.tree.lookup(this.egoFrame, calib.frameId, timeNs) : undefined,
      });
      if (!calib) this.info.warnings.push(`Camera ${cam.sensorId} has no calibration stream`);
    }
    for (const lidar of lidars) {
      // The frame id lives in the message; a lidar's first message tells it.
      const index = this.source.channels.get(lidar.id)!;
      const first = await this.decode(lidar, this.source.refAt(index, 0));
      const frameId = typeof first.frame_id === 'string' ? first.frame_id : '';
      sensors.push({ id: lidar.sensorId!, kind: 'lidar', frameId, extrinsic: this.tree.lookup(this.egoFrame, frameId, timeNs) });
    }
    return sensors;
  }

  /** Pairs a camera with the calibration stream whose topic shares the longest prefix. */
  private calibrationChannelFor(camera: Channel): Channel | undefined {
    let best: Channel | undefined;
    let bestLength = -1;
    for (const c of this.channels) {
      if (c.kind !== 'camera-calibration') continue;
      const length = commonPrefixLength(c.topic, camera.topic);
      if (length > bestLength) {
        best = c;
        bestLength = length;
      }
    }
    return best;
  }

  private async calibrationFor(camera: Channel, timeNs: bigint): Promise<{ intrinsics: CameraIntrinsics; frameId: string } | undefined> {
    const channel = this.calibrationChannelFor(camera);
    if (!channel) return undefined;
    // Calibration may be published rarely: take the nearest message at any distance.
    const ref = this.source.nearest(channel.id, timeNs, BigInt(Number.MAX_SAFE_INTEGER) * 1_000_000n);
    if (!ref) return undefined;
    const key = `${ref.chunk}:${ref.offset}`;
    let cached = this.calibrationCache.get(key);
    if (!cached) {
      const message = await this.decode(channel, ref);
      cached = { intrinsics: toIntrinsics(message), frameId: typeof message.frame_id === 'string' ? message.frame_id : '' };
      this.calibrationCache.set(key, cached);
    }
    return cached;
  }

  async readFrame(index: number, include: Partial<FrameInclude> = {}): Promise<FrameData> {
    if (!Number.isInteger(index) || index < 0 || index >= this.frames.length) {
      throw new LogError(
        `Frame ${index} is out of range: ${this.info.name} has ${this.frames.length} frames (0–${this.frames.length - 1})`,
        { path: this.info.path },
      );
    }
    const want: FrameInclude = { cameras: include.cameras ?? true, lidar: include.lidar ?? true };
    const cacheKey = `${index}:${want.cameras ? 1 : 0}${want.lidar ? 1 : 0}`;
    const cached = this.frameCache.get(cacheKey);
    if (cached) return cached;
    const frame = await this.assemble(index, want);
    this.frameCache.set(cacheKey, frame);
    return frame;
  }

  private async assemble(index: number, want: FrameInclude): Promise<FrameData> {
    const stub = this.frames[index]!;
    const t = this.refTimes[index]!;
    const warnings: string[] = [];
    await this.loadDynamicTransforms(t);

    const frame: FrameData = {
      logId: this.info.id,
      index,
      id: stub.id,
      stampNs: stub.stampNs,
      timeS: stub.timeS,
      egoPose: this.worldFrame && this.egoFrame ? this.tree.lookup(this.worldFrame, this.egoFrame, t) : undefined,
      cameras: [],
      labels3d: [],
      labels2d: [],
      paths: [],
      warnings,
    };
    if (!frame.egoPose) {
      const poseChannel = this.channels.find((c) => c.kind === 'pose');
      const ref = poseChannel && this.source.nearest(poseChannel.id, t, this.toleranceNs);
      if (poseChannel && ref) frame.egoPose = toPoseInFrame(await this.decode(poseChannel, ref)).pose;
    }

    const jobs: Array<Promise<void>> = [];
    if (want.lidar) {
      const lidar = this.reference.kind === 'lidar' ? this.reference : this.channels.find((c) => c.kind === 'lidar');
      const ref = lidar && this.source.nearest(lidar.id, t, this.toleranceNs);
      if (lidar && ref) {
        jobs.push(
          this.decode(lidar, ref).then((message) => {
            const cloud = toPointCloud(message);
            warnings.push(...cloud.warnings);
            frame.lidar = {
              sensorId: lidar.sensorId!,
              frameId: cloud.frameId,
              stampNs: ref.logTime.toString(),
              count: cloud.count,
              positions: cloud.positions,
              fields: cloud.fields,
              extrinsic: this.egoFrom(cloud.frameId, ref.logTime, warnings),
            };
          }),
        );
      }
    }
    if (want.cameras) {
      for (const camera of this.channels.filter((c) => c.kind === 'camera')) {
        const ref = this.source.nearest(camera.id, t, this.toleranceNs);
        if (!ref) continue;
        jobs.push(
          (async () => {
            const image = toCompressedImage(await this.decode(camera, ref));
            const calib = await this.calibrationFor(camera, ref.logTime);
            const frameId = image.frameId || calib?.frameId || '';
            const entry: CameraImage = {
              sensorId: camera.sensorId!,
              frameId,
              stampNs: ref.logTime.toString(),
              skewS: Number(ref.logTime - t) / 1e9,
              format: image.format,
              data: image.data,
              intrinsics: calib?.intrinsics ?? { width: 0, height: 0, K: [], P: [], distortionModel: '', D: [] },
              extrinsic: this.egoFrom(frameId, ref.logTime, warnings),
            };
            frame.cameras.push(entry);
          })(),
        );
      }
    }
    for (const channel of this.channels.filter((c) => c.groundTruth && c.kind === 'labels3d')) {
      const ref = this.source.nearest(channel.id, t, this.toleranceNs);
      if (!ref) continue;
      jobs.push(
        this.decode(channel, ref).then((message) => {
          for (const entity of toSceneUpdate(message)) {
            const egoFromEntity = this.egoFrom(entity.frameId, entity.timeNs ?? ref.logTime, warnings);
            for (const box of entity.boxes) frame.labels3d.push(boxToEgo(box, egoFromEntity));
          }
        }),
      );
    }
    const cameraChannels = this.channels.filter((c) => c.kind === 'camera');
    for (const channel of this.channels.filter((c) => c.groundTruth && c.kind === 'labels2d')) {
      const ref = this.source.nearest(channel.id, t, this.toleranceNs);
      if (!ref) continue;
      const camera = cameraChannels
        .map((c) => ({ c, score: commonPrefixLength(c.topic, channel.topic) }))
        .sort((a, b) => b.score - a.score)[0]?.c;
      jobs.push(
        this.decode(channel, ref).then((message) => {
          frame.labels2d.push(...toImageBoxes(message, camera?.sensorId ?? '', `${channel.topic}@${ref.logTime}`));
        }),
      );
    }
    await Promise.all(jobs);
    frame.cameras.sort((a, b) => a.sensorId.localeCompare(b.sensorId));
    return frame;
  }

  async close(): Promise<void> {
    this.frameCache.clear();
    await this.source.close();
  }
}

function dedupeSorted(times: BigInt64Array): BigInt64Array {
  const out: bigint[] = [];
  for (const t of times) if (out.length === 0 || out[out.length - 1] !== t) out.push(t);
  return BigInt64Array.from(out);
}

const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);

function frameBytes(frame: FrameData): number {
  let bytes = 4096 + (frame.labels3d.length + frame.labels2d.length) * 200;
  for (const c of frame.cameras) bytes += c.data.byteLength;
  if (frame.lidar) {
    bytes += frame.lidar.positions.byteLength;
    for (const f of Object.values(frame.lidar.fields)) bytes += f.byteLength;
  }
  return bytes;
}

export type { Box2D, Box3D };
