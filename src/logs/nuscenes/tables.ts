// The nuScenes v1.0 table layout (and Lyft Level 5's v1.01, same schema) reduced to a NuscenesIndex.
// The tables are the index, so they are parsed at open, each once, in an order that lets later
// tables be filtered: only keyframes, the reference channel's sweeps (for the ego path) and the
// ego poses those need are kept; annotations are held in flat columns.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LogError } from '../errors.js';
import type { Box3D, Pose, StreamInfo } from '../model.js';
import { applyPose, invertPose, quatMultiply, yawFromQuat } from '../transforms.js';
import { shortLabel } from './categories.js';
import { forEachTableRecord, type JsonRecord, type TableReadOptions } from './json.js';
import type { TablesLayout } from './layout.js';
import {
  chooseReference,
  matrix3,
  microsToNs,
  modalityOf,
  orderChannels,
  poseFromTable,
  type ChannelInfo,
  type IndexedFrame,
  type Modality,
  type NuscenesIndex,
  type SensorSample,
  type TrajectoryPoint,
} from './nuscenesIndex.js';
import { NUSCENES_FLOATS_PER_POINT } from './points.js';

/** Without these there are no frames. */
const REQUIRED_TABLES = ['sensor', 'calibrated_sensor', 'scene', 'sample', 'sample_data', 'ego_pose'] as const;
/** Without these there are frames but no (or less informative) labels. */
const LABEL_TABLES = ['category', 'attribute', 'visibility', 'instance', 'sample_annotation'] as const;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

interface Calibration {
  channel: string;
  modality: Modality;
  pose: Pose;
  K?: number[];
}

interface KeyframeRef {
  calibration: Calibration;
  filename: string;
  timeUs: number;
  egoToken: string;
  width: number;
  height: number;
}

interface SampleEntry {
  token: string;
  sceneToken: string;
  timeUs: number;
  keyframes: KeyframeRef[];
  annotations: number[];
}

/** Poses as 7 numbers each (tx ty tz qx qy qz qw): far smaller than objects for large tables. */
class PoseColumns {
  private readonly values: number[] = [];
  push(pose: Pose): number {
    this.values.push(...pose.translation, ...pose.rotation);
    return this.values.length / 7 - 1;
  }
  get(index: number): Pose {
    const v = this.values;
    const b = index * 7;
    return { translation: [v[b]!, v[b + 1]!, v[b + 2]!], rotation: [v[b + 3]!, v[b + 4]!, v[b + 5]!, v[b + 6]!] };
  }
}

/** sample_annotation rows of the samples in the log, column-wise. */
class AnnotationColumns {
  readonly tokens: string[] = [];
  readonly instances: string[] = [];
  /** 10 per row: translation (3, global), size (3, nuScenes order w l h), rotation (4, x y z w). */
  readonly geometry: number[] = [];
  readonly lidarPoints: number[] = [];
  readonly radarPoints: number[] = [];
  readonly visibility: string[] = [];
  readonly attributeSet: number[] = [];
  readonly attributeSetKeys: string[] = [];
  private readonly attributeSetIndex = new Map<string, number>();

  push(record: JsonRecord, pose: Pose, size: number[]): number {
    this.tokens.push(str(record.token));
    this.instances.push(str(record.instance_token));
    this.geometry.push(...pose.translation, size[0]!, size[1]!, size[2]!, ...pose.rotation);
    this.lidarPoints.push(Number.isFinite(num(record.num_lidar_pts)) ? num(record.num_lidar_pts) : -1);
    this.radarPoints.push(Number.isFinite(num(record.num_radar_pts)) ? num(record.num_radar_pts) : -1);
    this.visibility.push(str(record.visibility_token));
    const key = Array.isArray(record.attribute_tokens) ? record.attribute_tokens.map(str).join(',') : '';
    let set = this.attributeSetIndex.get(key);
    if (set === undefined) {
      set = this.attributeSetKeys.push(key) - 1;
      this.attributeSetIndex.set(key, set);
    }
    this.attributeSet.push(set);
    return this.tokens.length - 1;
  }
}

