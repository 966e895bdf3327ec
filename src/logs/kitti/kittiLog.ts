// A KITTI folder (object, raw drive or tracking sequence) as a lazy DriveLog.
// Ego frame = the velodyne frame; cameras live in the rectified cam-0 frame with their own P.
// open() lists folders and reads only small text files plus the first frame's calib and PNG headers;
// readFrame() reads only that frame's files.
import type { DriveLog, FrameInclude, OpenOptions } from '../driveLog.js';
import { LogError } from '../errors.js';
import type { CameraImage, FrameData, FrameStub, LogInfo, Polyline, Pose, SensorInfo, StreamInfo, Vec3 } from '../model.js';
import { frameKey } from '../model.js';
import { applyPose, composePoses, IDENTITY_POSE, invertPose } from '../transforms.js';
import { cameraIntrinsics, egoFromCamera, mat4From3x4, mat4InvertAffine, poseFromMat4, type KittiCalib, type Mat4 } from './calib.js';
import { detectKittiLayout } from './layout.js';
import { labelsToBoxes } from './labels.js';
import { mercatorScale, oxtsPose } from './oxts.js';
import { pngSize, readPngSize, readVelodyneScan, readWholeFile } from './points.js';
import { createSource, estimateSize, type KittiSource, type SensorFiles } from './sources.js';

const SYNTHETIC_PERIOD_NS = 100_000_000n;
const PATH_HALF_WINDOW_NS = 5_000_000_000n;
/** Camera/lidar skew above this is worth a LogInfo warning (half a 10 Hz frame). */
const SKEW_WARNING_S = 0.05;
/** Every KITTI camera image lives in the rectified cam-0 frame; P carries each camera's offset. */
const CAMERA_FRAME = 'cam0_rect';
const LIDAR_ID = 'velodyne';

export async function openKittiLog(dir: string, options: OpenOptions): Promise<DriveLog> {
  const layout = await detectKittiLayout(dir);
  if (!layout) {
    throw new LogError(
      `${dir} is not a KITTI folder: expected an object layout (image_2/, velodyne/, calib/, label_2/), a raw drive (image_02/data/, velodyne_points/data/) or a tracking layout (image_02/<seq>/, velodyne/<seq>/)`,
      { path: dir },
    );
  }
  return KittiDrive.create(dir, await createSource(layout), options);
}

/** 'image_2' and 'image_02' name the same camera across layouts. */
const sameSensor = (a: string, b: string): boolean => a === b || a.replace(/^image_0?(\d)$/, 'image_$1') === b.replace(/^image_0?(\d)$/, 'image_$1');

class KittiDrive implements DriveLog {
  private closed = false;
  /** Ego <- camera per calibration object (the object layout has one per sample). */
  private readonly egoFromCamCache = new WeakMap<KittiCalib, Mat4>();

  private constructor(
    readonly info: LogInfo,
    readonly frames: readonly FrameStub[],
    private readonly samples: readonly string[],
    private readonly stamps: readonly bigint[],
    private readonly source: KittiSource,
  ) {}

