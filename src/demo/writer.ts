// Writes the demo drive as an indexed MCAP file: Foxglove schemas, protobuf encoding,
// zstd-compressed chunks with message and chunk indexes, statistics and summary offsets.
// Deterministic: no wall-clock time anywhere; the same options give byte-identical files.
import { open, type FileHandle } from 'node:fs/promises';
import { McapWriter, type IWritable } from '@mcap/core';
import zstd from '@foxglove/wasm-zstd';
import type { Box2D, Pose } from '../logs/model.js';
import { encodeFoxglove, foxgloveDescriptorSet } from '../logs/mcap/foxgloveProto.js';
import { POINT_STRIDE, frameTimes, renderFrames } from './frames.js';
import { yawQuat } from './geometry.js';
import { boxes2dAt, boxes3dAt } from './groundTruth.js';
import {
  CAMERA_FRAME,
  DEMO_GENERATOR_VERSION,
  EGO_FRAME,
  LIDAR_FRAME,
  WORLD_FRAME,
  createDemoScene,
  type DemoOptions,
  type DemoProgress,
  type DemoScene,
} from './scene.js';

/** Topic layout of the demo log (readers depend on it). */
export const DEMO_TOPICS = {
  tfStatic: '/tf_static',
  tf: '/tf',
  egoPose: '/ego/pose',
  lidar: '/lidar/points',
  groundTruthBoxes: '/ground_truth/boxes',
  cameraImage: '/camera/front/image',
  cameraCalibration: '/camera/front/calibration',
  groundTruthImageBoxes: '/ground_truth/image_boxes',
} as const;

export const DEMO_METADATA_NAME = 'sightline.demo';
const ZSTD_LEVEL = 3;

const TOPIC_SCHEMAS: Record<keyof typeof DEMO_TOPICS, string> = {
  tfStatic: 'foxglove.FrameTransforms',
  tf: 'foxglove.FrameTransforms',
  egoPose: 'foxglove.PoseInFrame',
  lidar: 'foxglove.PointCloud',
  groundTruthBoxes: 'foxglove.SceneUpdate',
  cameraImage: 'foxglove.CompressedImage',
  cameraCalibration: 'foxglove.CameraCalibration',
  groundTruthImageBoxes: 'foxglove.ImageAnnotations',
};

/** Outline/text colours of the 2D boxes and cube colours of the 3D boxes, by class. */
export const CLASS_COLORS: Record<string, { r: number; g: number; b: number }> = {
  car: { r: 0.2, g: 0.6, b: 1.0 },
  truck: { r: 1.0, g: 0.55, b: 0.1 },
  pedestrian: { r: 1.0, g: 0.2, b: 0.4 },
  cyclist: { r: 0.75, g: 1.0, b: 0.2 },
};

/**
 * IWritable over a file handle. Writes are coalesced in a buffer (the MCAP writer emits many
 * small records) and go out sequentially; position() counts everything accepted so far.
 */
export class FileWritable implements IWritable {
  private offset = 0n;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly flushBytes = 4 << 20,
  ) {}

  position(): bigint {
    return this.offset;
  }

  async write(buffer: Uint8Array): Promise<void> {
    // The writer may reuse its buffer after the promise resolves: keep a copy while pending.
    this.pending.push(new Uint8Array(buffer));
    this.pendingBytes += buffer.byteLength;
    this.offset += BigInt(buffer.byteLength);
    if (this.pendingBytes >= this.flushBytes) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    let done = 0;
    while (done < data.byteLength) {
      const { bytesWritten } = await this.handle.write(data, done, data.byteLength - done);
      done += bytesWritten;
    }
  }
}

function stamp(ns: bigint): { seconds: number; nanos: number } {
  return { seconds: Number(ns / 1_000_000_000n), nanos: Number(ns % 1_000_000_000n) };
}

function poseMsg(p: Pose): Record<string, unknown> {
  const [x, y, z] = p.translation;
  const [qx, qy, qz, qw] = p.rotation;
  return { position: { x, y, z }, orientation: { x: qx, y: qy, z: qz, w: qw } };
}

function transformMsg(ns: bigint, parent: string, child: string, p: Pose): Record<string, unknown> {
  const [x, y, z] = p.translation;
  const [qx, qy, qz, qw] = p.rotation;
  return { timestamp: stamp(ns), parent_frame_id: parent, child_frame_id: child, translation: { x, y, z }, rotation: { x: qx, y: qy, z: qz, w: qw } };
}

