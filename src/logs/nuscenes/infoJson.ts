// mmdet3d's nuScenes info layout (info_version 1.x): a `*.info.json` (the info pickle converted to
// JSON) beside the sample files. Each data_list entry is one sample: ego2global, lidar_points
// (lidar_path, lidar2ego, num_pts_feats), images per camera (img_path, cam2img, cam2ego, timestamp),
// instances (3D boxes in the lidar frame) and cam_instances (2D boxes per camera).
//
// Camera extrinsics: cam2ego is the camera's calibration (ego at the camera's time <- camera), but
// lidar2cam was computed through both ego poses (camera <- ego_cam <- global <- ego_lidar <- lidar), so
// lidar2ego · lidar2cam⁻¹ is the camera in the frame's ego frame, ego motion included: with it the box
// centres project exactly onto mmdet3d's center_2d (with cam2ego alone they are off by up to ~20 px).
//
// Box convention, checked against the points (see test/unit/nuscenes.test.ts): bbox_3d is
// [x, y, z, l, w, h, yaw] in the lidar frame with z at the box centre (the info keeps nuScenes'
// gravity centre; mmdet3d moves it to the bottom only when it builds LiDARInstance3DBoxes), l along
// the box's heading and yaw measured from the lidar x axis towards +y.
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { LogError } from '../errors.js';
import type { Box2D, Box3D, Pose, StreamInfo, Vec3 } from '../model.js';
import { applyPose, composePoses, invertPose, poseFromMatrix3x4, quatFromYaw, quatMultiply, rotateVector, yawFromQuat } from '../transforms.js';
import { readJpegSize } from './jpeg.js';
import { readJsonDocument } from './json.js';
import type { InfoLayout } from './layout.js';
import {
  chooseReference,
  matrix3x4,
  orderChannels,
  secondsToNs,
  type ChannelInfo,
  type IndexedFrame,
  type NuscenesIndex,
  type SensorSample,
  type TrajectoryPoint,
} from './nuscenesIndex.js';
import { NUSCENES_FLOATS_PER_POINT } from './points.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
/** null stands for NaN: Python wrote NaN there (see readJsonDocument). */
const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);
const LIDAR_CHANNEL = 'LIDAR_TOP';
/** Above this many samples, data file sizes are not summed at open. */
const STAT_ALL_LIMIT = 200;

interface InfoEntry {
  token: string;
  group: string;
  timeNs: bigint;
  egoPose?: Pose;
  lidarToEgo?: Pose;
  instances: unknown[];
  camInstances: Obj;
}

