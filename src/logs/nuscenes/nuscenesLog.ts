// A nuScenes-style folder as a DriveLog. Open parses the index (tables or info.json); readFrame
// reads only that frame's files.
//
// Frames: one per sample (keyframe), synchronised on the reference channel (LIDAR_TOP unless
// options.referenceSensor names another camera or lidar). The frame's ego pose is the reference
// capture's ego pose. Every other capture of the sample has its own ego pose (cameras fire up to
// ~50 ms apart); its extrinsic is expressed in the frame's ego frame, compensating the ego motion in
// between (ego_ref <- world <- ego_capture <- sensor), as the devkit does when it projects lidar into
// a camera. The info layout records one ego pose per sample but gives the compensated camera pose
// through lidar2cam (see infoJson.ts).
import { readFile, stat } from 'node:fs/promises';
import type { DriveLog, FrameInclude, OpenOptions } from '../driveLog.js';
import { LogError } from '../errors.js';
import type { CameraImage, CameraIntrinsics, FrameData, FrameStub, LogInfo, PointCloud, Polyline, Pose, SensorInfo, StreamInfo } from '../model.js';
import { frameKey } from '../model.js';
import { applyPose, composePoses, invertPose } from '../transforms.js';
import { loadInfoIndex } from './infoJson.js';
import { jpegSize, readJpegSize } from './jpeg.js';
import { detectNuscenesLayout } from './layout.js';
import { projectionFromK, type ChannelInfo, type IndexedFrame, type NuscenesIndex, type SensorSample } from './nuscenesIndex.js';
import { decodePointFile, NUSCENES_FLOATS_PER_POINT } from './points.js';
import { loadTablesIndex } from './tables.js';

/** Ego path drawn around each frame: ±5 s of recorded poses. */
const PATH_WINDOW_NS = 5_000_000_000n;

export async function openNuscenesLog(dir: string, options: OpenOptions): Promise<DriveLog> {
  const layout = await detectNuscenesLayout(dir);
  if (!layout) throw await notNuscenes(dir);
  const index = layout.kind === 'tables' ? await loadTablesIndex(layout, options.referenceSensor) : await loadInfoIndex(layout, options.referenceSensor);
  await fillImageSizes(index);
  return new NuscenesLog(dir, options, index);
}

class NuscenesLog implements DriveLog {
  readonly info: LogInfo;
  readonly frames: FrameStub[];
  private closed = false;
  private readonly channelRank: Map<string, number>;

  constructor(
    private readonly dir: string,
    private readonly options: OpenOptions,
    private readonly index: NuscenesIndex,
  ) {
    this.channelRank = new Map(index.channels.map((c, i) => [c.channel, i]));
    const stamps = index.frames.map((f) => this.referenceOf(f)?.timeNs ?? f.timeNs);
    const start = stamps.reduce((m, s) => (s < m ? s : m), stamps[0] ?? 0n);
    const end = stamps.reduce((m, s) => (s > m ? s : m), stamps[0] ?? 0n);
    this.frames = stamps.map((stamp, i) => ({
      index: i,
      id: frameKey(options.logId, stamp.toString()),
      stampNs: stamp.toString(),
      timeS: Number(stamp - start) / 1e9,
    }));
    const durationS = Number(end - start) / 1e9;
    this.info = {
      id: options.logId,
      path: dir,
      name: index.name,
      format: 'nuscenes',
      fingerprint: options.fingerprint,
      sizeBytes: index.sizeBytes,
      startNs: start.toString(),
      endNs: end.toString(),
      durationS,
      frameCount: this.frames.length,
      referenceSensor: index.reference,
      streams: [...index.channels.map(streamOf), ...index.extraStreams],
      sensors: index.channels.filter((c) => c.modality === 'camera' || c.modality === 'lidar').map(sensorOf),
      labelCount: index.labelCount,
      warnings: [...index.warnings],
    };
  }