const NUMERIC_FLOAT32 = 7;
const NUMERIC_UINT16 = 3;

function imageAnnotations(ns: bigint, boxes: Box2D[]): Record<string, unknown> {
  const ts = stamp(ns);
  return {
    timestamp: ts,
    circles: [],
    points: boxes.map((b) => ({
      timestamp: ts,
      type: 2, // LINE_LOOP
      points: [
        { x: b.x1, y: b.y1 },
        { x: b.x2, y: b.y1 },
        { x: b.x2, y: b.y2 },
        { x: b.x1, y: b.y2 },
      ],
      outline_color: { ...(CLASS_COLORS[b.label] ?? { r: 1, g: 1, b: 1 }), a: 1 },
      thickness: 2,
    })),
    texts: boxes.map((b) => ({
      timestamp: ts,
      position: { x: b.x1, y: b.y1 },
      text: `${b.label} ${b.trackId}`,
      font_size: 14,
      text_color: { r: 1, g: 1, b: 1, a: 1 },
      background_color: { ...(CLASS_COLORS[b.label] ?? { r: 0, g: 0, b: 0 }), a: 0.7 },
    })),
  };
}

function sceneUpdate(scene: DemoScene, ns: bigint, tS: number): Record<string, unknown> {
  const ts = stamp(ns);
  return {
    // Replace everything each sweep: agents that left the 100 m range disappear too.
    deletions: [{ timestamp: ts, type: 1 /* ALL */, id: '' }],
    entities: boxes3dAt(scene, tS).map((b) => ({
      timestamp: ts,
      frame_id: EGO_FRAME,
      id: b.trackId,
      lifetime: { seconds: 0, nanos: 0 },
      frame_locked: false,
      metadata: [
        { key: 'class', value: b.label },
        { key: 'track_id', value: b.trackId },
        ...Object.entries(b.attributes ?? {}).map(([key, value]) => ({ key, value: String(value) })),
      ],
      cubes: [
        {
          pose: poseMsg({ translation: b.center, rotation: yawQuat(b.yaw) }),
          size: { x: b.size[0], y: b.size[1], z: b.size[2] },
          color: { ...(CLASS_COLORS[b.label] ?? { r: 1, g: 1, b: 1 }), a: 0.35 },
        },
      ],
    })),
  };
}