export async function loadTablesIndex(
  layout: TablesLayout,
  requestedReference: string | undefined,
  readOptions?: TableReadOptions,
): Promise<NuscenesIndex> {
  const warnings: string[] = [];
  const tablePath = (name: string) => join(layout.tablesDir, `${name}.json`);
  const exists = (path: string) => stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
  const missing: string[] = [];
  for (const name of REQUIRED_TABLES) if (!(await exists(tablePath(name)))) missing.push(`${name}.json`);
  if (missing.length > 0) {
    throw new LogError(
      `${layout.tablesDir}: missing nuScenes table${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (frames need ${REQUIRED_TABLES.map((n) => `${n}.json`).join(', ')})`,
      { path: join(layout.tablesDir, missing[0]!) },
    );
  }
  const labelTables = new Set<string>();
  for (const name of LABEL_TABLES) if (await exists(tablePath(name))) labelTables.add(name);
  if (layout.otherVersions.length > 0) {
    warnings.push(`read ${layout.version}; ${layout.otherVersions.join(', ')} also found in ${layout.root} (open that folder to read it)`);
  }

  let sizeBytes = 0;
  const malformed = new Map<string, { count: number; first: string }>();
  const skip = (table: string, index: number, why: string) => {
    const entry = malformed.get(table);
    if (entry) entry.count++;
    else malformed.set(table, { count: 1, first: `record ${index}: ${why}` });
  };
  const read = async (name: string, onRecord: (record: JsonRecord, index: number) => void) => {
    sizeBytes += await forEachTableRecord(tablePath(name), onRecord, readOptions);
  };

  // Sensors and their calibrations: small, and they decide the reference channel.
  const sensors = new Map<string, { channel: string; modality: Modality }>();
  await read('sensor', (r, i) => {
    const channel = str(r.channel);
    if (!str(r.token) || !channel) return skip('sensor', i, 'no token or channel');
    sensors.set(str(r.token), { channel, modality: modalityOf(r.modality, channel) });
  });
  const calibrations = new Map<string, Calibration>();
  const channels = new Map<string, ChannelInfo>();
  const calibrationCount = new Map<string, number>();
  await read('calibrated_sensor', (r, i) => {
    const sensor = sensors.get(str(r.sensor_token));
    if (!sensor) return skip('calibrated_sensor', i, `unknown sensor_token '${str(r.sensor_token)}'`);
    const pose = poseFromTable(r.translation, r.rotation);
    if (!pose) return skip('calibrated_sensor', i, 'translation/rotation are not 3 and 4 numbers');
    const K = matrix3(r.camera_intrinsic);
    if (sensor.modality === 'camera' && !K) return skip('calibrated_sensor', i, 'a camera without a 3x3 camera_intrinsic');
    calibrations.set(str(r.token), { ...sensor, pose, K });
    calibrationCount.set(sensor.channel, (calibrationCount.get(sensor.channel) ?? 0) + 1);
    if (!channels.has(sensor.channel)) {
      channels.set(sensor.channel, { channel: sensor.channel, modality: sensor.modality, calibration: pose, K, width: 0, height: 0, count: 0, firstUs: Infinity, lastUs: -Infinity, fileformat: '' });
    }
  });
  const reference = chooseReference(orderChannels([...channels.values()]), requestedReference, layout.tablesDir);

  const scenes = new Map<string, { name: string; samplesListed: number }>();
  await read('scene', (r, i) => {
    if (!str(r.token)) return skip('scene', i, 'no token');
    scenes.set(str(r.token), { name: str(r.name) || str(r.token), samplesListed: num(r.nbr_samples) });
  });
  const samples = new Map<string, SampleEntry>();
  await read('sample', (r, i) => {
    const timeUs = num(r.timestamp);
    if (!str(r.token) || !Number.isFinite(timeUs)) return skip('sample', i, 'no token or timestamp');
    samples.set(str(r.token), { token: str(r.token), sceneToken: str(r.scene_token), timeUs, keyframes: [], annotations: [] });
  });

  // sample_data: keep keyframes, and the reference channel's sweeps for the ego path.
  const path = new Map<string, { timeUs: number; egoToken: string }[]>();
  const neededPoses = new Map<string, number>();
  const dataFolders = new Map<string, number>();
  let orphanData = 0;
  let duplicateKeyframes = 0;
  await read('sample_data', (r, i) => {
    const calibration = calibrations.get(str(r.calibrated_sensor_token));
    if (!calibration) return skip('sample_data', i, `unknown calibrated_sensor_token '${str(r.calibrated_sensor_token)}'`);
    const timeUs = num(r.timestamp);
    if (!Number.isFinite(timeUs)) return skip('sample_data', i, 'no timestamp');
    const channel = channels.get(calibration.channel)!;
    channel.count++;
    channel.firstUs = Math.min(channel.firstUs, timeUs);
    channel.lastUs = Math.max(channel.lastUs, timeUs);
    channel.fileformat ||= str(r.fileformat);
    if (!channel.width && num(r.width) > 0 && num(r.height) > 0) {
      channel.width = num(r.width);
      channel.height = num(r.height);
    }
    const sample = samples.get(str(r.sample_token));
    if (!sample) {
      orphanData++;
      return;
    }
    const egoToken = str(r.ego_pose_token);
    const keyframe = r.is_key_frame === true;
    if (keyframe) {
      if (sample.keyframes.some((k) => k.calibration.channel === calibration.channel)) {
        duplicateKeyframes++;
      } else {
        const filename = str(r.filename);
        sample.keyframes.push({ calibration, filename, timeUs, egoToken, width: num(r.width) || 0, height: num(r.height) || 0 });
        const folder = filename.split('/')[0]!;
        if (filename.includes('/')) dataFolders.set(folder, (dataFolders.get(folder) ?? 0) + 1);
      }
    }
    if (keyframe || calibration.channel === reference) {
      // Keyframes of every channel add poses too: truncated tables may hold one reference capture only.
      let points = path.get(sample.sceneToken);
      if (!points) path.set(sample.sceneToken, (points = []));
      points.push({ timeUs, egoToken });
      neededPoses.set(egoToken, -1);
    }
  });

  const poses = new PoseColumns();
  let egoCount = 0;
  let egoFirstUs = Infinity;
  let egoLastUs = -Infinity;
  await read('ego_pose', (r, i) => {
    egoCount++;
    const timeUs = num(r.timestamp);
    if (Number.isFinite(timeUs)) {
      egoFirstUs = Math.min(egoFirstUs, timeUs);
      egoLastUs = Math.max(egoLastUs, timeUs);
    }
    const token = str(r.token);
    if (!neededPoses.has(token)) return;
    const pose = poseFromTable(r.translation, r.rotation);
    if (!pose) return skip('ego_pose', i, 'translation/rotation are not 3 and 4 numbers');
    neededPoses.set(token, poses.push(pose));
  });
  const egoPoseOf = (token: string): Pose | undefined => {
    const index = neededPoses.get(token) ?? -1;
    return index >= 0 ? poses.get(index) : undefined;
  };

  // Labels: the small lookup tables first, then the annotations of the samples present.
  const categoryNames = new Map<string, string>();
  const attributeNames = new Map<string, string>();
  const visibilityLevels = new Map<string, string>();
  const instanceCategory = new Map<string, string>();
  const annotations = new AnnotationColumns();
  if (labelTables.has('category')) await read('category', (r) => void categoryNames.set(str(r.token), str(r.name)));
  if (labelTables.has('attribute')) await read('attribute', (r) => void attributeNames.set(str(r.token), str(r.name)));
  if (labelTables.has('visibility')) await read('visibility', (r) => void visibilityLevels.set(str(r.token), str(r.level)));
  if (labelTables.has('instance')) {
    await read('instance', (r) => void instanceCategory.set(str(r.token), categoryNames.get(str(r.category_token)) ?? 'unknown'));
  }
  let orphanAnnotations = 0;
  if (labelTables.has('sample_annotation')) {
    await read('sample_annotation', (r, i) => {
      const sample = samples.get(str(r.sample_token));
      if (!sample) {
        orphanAnnotations++;
        return;
      }
      const pose = poseFromTable(r.translation, r.rotation);
      const size = r.size;
      if (!pose || !Array.isArray(size) || size.length !== 3 || !size.every((v) => typeof v === 'number' && v >= 0)) {
        return skip('sample_annotation', i, 'translation/size/rotation are not 3, 3 and 4 numbers');
      }
      sample.annotations.push(annotations.push(r, pose, size as number[]));
    });
  }
  const missingLabelTables = LABEL_TABLES.filter((n) => !labelTables.has(n));
  if (missingLabelTables.length > 0) {
    warnings.push(
      labelTables.has('sample_annotation')
        ? `${missingLabelTables.map((n) => `${n}.json`).join(', ')} missing in ${layout.tablesDir}: labels lack those details`
        : `sample_annotation.json missing in ${layout.tablesDir}: no 3D labels`,
    );
  }

  // Frames: samples grouped by scene, scenes in time order, samples by timestamp within each.
  const byScene = new Map<string, SampleEntry[]>();
  for (const sample of samples.values()) {
    let list = byScene.get(sample.sceneToken);
    if (!list) byScene.set(sample.sceneToken, (list = []));
    list.push(sample);
  }
  const sceneName = (token: string) => scenes.get(token)?.name ?? (token ? `unknown scene ${token}` : 'unknown scene');
  const sceneOrder = [...byScene.entries()]
    .map(([token, list]) => ({ token, list: list.sort((a, b) => a.timeUs - b.timeUs) }))
    .sort((a, b) => a.list[0]!.timeUs - b.list[0]!.timeUs || sceneName(a.token).localeCompare(sceneName(b.token)));

  const frames: IndexedFrame[] = [];
  const frameAnnotations: number[][] = [];
  const frameScene: string[] = [];
  let missingPoses = 0;
  let noReference = 0;
  for (const { token: sceneToken, list } of sceneOrder) {
    for (const sample of list) {
      const sensorsOfSample: SensorSample[] = sample.keyframes.map((k) => {
        const egoPose = egoPoseOf(k.egoToken);
        if (!egoPose) missingPoses++;
        return {
          channel: k.calibration.channel,
          modality: k.calibration.modality,
          file: join(layout.root, k.filename),
          timeNs: microsToNs(k.timeUs),
          egoPose,
          calibration: k.calibration.pose,
          K: k.calibration.K,
          width: k.width,
          height: k.height,
          floatsPerPoint: k.calibration.modality === 'lidar' ? NUSCENES_FLOATS_PER_POINT : undefined,
        };
      });
      if (!sensorsOfSample.some((s) => s.channel === reference)) noReference++;
      frames.push({ token: sample.token, scene: sceneName(sceneToken), timeNs: microsToNs(sample.timeUs), samples: sensorsOfSample });
      frameAnnotations.push(sample.annotations);
      frameScene.push(sceneToken);
    }
  }

  // Ego path per scene: time-sorted, one pose per timestamp.
  const trajectories = new Map<string, { timeUs: Float64Array; pose: Int32Array }>();
  for (const [sceneToken, points] of path) {
    points.sort((a, b) => a.timeUs - b.timeUs);
    const times: number[] = [];
    const indices: number[] = [];
    for (const p of points) {
      const index = neededPoses.get(p.egoToken) ?? -1;
      if (index < 0 || times[times.length - 1] === p.timeUs) continue;
      times.push(p.timeUs);
      indices.push(index);
    }
    trajectories.set(sceneToken, { timeUs: Float64Array.from(times), pose: Int32Array.from(indices) });
  }

  // Warnings about what is partial or unread.
  for (const [table, { count, first }] of malformed) warnings.push(`${table}.json: skipped ${count} malformed record${count > 1 ? 's' : ''} (${first})`);
  if (sceneOrder.length > 1) {
    const names = sceneOrder.map((s) => sceneName(s.token));
    warnings.push(`${names.length} scenes, in time order: ${names.slice(0, 12).join(', ')}${names.length > 12 ? ', …' : ''}`);
  }
  const partial = sceneOrder.filter((s) => {
    const listed = scenes.get(s.token)?.samplesListed ?? NaN;
    return Number.isFinite(listed) && listed !== s.list.length;
  });
  if (partial.length > 0) {
    const s = partial[0]!;
    warnings.push(
      `${partial.length} scene${partial.length > 1 ? 's are' : ' is'} incomplete: ${sceneName(s.token)} lists ${scenes.get(s.token)!.samplesListed} samples, sample.json holds ${s.list.length}`,
    );
  }
  if (sceneOrder.some((s) => !scenes.has(s.token))) warnings.push('some samples belong to scenes missing from scene.json');
  if (orphanData > 0) warnings.push(`${orphanData} sample_data records belong to samples missing from sample.json (ignored)`);
  if (orphanAnnotations > 0) warnings.push(`${orphanAnnotations} sample_annotation records belong to samples missing from sample.json (ignored)`);
  if (duplicateKeyframes > 0) warnings.push(`${duplicateKeyframes} extra keyframes of a channel already present in their sample (ignored)`);
  if (missingPoses > 0) warnings.push(`${missingPoses} keyframes reference ego poses missing from ego_pose.json`);
  if (noReference > 0) warnings.push(`${noReference} of ${frames.length} samples have no ${reference} keyframe: those frames use the sample time`);
  for (const [folder, count] of dataFolders) {
    if (!(await stat(join(layout.root, folder)).then((s) => s.isDirectory(), () => false))) {
      warnings.push(`data folder ${folder}/ not found in ${layout.root}: ${count} keyframe files in it will be reported missing`);
    }
  }
  // Channels without any capture are calibration leftovers: not sensors of this log.
  const ordered = orderChannels([...channels.values()].filter((c) => c.count > 0 || c.channel === reference));
  const lidars = ordered.filter((c) => c.modality === 'lidar' && c.count > 0);
  const lidarRead = lidars.find((c) => c.channel === 'LIDAR_TOP') ?? lidars[0];
  if (lidars.length > 1) {
    warnings.push(`one point cloud per frame (${lidarRead!.channel}); ${lidars.filter((c) => c !== lidarRead).map((c) => c.channel).join(', ')} not read`);
  }
  const radars = ordered.filter((c) => c.modality === 'radar' && c.count > 0);
  if (radars.length > 0) warnings.push(`radar channels are listed as streams but not read: ${radars.map((c) => c.channel).join(', ')}`);
  const recalibrated = [...calibrationCount].filter(([, n]) => n > 1).map(([c]) => c);
  if (recalibrated.length > 0) warnings.push(`${recalibrated.join(', ')} have several calibrations: sensors list the first, each frame uses its own`);

  const labelCount = frameAnnotations.reduce((n, a) => n + a.length, 0);
  const spanS = (first: number, last: number) => (last > first ? (last - first) / 1e6 : 0);
  const rate = (count: number, first: number, last: number) => (count > 1 && last > first ? (count - 1) / spanS(first, last) : 0);
  const firstSampleUs = sceneOrder.reduce((m, s) => Math.min(m, s.list[0]!.timeUs), Infinity);
  const lastSampleUs = sceneOrder.reduce((m, s) => Math.max(m, s.list[s.list.length - 1]!.timeUs), -Infinity);
  const extraStreams: StreamInfo[] = [
    {
      topic: 'sample_annotation',
      kind: 'labels3d',
      schema: 'nuscenes.sample_annotation',
      messageCount: labelCount,
      rateHz: rate(frames.length, firstSampleUs, lastSampleUs),
    },
    { topic: 'ego_pose', kind: 'pose', schema: 'nuscenes.ego_pose', messageCount: egoCount, rateHz: rate(egoCount, egoFirstUs, egoLastUs) },
  ];

  return {
    layout,
    name: sceneOrder.length === 1 ? sceneName(sceneOrder[0]!.token) : `${layout.version} (${sceneOrder.length} scenes)`,
    sizeBytes,
    channels: ordered,
    reference,
    frames,
    extraStreams,
    labelCount,
    warnings,
    // Annotations hold at the sample time (the LIDAR_TOP capture); with a camera reference they are
    // placed in that camera's ego pose, up to ~50 ms away, which moving objects make visible.
    labels3d(frame, egoPose, frameWarnings) {
      const rows = frameAnnotations[frame] ?? [];
      if (rows.length === 0) return [];
      if (!egoPose) {
        frameWarnings.push(`no ego pose: ${rows.length} labels (global frame) cannot be placed in the ego frame`);
        return [];
      }
      const egoFromWorld = invertPose(egoPose);
      return rows.map((row) => annotationToBox(annotations, row, egoFromWorld, instanceCategory, attributeNames, visibilityLevels));
    },
    labels2d: () => [],
    trajectory(frame, fromNs, toNs) {
      const track = trajectories.get(frameScene[frame] ?? '');
      if (!track) return [];
      const out: TrajectoryPoint[] = [];
      const from = Number(fromNs) / 1000;
      const to = Number(toNs) / 1000;
      for (let i = lowerBound(track.timeUs, from); i < track.timeUs.length && track.timeUs[i]! <= to; i++) {
        out.push({ timeNs: microsToNs(track.timeUs[i]!), pose: poses.get(track.pose[i]!) });
      }
      return out;
    },
  };
}

