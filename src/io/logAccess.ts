// The drive log an import or export works against: its frames, registered in the store under the
// same content-derived id the app uses, plus what each format needs to name and place things:
// KITTI sample names and per-sample calibration, nuScenes sample tokens and camera files, and image
// names and sizes for COCO.
import { basename } from 'node:path';
import type { DriveLog } from '../logs/driveLog.js';
import { LogError } from '../logs/errors.js';
import { egoFromCamera, mat4InvertAffine, type KittiCalib, type Mat4 } from '../logs/kitti/calib.js';
import { detectKittiLayout } from '../logs/kitti/layout.js';
import { readPngSize } from '../logs/kitti/points.js';
import { createSource, type KittiSource, type SensorFiles } from '../logs/kitti/sources.js';
import type { FrameStub, LogInfo, Pose, SensorInfo } from '../logs/model.js';
import { loadInfoIndex } from '../logs/nuscenes/infoJson.js';
import { detectNuscenesLayout } from '../logs/nuscenes/layout.js';
import { loadTablesIndex } from '../logs/nuscenes/tables.js';
import { detectLog, logIdFromFingerprint, openDriveLog } from '../logs/open.js';
import { rotateVector } from '../logs/transforms.js';
import type { Db } from '../store/db.js';
import { getLogRecord, recordLogOpened } from '../store/logs.js';

/** Where a camera's KITTI-style label coordinates live: ego <- camera (label frame) and its projection. */
export interface CameraFrame {
  sensorId: string;
  egoFromCam: Mat4;
  camFromEgo: Mat4;
  /** 3x4 projection, label frame -> pixels. */
  P: number[];
  width: number;
  height: number;
}

export interface IoLog {
  readonly drive: DriveLog;
  readonly info: LogInfo;
  readonly logId: string;
  readonly frames: readonly FrameStub[];
  /** The name files use for each frame: KITTI sample ('000123'), else the zero-padded frame index. */
  frameNames(): Promise<string[]>;
  /** nuScenes sample token of each frame; undefined for other formats. */
  sampleTokens(): Promise<string[] | undefined>;
  /** The camera (and its geometry) KITTI label lines of frame i are in; undefined where it cannot be placed. */
  kittiCamera(index: number, sensorId?: string): Promise<CameraFrame | undefined>;
  /** COCO image: file name and size of camera `sensorId` at frame i. */
  image(index: number, sensorId: string): Promise<{ fileName: string; width: number; height: number } | undefined>;
  /** Camera sensors, label camera first. */
  cameras(): string[];
  /** world <- ego of frame i (nuScenes export needs it). */
  egoPose(index: number): Promise<Pose | undefined>;
  close(): Promise<void>;
}

/** Opens a log by path and registers it in the store (same id the app would give it). */
export async function openIoLog(db: Db, path: string, actor: string, referenceSensor?: string): Promise<IoLog> {
  const detected = await detectLog(path);
  const logId = logIdFromFingerprint(detected.fingerprint);
  const drive = await openDriveLog(path, detected, { logId, referenceSensor });
  recordLogOpened(db, { ...drive.info, sizeBytes: detected.sizeBytes }, actor);
  return createIoLog(drive, path);
}

/** Opens the log a label set belongs to, from the path the store last saw it at (or `path` if it moved). */
export async function openRegisteredLog(db: Db, logId: string, actor: string, path?: string): Promise<IoLog> {
  const record = getLogRecord(db, logId);
  const where = path ?? record?.path;
  if (!where) throw new LogError(`Log ${logId} is not in the workspace database; pass its path with --log`, { path: '' });
  const log = await openIoLog(db, where, actor);
  if (log.logId !== logId) {
    await log.close();
    throw new LogError(`${where} is log ${log.logId}, not ${logId} (the label set's log): its content changed or it is another log; pass the right one with --log`, { path: where });
  }
  return log;
}

const KITTI_LABEL_CAMERAS = ['image_2', 'image_02'];
const sameCamera = (a: string, b: string): boolean => a.replace(/^image_0?(\d)$/, 'image_$1') === b.replace(/^image_0?(\d)$/, 'image_$1');