  async readFrame(frameIndex: number, include: Partial<FrameInclude> = {}): Promise<FrameData> {
    if (this.closed) throw new LogError(`${this.dir}: the log is closed`, { path: this.dir });
    const frame = this.index.frames[frameIndex];
    const stub = this.frames[frameIndex];
    if (!frame || !stub || !Number.isInteger(frameIndex)) {
      throw new LogError(`${this.dir}: frame ${frameIndex} is out of range (0..${this.frames.length - 1})`, { path: this.dir });
    }
    const warnings: string[] = [];
    const reference = this.referenceOf(frame);
    if (!reference) warnings.push(`sample ${frame.token} has no ${this.index.reference} capture: the frame uses the sample time`);
    const stampNs = BigInt(stub.stampNs);
    const egoPose = reference?.egoPose ?? frame.egoPose ?? nearestEgoPose(frame, stampNs);
    if (!egoPose) warnings.push('no ego pose for this frame');
    const egoFromWorld = egoPose ? invertPose(egoPose) : undefined;
    const extrinsicOf = (s: SensorSample): Pose =>
      s.frameExtrinsic ?? (s.egoPose && egoFromWorld ? composePoses(composePoses(egoFromWorld, s.egoPose), s.calibration) : s.calibration);

    const cameraSamples = include.cameras === false ? [] : frame.samples.filter((s) => s.modality === 'camera').sort((a, b) => this.rank(a) - this.rank(b));
    const lidarSample = include.lidar === false ? undefined : this.lidarOf(frame);
    const [cameras, lidar] = await Promise.all([
      Promise.all(cameraSamples.map((s) => this.readCamera(s, stampNs, extrinsicOf(s), warnings))),
      lidarSample ? this.readLidar(lidarSample, extrinsicOf(lidarSample), warnings) : undefined,
    ]);

    const paths: Polyline[] = [];
    if (egoFromWorld) {
      const track = this.index.trajectory(frameIndex, stampNs - PATH_WINDOW_NS, stampNs + PATH_WINDOW_NS);
      if (track.length >= 2) {
        paths.push({
          id: `ego-driven:${stub.stampNs}`,
          source: 'ego-driven',
          stampNs: stub.stampNs,
          points: track.map((p) => applyPose(egoFromWorld, p.pose.translation)),
        });
      }
    }
    return {
      logId: this.options.logId,
      index: frameIndex,
      id: stub.id,
      stampNs: stub.stampNs,
      timeS: stub.timeS,
      egoPose,
      cameras: cameras.filter((c): c is CameraImage => !!c),
      lidar,
      labels3d: this.index.labels3d(frameIndex, egoPose, warnings),
      labels2d: this.index.labels2d(frameIndex),
      paths,
      warnings,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private referenceOf(frame: IndexedFrame): SensorSample | undefined {
    return frame.samples.find((s) => s.channel === this.index.reference);
  }

  private rank(s: SensorSample): number {
    return this.channelRank.get(s.channel) ?? Number.MAX_SAFE_INTEGER;
  }

  /** FrameData holds one point cloud: LIDAR_TOP, else the first lidar. */
  private lidarOf(frame: IndexedFrame): SensorSample | undefined {
    const lidars = frame.samples.filter((s) => s.modality === 'lidar');
    return lidars.find((s) => s.channel === 'LIDAR_TOP') ?? lidars.sort((a, b) => this.rank(a) - this.rank(b))[0];
  }

  private async readCamera(s: SensorSample, referenceNs: bigint, extrinsic: Pose, warnings: string[]): Promise<CameraImage | undefined> {
    const data = await readDataFile(s, warnings);
    if (!data) return undefined;
    if (!s.K) {
      warnings.push(`${s.channel}: no camera matrix`);
      return undefined;
    }
    // The bytes are in hand, so their header is the authority; the tables' size is the fallback.
    const size = jpegSize(data);
    if (size && s.width && (size.width !== s.width || size.height !== s.height)) {
      warnings.push(`${s.channel}: ${s.file} is ${size.width}x${size.height}, the tables say ${s.width}x${s.height}`);
    }
    const width = size?.width ?? s.width;
    const height = size?.height ?? s.height;
    if (!width || !height) warnings.push(`${s.channel}: image size unknown (no JPEG SOF header in ${s.file})`);
    return {
      sensorId: s.channel,
      frameId: s.channel,
      stampNs: s.timeNs.toString(),
      skewS: Number(s.timeNs - referenceNs) / 1e9,
      format: data[0] === 0x89 && data[1] === 0x50 ? 'png' : 'jpeg',
      data,
      intrinsics: intrinsicsOf(s.K, width, height),
      extrinsic,
    };
  }

  private async readLidar(s: SensorSample, extrinsic: Pose, warnings: string[]): Promise<PointCloud | undefined> {
    const data = await readDataFile(s, warnings);
    if (!data) return undefined;
    const floatsPerPoint = s.floatsPerPoint ?? NUSCENES_FLOATS_PER_POINT;
    const points = decodePointFile(data, floatsPerPoint);
    if (points.trailingBytes > 0) {
      warnings.push(
        `${s.channel}: ${s.file} is ${data.byteLength} bytes, not a multiple of ${floatsPerPoint * 4}: read ${points.count + points.droppedNonFinite} whole points, ignored ${points.trailingBytes} trailing bytes`,
      );
    }
    if (points.droppedNonFinite > 0) warnings.push(`${s.channel}: dropped ${points.droppedNonFinite} points with NaN or infinite coordinates`);
    return {
      sensorId: s.channel,
      frameId: s.channel,
      stampNs: s.timeNs.toString(),
      count: points.count,
      positions: points.positions,
      fields: points.fields,
      extrinsic,
    };
  }
}

async function readDataFile(s: SensorSample, warnings: string[]): Promise<Uint8Array | undefined> {
  try {
    const buffer = await readFile(s.file);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    warnings.push(code === 'ENOENT' ? `${s.channel}: file missing: ${s.file}` : `${s.channel}: cannot read ${s.file}: ${(error as Error).message}`);
    return undefined;
  }
}

/** The ego pose of the capture closest in time, when the reference capture is absent. */
function nearestEgoPose(frame: IndexedFrame, stampNs: bigint): Pose | undefined {
  let best: SensorSample | undefined;
  let bestGap = 0n;
  for (const s of frame.samples) {
    if (!s.egoPose) continue;
    const gap = s.timeNs > stampNs ? s.timeNs - stampNs : stampNs - s.timeNs;
    if (!best || gap < bestGap) {
      best = s;
      bestGap = gap;
    }
  }
  return best?.egoPose;
}

function intrinsicsOf(K: number[], width: number, height: number): CameraIntrinsics {
  // nuScenes and Lyft publish undistorted images: zero plumb_bob coefficients.
  return { width, height, K: [...K], P: projectionFromK(K), distortionModel: 'plumb_bob', D: [0, 0, 0, 0, 0] };
}

function streamOf(c: ChannelInfo): StreamInfo {
  const spanS = c.lastUs > c.firstUs ? (c.lastUs - c.firstUs) / 1e6 : 0;
  return {
    topic: c.channel,
    kind: c.modality === 'camera' ? 'camera' : c.modality === 'lidar' ? 'lidar' : 'other',
    schema: `nuscenes.sample_data/${c.fileformat || 'unknown'}`,
    messageCount: c.count,
    rateHz: c.count > 1 && spanS > 0 ? (c.count - 1) / spanS : 0,
    sensorId: c.modality === 'camera' || c.modality === 'lidar' ? c.channel : undefined,
  };
}

function sensorOf(c: ChannelInfo): SensorInfo {
  return {
    id: c.channel,
    kind: c.modality === 'camera' ? 'camera' : 'lidar',
    frameId: c.channel,
    intrinsics: c.modality === 'camera' && c.K ? intrinsicsOf(c.K, c.width, c.height) : undefined,
    extrinsic: c.calibration,
  };
}

/** Cameras whose size the index does not give: read the first capture's JPEG header. */
async function fillImageSizes(index: NuscenesIndex): Promise<void> {
  for (const channel of index.channels) {
    if (channel.modality !== 'camera' || (channel.width && channel.height)) continue;
    const first = index.frames.flatMap((f) => f.samples).find((s) => s.channel === channel.channel);
    const size = first ? await readJpegSize(first.file).catch(() => undefined) : undefined;
    if (size) {
      channel.width = size.width;
      channel.height = size.height;
    }
  }
}

async function notNuscenes(dir: string): Promise<LogError> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) return new LogError(`${dir}: no such file or folder`, { path: dir });
  const hasData = await Promise.all(['samples', 'sweeps'].map((d) => stat(`${dir}/${d}`).then((s) => s.isDirectory(), () => false)));
  const found = hasData.some(Boolean) ? ' It has samples/ or sweeps/ data folders but no tables.' : '';
  return new LogError(
    `${dir} is not a nuScenes folder: expected a v1.0-*/ table folder (scene.json, sample.json, sample_data.json, ...) or an mmdet3d *.info.json.${found}`,
    { path: dir },
  );
}
