// The unified drive model: every reader (demo, MCAP, KITTI, nuScenes, bag) produces these shapes.
// Pure data, no Node APIs: the renderer receives exactly these objects through the API contract.
//
// Conventions
// - Times: `stampNs` is a decimal string of integer nanoseconds (exact, JSON-safe);
//   `timeS` is seconds since the log start (convenient, lossy).
// - Frames of reference: the ego frame is x forward, y left, z up (ISO 8855 / ROS REP 103).
//   Camera optical frames are x right, y down, z forward.
// - Poses map points from the child frame into the parent: p_parent = R * p_child + t.
// - Quaternions are [x, y, z, w].

export type Vec3 = [number, number, number];
export type Quat = [number, number, number, number];

export interface Pose {
  translation: Vec3;
  rotation: Quat;
}

export type LogFormat = 'mcap' | 'kitti' | 'nuscenes' | 'rosbag' | 'pcd' | 'demo';

export type StreamKind =
  | 'camera'
  | 'camera-calibration'
  | 'lidar'
  | 'pose'
  | 'transform'
  | 'labels3d'
  | 'labels2d'
  | 'path'
  | 'other';

export interface StreamInfo {
  /** Topic or file-layout path. */
  topic: string;
  kind: StreamKind;
  schema: string;
  messageCount: number;
  /** Mean rate over the log, Hz; 0 when unknown. */
  rateHz: number;
  /** Sensor this stream belongs to, if any. */
  sensorId?: string;
}

export interface CameraIntrinsics {
  width: number;
  height: number;
  /** 3x3 row-major. */
  K: number[];
  /** 3x4 row-major projection (rectified), camera optical frame -> pixels. */
  P: number[];
  distortionModel: string;
  D: number[];
}

export interface SensorInfo {
  id: string;
  kind: 'camera' | 'lidar';
  /** Name of this sensor's frame in the transform tree. */
  frameId: string;
  intrinsics?: CameraIntrinsics;
  /** ego <- sensor, when known statically. */
  extrinsic?: Pose;
}

export interface LogInfo {
  id: string;
  path: string;
  name: string;
  format: LogFormat;
  /** sha256 over size + head + tail of the file: cheap, stable identity. The full hash is in the store. */
  fingerprint: string;
  sizeBytes: number;
  startNs: string;
  endNs: string;
  durationS: number;
  frameCount: number;
  referenceSensor: string;
  streams: StreamInfo[];
  sensors: SensorInfo[];
  /** Ground-truth label count: boxes where the format lists them cheaply, else label messages. */
  labelCount: number;
  warnings: string[];
}

/** A point cloud as typed arrays, in its sensor frame. */
export interface PointCloud {
  sensorId: string;
  frameId: string;
  stampNs: string;
  count: number;
  /** xyz interleaved, length = 3 * count. */
  positions: Float32Array;
  /** Extra per-point fields (intensity, ring, ...), each of length count. */
  fields: Record<string, Float32Array>;
  /** ego <- sensor at this sweep. */
  extrinsic: Pose;
}

export interface CameraImage {
  sensorId: string;
  frameId: string;
  stampNs: string;
  /** Skew from the frame's reference timestamp, seconds. */
  skewS: number;
  /** Encoded image bytes (as stored in the log). */
  format: 'jpeg' | 'png' | 'webp' | 'raw-rgb8';
  data: Uint8Array;
  intrinsics: CameraIntrinsics;
  /** ego <- camera optical frame. */
  extrinsic: Pose;
}

/** An oriented 3D box in the ego frame. size = [length (x), width (y), height (z)]. */
export interface Box3D {
  id: string;
  label: string;
  center: Vec3;
  size: Vec3;
  /** Rotation about +z of the ego frame, radians. */
  yaw: number;
  trackId?: string;
  score?: number;
  attributes?: Record<string, string | number | boolean>;
}

/** An axis-aligned image box in pixels of one camera. */
export interface Box2D {
  id: string;
  sensorId: string;
  label: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  trackId?: string;
  score?: number;
  /** KITTI DontCare-style region: ignored by evaluation, drawn differently. */
  ignore?: boolean;
}

export interface Polyline {
  id: string;
  /** 'ego-driven' for the recorded trajectory, or the log topic for planned paths. */
  source: string;
  stampNs: string;
  /** Points in the ego frame of the current frame. */
  points: Vec3[];
}

export interface FrameData {
  logId: string;
  index: number;
  /** Stable id that detections and labels key on: `${logId}:${stampNs}`. */
  id: string;
  stampNs: string;
  timeS: number;
  /** world <- ego. */
  egoPose?: Pose;
  cameras: CameraImage[];
  lidar?: PointCloud;
  labels3d: Box3D[];
  labels2d: Box2D[];
  paths: Polyline[];
  warnings: string[];
}

/** Lightweight per-frame entry for the timeline, without sensor payloads. */
export interface FrameStub {
  index: number;
  id: string;
  stampNs: string;
  timeS: number;
}

export function frameKey(logId: string, stampNs: string): string {
  return `${logId}:${stampNs}`;
}