export async function loadInfoIndex(layout: InfoLayout, requestedReference: string | undefined): Promise<NuscenesIndex> {
  const where = layout.infoPath;
  const doc = obj(await readJsonDocument(where));
  if (!Array.isArray(doc.data_list)) throw new LogError(`${where}: not an mmdet3d info file (no data_list array)`, { path: where });
  const categories = new Map<number, string>();
  for (const [name, index] of Object.entries(obj(obj(doc.metainfo).categories))) if (typeof index === 'number') categories.set(index, name);
  const labelOf = (index: unknown) => categories.get(num(index)) ?? (num(index) === -1 ? 'ignored' : 'unknown');

  const warnings: string[] = [];
  if (layout.otherInfoFiles.length > 0) warnings.push(`read ${basename(where)}; ${layout.otherInfoFiles.join(', ')} also found (open that file to read it)`);
  const group = basename(where).replace(/\.info\.json$/, '');
  const channels = new Map<string, ChannelInfo>();
  const channelOf = (name: string, modality: 'camera' | 'lidar'): ChannelInfo => {
    let channel = channels.get(name);
    if (!channel) channels.set(name, (channel = { channel: name, modality, width: 0, height: 0, count: 0, firstUs: Infinity, lastUs: -Infinity, fileformat: '' }));
    return channel;
  };
  const note = (channel: ChannelInfo, timeNs: bigint) => {
    const us = Number(timeNs) / 1000;
    channel.count++;
    channel.firstUs = Math.min(channel.firstUs, us);
    channel.lastUs = Math.max(channel.lastUs, us);
  };

  const entries: InfoEntry[] = [];
  const samplesOf: { entry: InfoEntry; samples: (SensorSample & { relative: string })[] }[] = [];
  let skippedCameras = 0;
  doc.data_list.forEach((raw, i) => {
    const e = obj(raw);
    const timeNs = secondsToNs(num(e.timestamp));
    const ego = matrix3x4(e.ego2global);
    const lidar = obj(e.lidar_points);
    const lidarToEgoM = matrix3x4(lidar.lidar2ego);
    const entry: InfoEntry = {
      token: str(e.token) || `sample-${i}`,
      group: str(e.scene_token) || group,
      timeNs,
      egoPose: ego ? poseFromMatrix3x4(ego) : undefined,
      lidarToEgo: lidarToEgoM ? poseFromMatrix3x4(lidarToEgoM) : undefined,
      instances: Array.isArray(e.instances) ? e.instances : [],
      camInstances: obj(e.cam_instances),
    };
    if (!entry.egoPose) warnings.push(`${where}: data_list[${i}] has no 4x4 ego2global`);
    const samples: (SensorSample & { relative: string })[] = [];
    if (str(lidar.lidar_path) && entry.lidarToEgo) {
      const channel = channelOf(LIDAR_CHANNEL, 'lidar');
      channel.calibration ??= entry.lidarToEgo;
      channel.fileformat ||= 'pcd.bin';
      note(channel, timeNs);
      samples.push({
        channel: LIDAR_CHANNEL,
        modality: 'lidar',
        relative: str(lidar.lidar_path),
        file: '',
        timeNs,
        egoPose: entry.egoPose,
        calibration: entry.lidarToEgo,
        width: 0,
        height: 0,
        floatsPerPoint: num(lidar.num_pts_feats) > 0 ? num(lidar.num_pts_feats) : NUSCENES_FLOATS_PER_POINT,
      });
    } else if (Object.keys(lidar).length > 0) {
      warnings.push(`${where}: data_list[${i}].lidar_points lacks lidar_path or a 4x4 lidar2ego`);
    }
    for (const [name, value] of Object.entries(obj(e.images))) {
      const image = obj(value);
      const K = cameraMatrix(image.cam2img);
      const camToEgo = matrix3x4(image.cam2ego);
      if (!str(image.img_path) || !K || !camToEgo) {
        skippedCameras++;
        continue;
      }
      const channel = channelOf(name, 'camera');
      const calibration = poseFromMatrix3x4(camToEgo);
      const lidarToCam = matrix3x4(image.lidar2cam);
      const frameExtrinsic = lidarToCam && entry.lidarToEgo ? composePoses(entry.lidarToEgo, invertPose(poseFromMatrix3x4(lidarToCam))) : undefined;
      channel.calibration ??= calibration;
      channel.K ??= K;
      channel.fileformat ||= 'jpeg';
      const cameraTimeNs = Number.isFinite(num(image.timestamp)) ? secondsToNs(num(image.timestamp)) : timeNs;
      note(channel, cameraTimeNs);
      samples.push({
        channel: name,
        modality: 'camera',
        relative: str(image.img_path),
        file: '',
        timeNs: cameraTimeNs,
        calibration,
        frameExtrinsic,
        K,
        width: 0,
        height: 0,
      });
    }
    entries.push(entry);
    samplesOf.push({ entry, samples });
  });
  if (skippedCameras > 0) warnings.push(`${where}: ${skippedCameras} camera entries lack img_path, a 3x3 cam2img or a 4x4 cam2ego (skipped)`);
  if (entries.length === 0) warnings.push(`${where}: data_list is empty`);
  const reference = chooseReference([...channels.values()], requestedReference, where);

  // Files are named by basename; find where they lie once per channel and reuse that for every sample.
  const placement = new Map<string, (relative: string) => string>();
  for (const { samples } of samplesOf) {
    for (const s of samples) {
      if (!placement.has(s.channel)) {
        const found = await locate(layout.root, s.channel, s.relative);
        if (found) placement.set(s.channel, found);
      }
      s.file = (placement.get(s.channel) ?? ((r: string) => join(layout.root, r)))(s.relative);
    }
  }
  for (const channel of channels.values()) {
    if (!placement.has(channel.channel)) warnings.push(`${channel.channel}: data files not found next to ${basename(where)} (nor in samples/${channel.channel}/)`);
  }
  // Image sizes come from the first JPEG's header of each camera (a few KB read).
  for (const channel of channels.values()) {
    if (channel.modality !== 'camera') continue;
    const first = samplesOf.flatMap((s) => s.samples).find((s) => s.channel === channel.channel);
    const size = first ? await readJpegSize(first.file).catch(() => undefined) : undefined;
    if (size) {
      channel.width = size.width;
      channel.height = size.height;
    }
  }

  let sizeBytes = (await stat(where)).size;
  const allSamples = samplesOf.flatMap((s) => s.samples);
  if (entries.length <= STAT_ALL_LIMIT) {
    for (const s of allSamples) sizeBytes += await stat(s.file).then((st) => st.size, () => 0);
  }

  const order = samplesOf.map((_, i) => i).sort((a, b) => Number(entries[a]!.timeNs - entries[b]!.timeNs) || a - b);
  const frames: IndexedFrame[] = order.map((i) => {
    const { entry, samples } = samplesOf[i]!;
    return {
      token: entry.token,
      scene: entry.group,
      timeNs: entry.timeNs,
      egoPose: entry.egoPose,
      samples: samples.map(({ relative: _relative, ...s }) => {
        const channel = channels.get(s.channel)!;
        return { ...s, width: channel.width, height: channel.height };
      }),
    };
  });
  const frameEntries = order.map((i) => entries[i]!);

  let boxCount = 0;
  let imageBoxCount = 0;
  for (const entry of entries) {
    boxCount += entry.instances.length;
    for (const list of Object.values(entry.camInstances)) if (Array.isArray(list)) imageBoxCount += list.length;
  }
  const firstNs = frames[0]?.timeNs ?? 0n;
  const lastNs = frames[frames.length - 1]?.timeNs ?? 0n;
  const keyRate = frames.length > 1 && lastNs > firstNs ? (frames.length - 1) / (Number(lastNs - firstNs) / 1e9) : 0;
  const extraStreams: StreamInfo[] = [
    { topic: 'instances', kind: 'labels3d', schema: 'mmdet3d.instances', messageCount: boxCount, rateHz: keyRate },
    { topic: 'cam_instances', kind: 'labels2d', schema: 'mmdet3d.cam_instances', messageCount: imageBoxCount, rateHz: keyRate },
    { topic: 'ego2global', kind: 'pose', schema: 'mmdet3d.ego2global', messageCount: entries.filter((e) => e.egoPose).length, rateHz: keyRate },
  ];

  return {
    layout,
    name: group,
    sizeBytes,
    channels: orderChannels([...channels.values()]),
    reference,
    frames,
    extraStreams,
    labelCount: boxCount,
    warnings,
    labels3d(frame, _egoPose, frameWarnings) {
      const entry = frameEntries[frame];
      if (!entry) return [];
      if (!entry.lidarToEgo) {
        if (entry.instances.length > 0) frameWarnings.push(`no lidar2ego: ${entry.instances.length} boxes (lidar frame) cannot be placed in the ego frame`);
        return [];
      }
      const boxes: Box3D[] = [];
      let malformed = 0;
      entry.instances.forEach((raw, k) => {
        const box = instanceToBox(obj(raw), entry.lidarToEgo!, labelOf, `${entry.token}:${k}`);
        if (box) boxes.push(box);
        else malformed++;
      });
      if (malformed > 0) frameWarnings.push(`${malformed} instances without a 7-number bbox_3d (skipped)`);
      return boxes;
    },
    labels2d(frame) {
      const entry = frameEntries[frame];
      if (!entry) return [];
      const boxes: Box2D[] = [];
      for (const [sensorId, list] of Object.entries(entry.camInstances)) {
        if (!Array.isArray(list)) continue;
        list.forEach((raw, k) => {
          const o = obj(raw);
          const b = o.bbox;
          if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v))) return;
          boxes.push({ id: `${entry.token}:${sensorId}:${k}`, sensorId, label: labelOf(o.bbox_label ?? o.bbox_label_3d), x1: b[0], y1: b[1], x2: b[2], y2: b[3] });
        });
      }
      return boxes;
    },
    trajectory(frame, fromNs, toNs) {
      const groupOf = frameEntries[frame]?.group;
      const out: TrajectoryPoint[] = [];
      for (const entry of frameEntries) {
        if (entry.group === groupOf && entry.egoPose && entry.timeNs >= fromNs && entry.timeNs <= toNs) out.push({ timeNs: entry.timeNs, pose: entry.egoPose });
      }
      return out;
    },
  };
}

