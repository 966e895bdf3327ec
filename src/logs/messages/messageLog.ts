// A message container (MCAP, ROS bag) as a drive: classify channels through the schema adapters,
// build the frame table from the reference sensor's time index, and assemble each frame from the
// nearest messages. Nothing is read whole: only the index at open, only frame N's messages after.
import { basename } from 'node:path';
import type { DriveLog, FrameInclude, OpenOptions } from '../driveLog.js';
import { LogError } from '../errors.js';
import type {
  Box3D,
  CameraImage,
  CameraIntrinsics,
  FrameData,
  FrameStub,
  LogFormat,
  LogInfo,
  Polyline,
  Pose,
  SensorInfo,
  StreamInfo,
  StreamKind,
  Vec3,
} from '../model.js';
import { frameKey } from '../model.js';
import { applyPose, invertPose, IDENTITY_POSE, TransformTree } from '../transforms.js';
import { ByteLru } from '../../util/lru.js';
import { adapterFor, type DecodedImage, type SchemaAdapter } from './adapters.js';
import { createDecoder, type MessageDecoder, type PlainMessage } from './decoders.js';
import { boxToEgo } from './foxglove.js';
import { decodePointsOffThread } from './pointDecoding.js';
import { rawImageToPng } from './rawImage.js';
import { lowerBound, nearest, type MessageRef, type MessageSource, type SourceChannel } from './source.js';
import { Trajectory } from './trajectory.js';

const EGO_FRAME_CANDIDATES = ['base_link', 'base_footprint', 'ego_vehicle', 'ego', 'vehicle'];
const WORLD_FRAME_CANDIDATES = ['world', 'map', 'odom'];
const GROUND_TRUTH_TOPIC = /ground[_-]?truth|(^|\/)gt(\/|_|$)|label|annotation/i;
const PREDICTION_TOPIC = /pred|detect|yolo|infer|model|output|track/i;
/** Transform channels this small are read whole at open (static or near-static trees). */
const SMALL_TRANSFORM_CHANNEL = 64;
const TF_WINDOW_NS = 250_000_000n;
/** Planned paths are published slowly: attach the latest one within this window. */
const PATH_TOLERANCE_NS = 2_000_000_000n;
const DRIVEN_PATH_WINDOW_S = 5;
/** Point messages above this size are decoded on a worker thread. */
const OFF_THREAD_POINT_BYTES = 256 * 1024;

interface Channel {
  source: SourceChannel;
  id: number;
  topic: string;
  schemaName: string;
  kind: StreamKind;
  adapter?: SchemaAdapter;
  decoder?: MessageDecoder;
  sensorId?: string;
  /** Label channels that hold ground truth (not predictions recorded in the log). */
  groundTruth: boolean;
}

/** '/camera/front/image' -> 'camera/front'; '/lidar/points' -> 'lidar'. */
export function sensorIdFromTopic(topic: string): string {
  const parts = topic.split('/').filter(Boolean);
  const generic =
    /^(image|image_raw|image_rect|image_rect_color|image_color|compressed|points|pointcloud|point_cloud|cloud|calibration|camera_info|data)$/i;
  while (parts.length > 1 && generic.test(parts[parts.length - 1]!)) parts.pop();
  return parts.join('/') || topic;
}