  static async create(dir: string, source: KittiSource, options: OpenOptions): Promise<KittiDrive> {
    const warnings = [...source.warnings];
    const sensors: SensorFiles[] = [...(source.lidar ? [source.lidar] : []), ...source.cameras];
    const available = sensors.filter((s) => s.files.size > 0);
    if (source.lidar && source.lidar.files.size === 0) warnings.push(`${source.lidar.topic}/ has no .bin scans`);
    if (!source.lidar) warnings.push('No velodyne/ folder: camera-only log, no point clouds');

    const reference = KittiDrive.pickReference(dir, source, available, options.referenceSensor);
    const samples = [...reference.files.keys()];

    // Frame times: the reference sensor's own stamps where the layout records them, else synthetic.
    let stamps: bigint[];
    if (reference.stamps) {
      stamps = samples.map((s) => reference.stamps!.get(s)!);
    } else if (source.snapshots) {
      stamps = samples.map((_, i) => BigInt(i) * SYNTHETIC_PERIOD_NS);
      warnings.push('KITTI object samples are unrelated snapshots, not a drive: frame times are synthetic (index × 100 ms)');
    } else {
      stamps = samples.map((s, i) => BigInt(Number.isInteger(Number(s)) ? Number(s) : i) * SYNTHETIC_PERIOD_NS);
      if (source.kind === 'raw') warnings.push(`No usable ${reference.id} timestamps: frame times are synthetic (10 Hz)`);
    }
    const order = samples.map((_, i) => i);
    if (stamps.some((t, i) => i > 0 && t < stamps[i - 1]!)) {
      order.sort((a, b) => (stamps[a]! < stamps[b]! ? -1 : stamps[a]! > stamps[b]! ? 1 : a - b));
      warnings.push(`${reference.id} timestamps are not monotonic in file order; frames are sorted by time`);
    }
    const sortedSamples = order.map((i) => samples[i]!);
    const sortedStamps = order.map((i) => stamps[i]!);
    let nudged = 0;
    for (let i = 1; i < sortedStamps.length; i++) {
      if (sortedStamps[i]! <= sortedStamps[i - 1]!) {
        sortedStamps[i] = sortedStamps[i - 1]! + 1n; // frame ids key on the stamp: keep them unique
        nudged++;
      }
    }
    if (nudged) warnings.push(`${nudged} frames repeat an earlier timestamp; moved 1 ns apart to keep frame ids unique`);

    const startNs = sortedStamps[0]!;
    const endNs = sortedStamps[sortedStamps.length - 1]!;
    const frames: FrameStub[] = sortedStamps.map((t, index) => ({
      index,
      id: frameKey(options.logId, t.toString()),
      stampNs: t.toString(),
      timeS: Number(t - startNs) / 1e9,
    }));
    const durationS = Number(endNs - startNs) / 1e9;
    const rate = (count: number) => (!source.snapshots && durationS > 0 && count > 1 ? (count - 1) / durationS : 0);

    for (const camera of source.cameras) {
      if (!camera.stamps || !source.lidar?.stamps) continue;
      let worst = 0;
      for (const [sample, lidarNs] of source.lidar.stamps) {
        const camNs = camera.stamps.get(sample);
        if (camNs !== undefined) worst = Math.max(worst, Math.abs(Number(camNs - lidarNs)) / 1e9);
      }
      if (worst > SKEW_WARNING_S) warnings.push(`${camera.id} is up to ${(worst * 1000).toFixed(1)} ms away from the velodyne scan of the same frame`);
    }

    const labelCounts = source.labels ? await source.labels.count() : undefined;
    const streams: StreamInfo[] = sensors.map((s) => ({
      topic: s.topic,
      kind: s.kind,
      schema: s.kind === 'lidar' ? 'kitti.velodyne_bin' : 'kitti.png',
      messageCount: s.files.size,
      rateHz: rate(s.files.size),
      sensorId: s.id,
    }));
    if (source.calibTopic) streams.push({ topic: source.calibTopic, kind: 'camera-calibration', schema: 'kitti.calib', messageCount: source.calibCount, rateHz: 0 });
    if (source.labels && labelCounts) {
      streams.push({ topic: source.labels.topic, kind: 'labels3d', schema: source.labels.tracking ? 'kitti.label_02' : 'kitti.label_2', messageCount: labelCounts.frames, rateHz: rate(labelCounts.frames) });
    }
    if (source.oxts) {
      const count = await source.oxts.count();
      streams.push({ topic: source.oxts.topic, kind: 'pose', schema: 'kitti.oxts', messageCount: count, rateHz: rate(count) });
    }

    const info: LogInfo = {
      id: options.logId,
      path: dir,
      name: source.name,
      format: 'kitti',
      fingerprint: options.fingerprint,
      sizeBytes: await estimateSize(sensors.map((s) => s.files)),
      startNs: startNs.toString(),
      endNs: endNs.toString(),
      durationS,
      frameCount: frames.length,
      referenceSensor: reference.id,
      streams,
      sensors: [],
      labelCount: labelCounts?.boxes ?? 0,
      warnings,
    };
    const drive = new KittiDrive(info, frames, sortedSamples, sortedStamps, source);
    info.sensors = await drive.describeSensors(sortedSamples[0]!);
    return drive;
  }