/** Generates the demo drive into outPath. */
export async function writeDemoLog(
  outPath: string,
  options: DemoOptions = {},
  onProgress?: (p: DemoProgress) => void,
): Promise<{ path: string; frames: number; bytes: number }> {
  const scene = createDemoScene(options);
  await zstd.isLoaded;
  const handle = await open(outPath, 'w');
  try {
    const writable = new FileWritable(handle);
    const writer = new McapWriter({
      writable,
      useStatistics: true,
      useSummaryOffsets: true,
      useChunks: true,
      repeatSchemas: true,
      repeatChannels: true,
      useMessageIndex: true,
      useChunkIndex: true,
      useMetadataIndex: true,
      useAttachmentIndex: true,
      compressChunk: (data) => ({ compression: 'zstd', compressedData: zstd.compress(data, ZSTD_LEVEL) }),
    });
    await writer.start({ profile: '', library: 'sightline-demo' });

    const schemaIds = new Map<string, number>();
    const channels = {} as Record<keyof typeof DEMO_TOPICS, number>;
    for (const key of Object.keys(DEMO_TOPICS) as Array<keyof typeof DEMO_TOPICS>) {
      const name = TOPIC_SCHEMAS[key];
      let schemaId = schemaIds.get(name);
      if (schemaId === undefined) {
        schemaId = await writer.registerSchema({ name, encoding: 'protobuf', data: foxgloveDescriptorSet(name) });
        schemaIds.set(name, schemaId);
      }
      channels[key] = await writer.registerChannel({ topic: DEMO_TOPICS[key], schemaId, messageEncoding: 'protobuf', metadata: new Map() });
    }
    let sequence = 0;
    const add = async (key: keyof typeof DEMO_TOPICS, ns: bigint, message: Record<string, unknown>): Promise<void> => {
      await writer.addMessage({
        channelId: channels[key],
        sequence: sequence++,
        logTime: ns,
        publishTime: ns,
        data: encodeFoxglove(TOPIC_SCHEMAS[key], message),
      });
    };

    const o = scene.options;
    const { intrinsics } = scene.camera;
    await writer.addMetadata({
      name: DEMO_METADATA_NAME,
      metadata: new Map([
        ['generator', 'sightline-demo'],
        ['generator_version', DEMO_GENERATOR_VERSION],
        ['seed', String(o.seed)],
        ['duration_s', String(o.durationS)],
        ['rate_hz', String(o.rateHz)],
        ['frames', String(scene.frameCount)],
        ['start_ns', String(scene.startNs)],
        ['obstacle_track_id', scene.obstacleTrackId],
        ['obstacle_class', 'car'],
        ['obstacle_description', 'stalled car with hazard lights in the ego lane; the ego swerves around it'],
        ['image_size', `${o.imageWidth}x${o.imageHeight}`],
        ['camera_skew_s', String(scene.camera.skewS)],
        ['lidar_azimuth_steps', String(o.azimuthSteps)],
        ['lidar_max_range_m', String(scene.lidar.maxRange)],
        ['units', 'metres, radians, seconds'],
        ['intensity_scale', 'float32 in [0, 1]: reflectivity x (0.6 + 0.4 |cos incidence|); lane paint ~0.5-0.9, asphalt ~0.06-0.15'],
        ['ring', 'uint16 beam index: 0 = top beam (+2.0 deg) .. 63 = bottom beam (-24.8 deg)'],
        ['pixel_convention', 'pixel centres at integer coordinates (OpenCV); 2D boxes clipped to [0, w-1] x [0, h-1]'],
      ]),
    });

    const t0 = scene.startNs;
    await add('tfStatic', t0, {
      transforms: [
        transformMsg(t0, EGO_FRAME, LIDAR_FRAME, scene.lidar.extrinsic),
        transformMsg(t0, EGO_FRAME, CAMERA_FRAME, scene.camera.extrinsic),
      ],
    });
    const calibration = (ns: bigint): Record<string, unknown> => ({
      timestamp: stamp(ns),
      frame_id: CAMERA_FRAME,
      width: intrinsics.width,
      height: intrinsics.height,
      distortion_model: intrinsics.distortionModel,
      D: intrinsics.D,
      K: intrinsics.K,
      R: [1, 0, 0, 0, 1, 0, 0, 0, 1],
      P: intrinsics.P,
    });

    for await (const frame of renderFrames(scene, options)) {
      const k = frame.index;
      const times = frameTimes(scene, k);
      const { tSweep, tImage } = times;
      const sweepNs = t0 + times.sweepNs;
      const imageNs = t0 + times.imageNs;
      const ego = scene.egoPoseAt(tSweep);
      await add('tf', sweepNs, { transforms: [transformMsg(sweepNs, WORLD_FRAME, EGO_FRAME, ego)] });
      await add('egoPose', sweepNs, { timestamp: stamp(sweepNs), frame_id: WORLD_FRAME, pose: poseMsg(ego) });
      await add('lidar', sweepNs, {
        timestamp: stamp(sweepNs),
        frame_id: LIDAR_FRAME,
        pose: { position: { x: 0, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } },
        point_stride: POINT_STRIDE,
        fields: [
          { name: 'x', offset: 0, type: NUMERIC_FLOAT32 },
          { name: 'y', offset: 4, type: NUMERIC_FLOAT32 },
          { name: 'z', offset: 8, type: NUMERIC_FLOAT32 },
          { name: 'intensity', offset: 12, type: NUMERIC_FLOAT32 },
          { name: 'ring', offset: 16, type: NUMERIC_UINT16 },
        ],
        data: frame.points,
      });
      await add('groundTruthBoxes', sweepNs, sceneUpdate(scene, sweepNs, tSweep));
      await add('cameraImage', imageNs, { timestamp: stamp(imageNs), frame_id: CAMERA_FRAME, format: 'jpeg', data: frame.jpeg });
      await add('cameraCalibration', imageNs, calibration(imageNs));
      await add('groundTruthImageBoxes', imageNs, imageAnnotations(imageNs, boxes2dAt(scene, tImage)));
      onProgress?.({ done: k + 1, total: scene.frameCount });
    }
    await writer.end();
    await writable.flush();
    return { path: outPath, frames: scene.frameCount, bytes: Number(writable.position()) };
  } finally {
    await handle.close();
  }
}