function annotationToBox(
  columns: AnnotationColumns,
  row: number,
  egoFromWorld: Pose,
  instanceCategory: Map<string, string>,
  attributeNames: Map<string, string>,
  visibilityLevels: Map<string, string>,
): Box3D {
  const g = columns.geometry.slice(row * 10, row * 10 + 10);
  const center = applyPose(egoFromWorld, [g[0]!, g[1]!, g[2]!]);
  const rotation = quatMultiply(egoFromWorld.rotation, [g[6]!, g[7]!, g[8]!, g[9]!]);
  const instance = columns.instances[row]!;
  const category = instanceCategory.get(instance) ?? 'unknown';
  const attributes: Record<string, string | number | boolean> = {
    category,
    num_lidar_pts: columns.lidarPoints[row]!,
    num_radar_pts: columns.radarPoints[row]!,
  };
  const visibility = visibilityLevels.get(columns.visibility[row]!);
  if (visibility) attributes.visibility = visibility;
  const attributeKey = columns.attributeSetKeys[columns.attributeSet[row]!]!;
  if (attributeKey) attributes.attribute_names = attributeKey.split(',').map((t) => attributeNames.get(t) ?? t).join(',');
  return {
    id: columns.tokens[row]!,
    label: shortLabel(category),
    center,
    // nuScenes sizes are [width, length, height]; the model's are [length, width, height].
    size: [g[4]!, g[3]!, g[5]!],
    yaw: yawFromQuat(rotation),
    trackId: instance || undefined,
    attributes,
  };
}

function lowerBound(values: Float64Array, target: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