  private static pickReference(dir: string, source: KittiSource, available: SensorFiles[], wanted: string | undefined): SensorFiles {
    if (available.length === 0) {
      throw new LogError(`${dir}: no readable KITTI frames (no .bin scans under velodyne and no .png images under image_N)`, { path: dir });
    }
    if (wanted) {
      const match = available.find((s) => sameSensor(s.id, wanted));
      if (!match) {
        throw new LogError(`${dir} has no sensor '${wanted}'; its sensors are: ${available.map((s) => s.id).join(', ')}`, { path: dir });
      }
      return match;
    }
    // Cameras without calibration are left out of frames, so they make a poor reference.
    return available.find((s) => s.id === LIDAR_ID) ?? available.find((s) => s.id === source.labelCameraId) ?? available[0]!;
  }

  /** Sensor list from the first frame's calibration and the first PNG header of each camera. */
  private async describeSensors(firstSample: string): Promise<SensorInfo[]> {
    const sensors: SensorInfo[] = [];
    if (this.source.lidar) sensors.push({ id: LIDAR_ID, kind: 'lidar', frameId: LIDAR_ID, extrinsic: IDENTITY_POSE });
    let calib: KittiCalib | undefined;
    try {
      calib = await this.source.calib(firstSample);
    } catch (error) {
      this.info.warnings.push(`First frame's calibration is unreadable: ${(error as Error).message}`);
    }
    for (const camera of this.source.cameras) {
      const sensor: SensorInfo = { id: camera.id, kind: 'camera', frameId: CAMERA_FRAME };
      const file = camera.files.get(firstSample) ?? camera.files.values().next().value;
      try {
        if (calib && file) {
          const { width, height } = await readPngSize(file);
          sensor.intrinsics = cameraIntrinsics(calib, camera.cameraIndex!, width, height);
          sensor.extrinsic = poseFromMat4(this.egoFromCam(calib));
        }
      } catch (error) {
        this.info.warnings.push(`${camera.id}: ${(error as Error).message}`);
      }
      sensors.push(sensor);
    }
    return sensors;
  }

  private egoFromCam(calib: KittiCalib): Mat4 {
    let m = this.egoFromCamCache.get(calib);
    if (!m) {
      m = egoFromCamera(calib);
      this.egoFromCamCache.set(calib, m);
    }
    return m;
  }

  async readFrame(index: number, include?: Partial<FrameInclude>): Promise<FrameData> {
    if (this.closed) throw new LogError(`${this.info.path}: log is closed`, { path: this.info.path });
    const stub = this.frames[index];
    if (!stub) throw new LogError(`${this.info.path}: frame ${index} is out of range (0..${this.frames.length - 1})`, { path: this.info.path });
    const sample = this.samples[index]!;
    const stampNs = this.stamps[index]!;
    const warnings: string[] = [];
    const frame: FrameData = {
      logId: this.info.id,
      index,
      id: stub.id,
      stampNs: stub.stampNs,
      timeS: stub.timeS,
      cameras: [],
      labels3d: [],
      labels2d: [],
      paths: [],
      warnings,
    };

    // A malformed calibration fails this frame (LogError naming file and line); other frames are unaffected.
    const calib = await this.source.calib(sample);
    let egoFromCam: Mat4 | undefined;
    if (calib) {
      try {
        egoFromCam = this.egoFromCam(calib);
      } catch (error) {
        warnings.push(`${(error as Error).message}: camera images and 3D labels left out`);
      }
    } else if (this.source.calibTopic) {
      warnings.push(`no calibration file for sample ${sample}: camera images and 3D labels left out`);
    }

    const lidar = this.source.lidar;
    if (include?.lidar !== false && lidar) {
      const file = lidar.files.get(sample);
      if (file) {
        const scan = await readVelodyneScan(file, LIDAR_ID, (lidar.stamps?.get(sample) ?? stampNs).toString());
        frame.lidar = scan.cloud;
        warnings.push(...scan.warnings);
      } else {
        warnings.push(`no velodyne scan for sample ${sample}`);
      }
    }

    if (include?.cameras !== false) {
      for (const camera of this.source.cameras) {
        const image = await this.readCamera(camera, sample, stampNs, calib, egoFromCam, warnings);
        if (image) frame.cameras.push(image);
      }
    }

    if (this.source.labels) {
      const { labels, warnings: labelWarnings } = await this.source.labels.forSample(sample);
      warnings.push(...labelWarnings);
      const boxes = labelsToBoxes(labels, sample, this.source.labelCameraId, egoFromCam);
      frame.labels3d = boxes.labels3d;
      frame.labels2d = boxes.labels2d;
      if (!egoFromCam && labels.some((l) => l.type !== 'DontCare')) warnings.push('no calibration for this frame: 3D labels left out');
    }

    if (this.source.oxts) await this.addEgoMotion(frame, index, calib, warnings);
    return frame;
  }