function instanceToBox(o: Obj, lidarToEgo: Pose, labelOf: (index: unknown) => string, id: string): Box3D | undefined {
  const b = o.bbox_3d;
  if (!Array.isArray(b) || b.length < 7 || !b.slice(0, 7).every((v) => typeof v === 'number' && Number.isFinite(v))) return undefined;
  const [x, y, z, l, w, h, yaw] = b as number[];
  const label = labelOf(o.bbox_label_3d ?? o.bbox_label);
  const attributes: Record<string, string | number | boolean> = { category: label };
  if (Number.isFinite(num(o.num_lidar_pts))) attributes.num_lidar_pts = num(o.num_lidar_pts);
  if (Number.isFinite(num(o.num_radar_pts))) attributes.num_radar_pts = num(o.num_radar_pts);
  if (typeof o.bbox_3d_isvalid === 'boolean') attributes.valid = o.bbox_3d_isvalid;
  const v = Array.isArray(o.velocity) ? o.velocity.map(num) : [];
  if (v.length >= 2 && Number.isFinite(v[0]) && Number.isFinite(v[1])) {
    // Velocity is given in the lidar frame too; rotate it into the ego frame.
    const egoVelocity = rotateVector(lidarToEgo.rotation, [v[0]!, v[1]!, 0]);
    attributes.velocity_x = egoVelocity[0];
    attributes.velocity_y = egoVelocity[1];
  }
  return {
    id,
    label,
    center: applyPose(lidarToEgo, [x!, y!, z!] as Vec3),
    size: [l!, w!, h!],
    yaw: yawFromQuat(quatMultiply(lidarToEgo.rotation, quatFromYaw(yaw!))),
    attributes,
  };
}

/** cam2img may be 3x3 or 4x4 (mmdet3d pads it); the 3x3 camera matrix is its top-left corner. */
function cameraMatrix(value: unknown): number[] | undefined {
  if (!Array.isArray(value) || value.length < 3) return undefined;
  const rows = value.slice(0, 3);
  if (!rows.every((r) => Array.isArray(r) && r.length >= 3)) return undefined;
  const flat = rows.flatMap((r: unknown[]) => r.slice(0, 3));
  return flat.every((v) => typeof v === 'number' && Number.isFinite(v)) ? (flat as number[]) : undefined;
}

/** Where a channel's files lie: beside the info file, or in the devkit's samples/<CHANNEL>/. */
async function locate(root: string, channel: string, relative: string): Promise<((relative: string) => string) | undefined> {
  const candidates: ((r: string) => string)[] = [
    (r) => join(root, r),
    (r) => join(root, 'samples', channel, basename(r)),
    (r) => join(root, channel, basename(r)),
    (r) => join(root, basename(r)),
  ];
  for (const candidate of candidates) {
    if (await stat(candidate(relative)).then((s) => s.isFile(), () => false)) return candidate;
  }
  return undefined;
}