function createIoLog(drive: DriveLog, path: string): IoLog {
  const info = drive.info;
  let kitti: Promise<{ source: KittiSource; samples: string[] } | undefined> | undefined;
  let nuscenes: Promise<{ tokens: string[]; cameraFiles: Map<string, string>[] } | undefined> | undefined;
  const egoFromCamCache = new WeakMap<KittiCalib, Mat4>();

  const kittiSource = () =>
    (kitti ??= (async () => {
      if (info.format !== 'kitti') return undefined;
      const layout = await detectKittiLayout(path);
      if (!layout) return undefined;
      const source = await createSource(layout);
      // The frames are the reference sensor's samples in time order (as the KITTI reader builds them).
      const sensors: SensorFiles[] = [...(source.lidar ? [source.lidar] : []), ...source.cameras];
      const reference = sensors.find((s) => s.id === info.referenceSensor) ?? sensors.find((s) => sameCamera(s.id, info.referenceSensor));
      if (!reference) throw new LogError(`${path}: reference sensor ${info.referenceSensor} not found in the KITTI layout`, { path });
      const names = [...reference.files.keys()];
      const order = names.map((_, i) => i);
      if (reference.stamps) order.sort((a, b) => {
        const ta = reference.stamps!.get(names[a]!)!;
        const tb = reference.stamps!.get(names[b]!)!;
        return ta < tb ? -1 : ta > tb ? 1 : a - b;
      });
      const samples = order.map((i) => names[i]!);
      if (samples.length !== drive.frames.length) throw new LogError(`${path}: ${samples.length} KITTI samples but ${drive.frames.length} frames`, { path });
      return { source, samples };
    })());

  const nuscenesIndex = () =>
    (nuscenes ??= (async () => {
      if (info.format !== 'nuscenes') return undefined;
      const layout = await detectNuscenesLayout(path);
      if (!layout) return undefined;
      const index = layout.kind === 'tables' ? await loadTablesIndex(layout, info.referenceSensor) : await loadInfoIndex(layout, info.referenceSensor);
      if (index.frames.length !== drive.frames.length) throw new LogError(`${path}: ${index.frames.length} samples but ${drive.frames.length} frames`, { path });
      return {
        tokens: index.frames.map((f) => f.token),
        cameraFiles: index.frames.map((f) => new Map(f.samples.filter((s) => s.modality === 'camera').map((s) => [s.channel, s.file]))),
      };
    })());

  const cameraSensors = (): SensorInfo[] => {
    const cams = info.sensors.filter((s) => s.kind === 'camera');
    return [...cams.filter((s) => KITTI_LABEL_CAMERAS.includes(s.id)), ...cams.filter((s) => !KITTI_LABEL_CAMERAS.includes(s.id))];
  };

  return {
    drive,
    info,
    logId: info.id,
    frames: drive.frames,
    async frameNames() {
      const k = await kittiSource();
      if (k) return k.samples;
      return drive.frames.map((f) => String(f.index).padStart(6, '0'));
    },
    async sampleTokens() {
      return (await nuscenesIndex())?.tokens;
    },
    cameras: () => cameraSensors().map((s) => s.id),
    async kittiCamera(index, sensorId) {
      const k = await kittiSource();
      if (k) {
        const camera = k.source.cameras.find((c) => sameCamera(c.id, sensorId ?? k.source.labelCameraId));
        const sample = k.samples[index];
        if (!camera || sample === undefined) return undefined;
        const calib = await k.source.calib(sample);
        const P = calib?.P[camera.cameraIndex ?? 2];
        if (!calib || !P || !calib.veloToCam) return undefined;
        let egoFromCam = egoFromCamCache.get(calib);
        if (!egoFromCam) {
          egoFromCam = egoFromCamera(calib);
          egoFromCamCache.set(calib, egoFromCam);
        }
        const file = camera.files.get(sample);
        const size = file ? await readPngSize(file).catch(() => undefined) : undefined;
        return { sensorId: camera.id, egoFromCam, camFromEgo: mat4InvertAffine(egoFromCam), P, width: size?.width ?? 0, height: size?.height ?? 0 };
      }
      // Other logs: the camera's optical frame stands in for KITTI's rectified camera frame.
      const sensor = cameraSensors().find((s) => (sensorId ? s.id === sensorId : true) && s.extrinsic && s.intrinsics);
      if (!sensor) return undefined;
      const egoFromCam = mat4FromPose(sensor.extrinsic!);
      return { sensorId: sensor.id, egoFromCam, camFromEgo: mat4InvertAffine(egoFromCam), P: sensor.intrinsics!.P, width: sensor.intrinsics!.width, height: sensor.intrinsics!.height };
    },
    async image(index, sensorId) {
      const k = await kittiSource();
      if (k) {
        const camera = k.source.cameras.find((c) => sameCamera(c.id, sensorId));
        const sample = k.samples[index];
        const file = camera && sample !== undefined ? camera.files.get(sample) : undefined;
        if (!file) return undefined;
        const size = await readPngSize(file).catch(() => undefined);
        return size && { fileName: basename(file), ...size };
      }
      const sensor = info.sensors.find((s) => s.id === sensorId && s.kind === 'camera');
      if (!sensor?.intrinsics) return undefined;
      const n = await nuscenesIndex();
      const file = n?.cameraFiles[index]?.get(sensorId);
      const fileName = file ? basename(file) : `${sensorId.replace(/[^\w.-]+/g, '_').replace(/^_+/, '')}_${String(index).padStart(6, '0')}.png`;
      return { fileName, width: sensor.intrinsics.width, height: sensor.intrinsics.height };
    },
    async egoPose(index) {
      return (await drive.readFrame(index, { cameras: false, lidar: false })).egoPose;
    },
    close: () => drive.close(),
  };
}

/** Row-major 4x4 of a pose (p_parent = R p_child + t). */
export function mat4FromPose(pose: Pose): Mat4 {
  const ex = rotateVector(pose.rotation, [1, 0, 0]);
  const ey = rotateVector(pose.rotation, [0, 1, 0]);
  const ez = rotateVector(pose.rotation, [0, 0, 1]);
  const t = pose.translation;
  return [ex[0], ey[0], ez[0], t[0], ex[1], ey[1], ez[1], t[1], ex[2], ey[2], ez[2], t[2], 0, 0, 0, 1];
}