function commonPrefixLength(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

export interface MessageLogOptions extends OpenOptions {
  format: LogFormat;
}

/** Takes ownership of `source`: it is closed with the drive, or on failure. */
export async function openMessageLog(source: MessageSource, options: MessageLogOptions): Promise<DriveLog> {
  try {
    return await MessageDrive.create(source, options);
  } catch (error) {
    await source.close();
    throw error;
  }
}

class MessageDrive implements DriveLog {
  private readonly tree = new TransformTree();
  private readonly loadedTransforms = new Set<string>();
  private readonly frameCache = new ByteLru<string, FrameData>(192 << 20, frameBytes);
  private readonly calibrationCache = new Map<string, { intrinsics: CameraIntrinsics; frameId: string }>();
  private readonly lidarFrames = new Map<number, string>();
  private egoFrame = '';
  private worldFrame = '';
  private trajectory: Promise<Trajectory | undefined> | undefined;
  private loadedTrajectory: Trajectory | undefined;
  private closed = false;
  private trajectoryWork: Promise<void> | undefined;
  private wantTrajectory = true;

  private constructor(
    readonly info: LogInfo,
    readonly frames: readonly FrameStub[],
    private readonly source: MessageSource,
    private readonly channels: Channel[],
    private readonly reference: Channel | undefined,
    private readonly refTimes: BigInt64Array,
    private readonly toleranceNs: bigint,
  ) {}

  static async create(source: MessageSource, options: MessageLogOptions): Promise<MessageDrive> {
    const path = source.path;
    const warnings: string[] = [...source.warnings];
    const channels: Channel[] = [];
    const unknownSchemas: string[] = [];
    for (const ch of source.channels) {
      const adapter = adapterFor(ch.schemaName);
      let kind: StreamKind = adapter?.kind ?? 'other';
      let decoder: MessageDecoder | undefined;
      if (adapter) {
        try {
          decoder = createDecoder(ch, path);
        } catch (error) {
          warnings.push(`${ch.topic}: ${(error as Error).message}; skipped`);
        }
        if (!decoder) {
          if (!warnings.some((w) => w.startsWith(`${ch.topic}:`))) {
            warnings.push(`${ch.topic}: ${ch.schemaName} in '${ch.messageEncoding}' encoding is not supported; skipped`);
          }
          kind = 'other';
        }
      } else {
        unknownSchemas.push(`${ch.topic} (${ch.schemaName || 'no schema'})`);
      }
      const isLabels = kind === 'labels2d' || kind === 'labels3d';
      channels.push({
        source: ch,
        id: ch.id,
        topic: ch.topic,
        schemaName: ch.schemaName,
        kind,
        adapter: kind === 'other' ? undefined : adapter,
        decoder,
        groundTruth: isLabels && (GROUND_TRUTH_TOPIC.test(ch.topic) || !PREDICTION_TOPIC.test(ch.topic)),
        sensorId: kind === 'camera' || kind === 'lidar' || kind === 'camera-calibration' ? sensorIdFromTopic(ch.topic) : undefined,
      });
    }
    if (unknownSchemas.length) warnings.push(`Streams with unknown schemas skipped: ${unknownSchemas.join(', ')}`);

    const counts = (id: number) => source.times(id).length;
    const lidars = channels.filter((c) => c.kind === 'lidar' && counts(c.id) > 0);
    const cameras = channels.filter((c) => c.kind === 'camera' && counts(c.id) > 0);
    const sensorsAvailable = [...lidars, ...cameras].map((c) => c.sensorId!);
    let reference: Channel | undefined = lidars[0] ?? cameras[0];
    if (options.referenceSensor) {
      reference = [...lidars, ...cameras].find((c) => c.sensorId === options.referenceSensor || c.topic === options.referenceSensor);
      if (!reference) {
        throw new LogError(`${path} has no sensor '${options.referenceSensor}' (sensors: ${sensorsAvailable.join(', ') || 'none'})`, { path });
      }
    }
    if (!reference) {
      // Still a log (tf, poses, labels only): list its streams with no frames rather than refuse it.
      warnings.push(
        `No camera or lidar stream Sightline can read, so there are no frames (channels: ${channels.map((c) => `${c.topic} [${c.schemaName || 'no schema'}]`).join(', ') || 'none'})`,
      );
    }
    const refTimes = reference ? dedupeSorted(source.times(reference.id)) : new BigInt64Array();
    const allTimes = channels.map((c) => source.times(c.id)).filter((t) => t.length > 0);
    const startNs = refTimes[0] ?? allTimes.reduce((m, t) => (t[0]! < m ? t[0]! : m), allTimes[0]?.[0] ?? 0n);
    const endNs = refTimes[refTimes.length - 1] ?? allTimes.reduce((m, t) => (t[t.length - 1]! > m ? t[t.length - 1]! : m), startNs);
    const frames: FrameStub[] = Array.from(refTimes, (t, index) => ({
      index,
      id: frameKey(options.logId, t.toString()),
      stampNs: t.toString(),
      timeS: Number(t - startNs) / 1e9,
    }));
    const periodNs = refTimes.length > 1 ? (endNs - startNs) / BigInt(refTimes.length - 1) : 100_000_000n;
    const toleranceNs = maxBig(periodNs / 2n, 20_000_000n);

    const durationS = Number(endNs - startNs) / 1e9;
    const streams: StreamInfo[] = channels.map((c) => {
      const times = source.times(c.id);
      const span = times.length > 1 ? Number(times[times.length - 1]! - times[0]!) / 1e9 : 0;
      return {
        topic: c.topic,
        kind: c.kind,
        schema: c.schemaName,
        messageCount: times.length,
        rateHz: span > 0 ? (times.length - 1) / span : 0,
        sensorId: c.sensorId,
      };
    });
    const info: LogInfo = {
      id: options.logId,
      path,
      name: basename(path),
      format: options.format,
      fingerprint: options.fingerprint,
      sizeBytes: source.sizeBytes,
      startNs: startNs.toString(),
      endNs: endNs.toString(),
      durationS,
      frameCount: frames.length,
      referenceSensor: reference?.sensorId ?? '',
      streams,
      sensors: [],
      labelCount: channels.filter((c) => c.groundTruth).reduce((n, c) => n + counts(c.id), 0),
      warnings,
    };
    const drive = new MessageDrive(info, frames, source, channels, reference, refTimes, toleranceNs);
    await drive.loadSmallTransformChannels();
    await drive.loadDynamicTransforms(startNs);
    await drive.readLidarFrames(lidars);
    drive.pickFrames(lidars);
    info.sensors = await drive.describeSensors(lidars, cameras, startNs);
    if (!drive.channels.some((c) => c.kind === 'transform' || c.kind === 'pose')) {
      info.warnings.push('No transforms or ego poses: sensors are placed at the ego origin and there is no ego trajectory');
    }
    drive.wantTrajectory = options.egoTrajectory ?? true;
    return drive;
  }

  private async decode(channel: Channel, ref: MessageRef): Promise<PlainMessage> {
    const data = await this.source.readMessage(ref);
    try {
      return channel.decoder!(data);
    } catch (error) {
      throw new LogError(`${this.info.path}: cannot decode ${channel.topic} message at ${ref.logTime} ns (${(error as Error).message})`, {
        path: this.info.path,
      });
    }
  }

  private addTransforms(channel: Channel, message: PlainMessage, logTime: bigint, isStatic: boolean): void {
    for (const t of channel.adapter!.transforms!(message)) {
      if (!t.parent || !t.child) continue;
      this.tree.add(t.parent, t.child, t.timeNs ?? logTime, t.pose, isStatic);
    }
  }

  private transformChannels(): Channel[] {
    return this.channels.filter((c) => c.adapter?.transforms);
  }

  private async loadSmallTransformChannels(): Promise<void> {
    for (const channel of this.transformChannels()) {
      const times = this.source.times(channel.id);
      if (times.length > SMALL_TRANSFORM_CHANNEL) continue;
      const isStatic = /static/.test(channel.topic);
      for (let i = 0; i < times.length; i++) {
        const ref = this.source.refAt(channel.id, i);
        this.loadedTransforms.add(`${channel.id}:${i}`);
        try {
          this.addTransforms(channel, await this.decode(channel, ref), ref.logTime, isStatic);
        } catch (error) {
          this.info.warnings.push((error as Error).message);
        }
      }
    }
  }

  /** Dynamic trees are large: read only the transforms around the requested time. */
  private async loadDynamicTransforms(timeNs: bigint, warnings: string[] = this.info.warnings): Promise<void> {
    for (const channel of this.transformChannels()) {
      const times = this.source.times(channel.id);
      if (times.length <= SMALL_TRANSFORM_CHANNEL) continue;
      const end = timeNs + TF_WINDOW_NS;
      for (let i = lowerBound(times, timeNs - TF_WINDOW_NS); i < times.length && times[i]! <= end; i++) {
        const key = `${channel.id}:${i}`;
        if (this.loadedTransforms.has(key)) continue;
        this.loadedTransforms.add(key);
        const ref = this.source.refAt(channel.id, i);
        try {
          this.addTransforms(channel, await this.decode(channel, ref), ref.logTime, false);
        } catch (error) {
          warnings.push((error as Error).message);
        }
      }
    }
  }

  /** A lidar's frame id lives in its messages: the first one tells. */
  private async readLidarFrames(lidars: Channel[]): Promise<void> {
    for (const lidar of lidars) {
      try {
        const first = await this.decode(lidar, this.source.refAt(lidar.id, 0));
        this.lidarFrames.set(lidar.id, lidar.adapter!.points!(first).frameId);
      } catch (error) {
        this.info.warnings.push((error as Error).message);
        this.lidarFrames.set(lidar.id, '');
      }
    }
  }

  private pickFrames(lidars: Channel[]): void {
    const known = this.tree.frames();
    this.egoFrame = EGO_FRAME_CANDIDATES.find((f) => known.includes(f)) ?? '';
    this.worldFrame = WORLD_FRAME_CANDIDATES.find((f) => known.includes(f)) ?? '';
    if (!this.egoFrame) {
      // Without a vehicle frame the lidar is the natural ego (as in KITTI's Velodyne frame).
      const lidarFrame = lidars.map((l) => this.lidarFrames.get(l.id)).find((f) => f);
      if (lidarFrame) {
        this.egoFrame = lidarFrame;
        this.info.warnings.push(`No ego frame (${EGO_FRAME_CANDIDATES[0]}) in the transform tree; the lidar frame '${lidarFrame}' is used as the ego frame`);
      } else {
        this.info.warnings.push('No ego frame (base_link) in the transform tree; sensor frames are used as the ego frame');
      }
    }
  }

  private egoFrom(frameId: string, timeNs: bigint, warnings: string[]): Pose {
    if (!this.egoFrame || !frameId) return IDENTITY_POSE;
    const pose = this.tree.lookup(this.egoFrame, frameId, timeNs);
    if (!pose) {
      const message = `No transform ${this.egoFrame} <- ${frameId} at ${timeNs} ns`;
      if (!warnings.includes(message)) warnings.push(message);
      return IDENTITY_POSE;
    }
    return pose;
  }

  private async describeSensors(lidars: Channel[], cameras: Channel[], timeNs: bigint): Promise<SensorInfo[]> {
    const sensors: SensorInfo[] = [];
    for (const lidar of lidars) {
      const frameId = this.lidarFrames.get(lidar.id) ?? '';
      sensors.push({ id: lidar.sensorId!, kind: 'lidar', frameId, extrinsic: this.egoFrame ? this.tree.lookup(this.egoFrame, frameId, timeNs) : undefined });
    }
    for (const cam of cameras) {
      const calib = await this.calibrationFor(cam, timeNs).catch((error: Error) => {
        this.info.warnings.push(error.message);
        return undefined;
      });
      sensors.push({
        id: cam.sensorId!,
        kind: 'camera',
        frameId: calib?.frameId ?? '',
        intrinsics: calib?.intrinsics,
        extrinsic: calib && this.egoFrame ? this.tree.lookup(this.egoFrame, calib.frameId, timeNs) : undefined,
      });
      if (!calib) this.info.warnings.push(`Camera ${cam.sensorId} has no calibration stream`);
    }
    return sensors;
  }

  /** Pairs a camera with its calibration: the same sensor id, else the longest shared topic prefix. */
  private calibrationChannelFor(camera: Channel): Channel | undefined {
    let best: Channel | undefined;
    let bestLength = -1;
    for (const c of this.channels) {
      if (c.kind !== 'camera-calibration') continue;
      const length = c.sensorId === camera.sensorId ? Number.MAX_SAFE_INTEGER : commonPrefixLength(c.topic, camera.topic);
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
    const ref = nearest(this.source, channel.id, timeNs, 1n << 62n);
    if (!ref) return undefined;
    const key = `${channel.id}:${ref.logTime}`;
    let cached = this.calibrationCache.get(key);
    if (!cached) {
      cached = channel.adapter!.calibration!(await this.decode(channel, ref));
      this.calibrationCache.set(key, cached);
    }
    return cached;
  }

  /**
   * Pose messages sit in the same chunks as the sweeps, so reading the whole trajectory costs a pass
   * over the file: it starts with the first frame read (not at open: inspect and imports never need
   * it), runs in the background, and driven paths attach once it is there.
   */
  private startTrajectory(): Promise<void> {
    if (!this.wantTrajectory || this.closed) return this.trajectoryWork ?? Promise.resolve();
    this.trajectoryWork ??= this.loadTrajectory().then((t) => {
      this.loadedTrajectory = t;
    });
    return this.trajectoryWork;
  }

  /** Resolves when background work (reading the ego trajectory) has finished; starts it if needed. */
  get backgroundWork(): Promise<void> {
    return this.startTrajectory();
  }

  async readFrame(index: number, include: Partial<FrameInclude> = {}): Promise<FrameData> {
    void this.startTrajectory();
    if (!Number.isInteger(index) || index < 0 || index >= this.frames.length) {
      throw new LogError(`Frame ${index} is out of range: ${this.info.name} has ${this.frames.length} frames (0–${this.frames.length - 1})`, {
        path: this.info.path,
      });
    }
    const want: FrameInclude = { cameras: include.cameras ?? true, lidar: include.lidar ?? true };
    const cacheKey = `${index}:${want.cameras ? 1 : 0}${want.lidar ? 1 : 0}`;
    let frame = this.frameCache.get(cacheKey);
    if (!frame) {
      frame = await this.assemble(index, want);
      this.frameCache.set(cacheKey, frame);
    }
    return this.withTrajectory(frame);
  }

  private withTrajectory(frame: FrameData): FrameData {
    const trajectory = this.loadedTrajectory;
    if (!trajectory) return frame;
    const t = BigInt(frame.stampNs);
    const egoPose = frame.egoPose ?? trajectory.poseAt(t);
    const path = drivenPath(trajectory, t, egoPose);
    return { ...frame, egoPose, paths: path ? [path, ...frame.paths] : frame.paths };
  }

  private egoPoseAt(t: bigint): Pose | undefined {
    if (this.worldFrame && this.egoFrame) return this.tree.lookup(this.worldFrame, this.egoFrame, t);
    return undefined;
  }

  /** The recorded ego trajectory, read once in the background (pose messages are small but spread over chunks). */
  private loadTrajectory(): Promise<Trajectory | undefined> {
    this.trajectory ??= (async () => {
      const poseChannel = this.channels.find((c) => c.adapter?.pose);
      if (poseChannel) {
        const times = this.source.times(poseChannel.id);
        const trajectory = new Trajectory();
        for (let i = 0; i < times.length && !this.closed; i++) {
          const ref = this.source.refAt(poseChannel.id, i);
          try {
            const p = poseChannel.adapter!.pose!(await this.decode(poseChannel, ref));
            trajectory.push(p.timeNs ?? ref.logTime, p.pose);
          } catch {
            // a bad pose message leaves a gap in the path, nothing more
          }
        }
        return trajectory.finish();
      }
      // Otherwise the tf tree: sample world <- ego along the reference times.
      if (!this.worldFrame || !this.egoFrame) return undefined;
      const trajectory = new Trajectory();
      for (const t of this.refTimes) {
        if (this.closed) break;
        await this.loadDynamicTransforms(t, []);
        const pose = this.egoPoseAt(t);
        if (pose) trajectory.push(t, pose);
      }
      return trajectory.finish();
    })().catch(() => undefined);
    return this.trajectory;
  }

  private async assemble(index: number, want: FrameInclude): Promise<FrameData> {
    const stub = this.frames[index]!;
    const t = this.refTimes[index]!;
    const warnings: string[] = [];
    await this.loadDynamicTransforms(t, warnings);

    const frame: FrameData = {
      logId: this.info.id,
      index,
      id: stub.id,
      stampNs: stub.stampNs,
      timeS: stub.timeS,
      egoPose: this.egoPoseAt(t),
      cameras: [],
      labels3d: [],
      labels2d: [],
      paths: [],
      warnings,
    };

    const jobs: Array<Promise<void>> = [];
    const guard = (job: Promise<void>) =>
      jobs.push(
        job.catch((error: Error) => {
          warnings.push(error.message);
        }),
      );

    if (want.lidar) {
      const lidar = this.reference?.kind === 'lidar' ? this.reference : this.channels.find((c) => c.kind === 'lidar');
      const ref = lidar && nearest(this.source, lidar.id, t, this.toleranceNs);
      if (lidar && ref) guard(this.readLidar(lidar, ref, frame));
    }
    if (want.cameras) {
      for (const camera of this.channels.filter((c) => c.kind === 'camera')) {
        const ref = nearest(this.source, camera.id, t, this.toleranceNs);
        if (ref) guard(this.readCamera(camera, ref, t, frame));
      }
    }
    for (const channel of this.channels.filter((c) => c.adapter?.boxes3d)) {
      const ref = nearest(this.source, channel.id, t, this.toleranceNs);
      if (!ref) continue;
      guard(
        this.decode(channel, ref).then((message) => {
          for (const entity of channel.adapter!.boxes3d!(message)) {
            const egoFromEntity = entity.frameId ? this.egoFrom(entity.frameId, entity.timeNs ?? ref.logTime, warnings) : IDENTITY_POSE;
            if (channel.groundTruth) for (const box of entity.boxes) frame.labels3d.push(boxToEgo(box, egoFromEntity));
            for (const line of entity.lines) {
              const egoFromLine = line.frameId ? this.egoFrom(line.frameId, entity.timeNs ?? ref.logTime, warnings) : egoFromEntity;
              frame.paths.push({ id: line.id, source: channel.topic, stampNs: ref.logTime.toString(), points: line.points.map((p) => applyPose(egoFromLine, p)) });
            }
          }
        }),
      );
    }
    const cameraChannels = this.channels.filter((c) => c.kind === 'camera');
    for (const channel of this.channels.filter((c) => c.groundTruth && c.adapter?.boxes2d)) {
      const ref = nearest(this.source, channel.id, t, this.toleranceNs);
      if (!ref) continue;
      const camera = cameraChannels
        .map((c) => ({ c, score: commonPrefixLength(c.topic, channel.topic) }))
        .sort((a, b) => b.score - a.score)[0]?.c;
      guard(
        this.decode(channel, ref).then((message) => {
          frame.labels2d.push(...channel.adapter!.boxes2d!(message, camera?.sensorId ?? '', `${channel.topic}@${ref.logTime}`));
        }),
      );
    }
    for (const channel of this.channels.filter((c) => c.adapter?.path)) {
      const ref = nearest(this.source, channel.id, t, PATH_TOLERANCE_NS);
      if (!ref) continue;
      guard(
        this.decode(channel, ref).then((message) => {
          const path = channel.adapter!.path!(message);
          const egoFromPath = this.egoFrom(path.frameId, t, warnings);
          frame.paths.push({
            id: `${channel.topic}@${ref.logTime}`,
            source: channel.topic,
            stampNs: (path.timeNs ?? ref.logTime).toString(),
            points: path.points.map((p) => applyPose(egoFromPath, p)),
          });
        }),
      );
    }
    await Promise.all(jobs);
    frame.cameras.sort((a, b) => a.sensorId.localeCompare(b.sensorId));
    return frame;
  }

  private async readLidar(lidar: Channel, ref: MessageRef, frame: FrameData): Promise<void> {
    const data = await this.source.readMessage(ref);
    const cloud =
      data.byteLength >= OFF_THREAD_POINT_BYTES
        ? await decodePointsOffThread(lidar.source, data, this.info.path)
        : lidar.adapter!.points!(lidar.decoder!(data));
    frame.warnings.push(...cloud.warnings.map((w) => `${lidar.topic}: ${w}`));
    frame.lidar = {
      sensorId: lidar.sensorId!,
      frameId: cloud.frameId,
      stampNs: ref.logTime.toString(),
      count: cloud.count,
      positions: cloud.positions,
      fields: cloud.fields,
      extrinsic: this.egoFrom(cloud.frameId, ref.logTime, frame.warnings),
    };
  }

  private async readCamera(camera: Channel, ref: MessageRef, t: bigint, frame: FrameData): Promise<void> {
    const decoded: DecodedImage = camera.adapter!.image!(await this.decode(camera, ref));
    const calib = await this.calibrationFor(camera, ref.logTime);
    const frameId = decoded.frameId || calib?.frameId || '';
    let format: CameraImage['format'];
    let data: Uint8Array;
    if ('raw' in decoded) {
      const png = await rawImageToPng(decoded.raw);
      format = 'png';
      data = png;
    } else {
      format = decoded.format;
      data = decoded.data;
    }
    const intrinsics = calib?.intrinsics ?? { width: 'raw' in decoded ? decoded.raw.width : 0, height: 'raw' in decoded ? decoded.raw.height : 0, K: [], P: [], distortionModel: '', D: [] };
    frame.cameras.push({
      sensorId: camera.sensorId!,
      frameId,
      stampNs: ref.logTime.toString(),
      skewS: Number(ref.logTime - t) / 1e9,
      format,
      data,
      intrinsics,
      extrinsic: this.egoFrom(frameId, ref.logTime, frame.warnings),
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.trajectoryWork;
    this.frameCache.clear();
    await this.source.close();
  }
}

/** The driven path around `t`, in the ego frame at `t`. */
function drivenPath(trajectory: Trajectory, t: bigint, egoPose: Pose | undefined): Polyline | undefined {
  const pose = egoPose ?? trajectory.poseAt(t);
  if (!pose) return undefined;
  const egoFromWorld = invertPose(pose);
  const window = BigInt(DRIVEN_PATH_WINDOW_S * 1e9);
  const points: Vec3[] = trajectory.positionsBetween(t - window, t + window).map((p) => applyPose(egoFromWorld, p));
  if (points.length < 2) return undefined;
  return { id: 'ego-driven', source: 'ego-driven', stampNs: t.toString(), points };
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

export type { Box3D };