  private async readCamera(
    camera: SensorFiles,
    sample: string,
    frameNs: bigint,
    calib: KittiCalib | undefined,
    egoFromCam: Mat4 | undefined,
    warnings: string[],
  ): Promise<CameraImage | undefined> {
    const file = camera.files.get(sample);
    if (!file) {
      warnings.push(`no ${camera.id} image for sample ${sample}`);
      return undefined;
    }
    if (!calib || !egoFromCam) return undefined; // said once in LogInfo / above
    const data = await readWholeFile(file);
    let size: { width: number; height: number };
    try {
      size = pngSize(data, file);
    } catch (error) {
      warnings.push((error as Error).message);
      return undefined;
    }
    const intrinsics = cameraIntrinsics(calib, camera.cameraIndex!, size.width, size.height);
    if (!intrinsics) {
      warnings.push(`${calib.sources.join(', ')} has no P${camera.cameraIndex} for ${camera.id}; image left out`);
      return undefined;
    }
    const camNs = camera.stamps?.get(sample) ?? frameNs;
    return {
      sensorId: camera.id,
      frameId: CAMERA_FRAME,
      stampNs: camNs.toString(),
      skewS: Number(camNs - frameNs) / 1e9,
      format: 'png',
      data,
      intrinsics,
      extrinsic: poseFromMat4(egoFromCam),
    };
  }

  /** egoPose (world <- velodyne) and the driven path from −5 s to +5 s, in this frame's ego frame. */
  private async addEgoMotion(frame: FrameData, index: number, calib: KittiCalib | undefined, warnings: string[]): Promise<void> {
    const oxts = this.source.oxts!;
    let scale: number;
    let origin: Vec3;
    try {
      const first = await oxts.first();
      if (!first) return;
      scale = mercatorScale(first.lat);
      origin = oxtsPose(first, scale).translation;
    } catch (error) {
      warnings.push(`no ego pose: ${(error as Error).message}`);
      return;
    }
    const imuFromVelo: Pose = calib?.imuToVelo ? poseFromMat4(mat4InvertAffine(mat4From3x4(calib.imuToVelo))) : IDENTITY_POSE;
    const egoPoseAt = async (i: number): Promise<Pose | undefined> => {
      const record = await oxts.record(this.samples[i]!);
      if (!record) return undefined;
      const worldFromImu = oxtsPose(record, scale);
      const t = worldFromImu.translation;
      return composePoses({ translation: [t[0] - origin[0], t[1] - origin[1], t[2] - origin[2]], rotation: worldFromImu.rotation }, imuFromVelo);
    };
    let pose: Pose | undefined;
    try {
      pose = await egoPoseAt(index);
    } catch (error) {
      warnings.push(`no ego pose: ${(error as Error).message}`);
    }
    if (!pose) {
      if (!warnings.some((w) => w.startsWith('no ego pose'))) warnings.push(`no OXTS record for sample ${this.samples[index]}: no ego pose`);
      return;
    }
    frame.egoPose = pose;

    const egoFromWorld = invertPose(pose);
    const t0 = this.stamps[index]!;
    let lo = index;
    while (lo > 0 && t0 - this.stamps[lo - 1]! <= PATH_HALF_WINDOW_NS) lo--;
    let hi = index;
    while (hi < this.stamps.length - 1 && this.stamps[hi + 1]! - t0 <= PATH_HALF_WINDOW_NS) hi++;
    const points: Vec3[] = [];
    let unreadable = 0;
    for (let i = lo; i <= hi; i++) {
      const other = i === index ? pose : await egoPoseAt(i).catch(() => undefined);
      if (other) points.push(applyPose(egoFromWorld, other.translation));
      else unreadable++;
    }
    if (unreadable) warnings.push(`driven path: ${unreadable} of ${hi - lo + 1} OXTS records around this frame are missing or unreadable`);
    const path: Polyline = { id: `ego-driven:${frame.stampNs}`, source: 'ego-driven', stampNs: frame.stampNs, points };
    frame.paths.push(path);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.source.clear();
  }
}
