// One adapter per schema: what kind of stream it is and how its messages become drive-model parts.
// Foxglove schemas and their ROS 1 / ROS 2 counterparts map onto the same intermediate shapes.
import type { Box2D, CameraImage, CameraIntrinsics, Pose, StreamKind, Vec3 } from '../model.js';
import type { PlainMessage } from './decoders.js';
import {
  toCompressedImage,
  toImageBoxes,
  toPointCloud,
  toPoseInFrame,
  toSceneUpdate,
  toTransforms,
  type DecodedPoints,
  type FoxgloveTransform,
  type SceneBoxes,
} from './foxglove.js';
import {
  rosCameraInfo,
  rosCompressedImage,
  rosDetection2DArray,
  rosDetection3DArray,
  rosMarkerArray,
  rosOdometry,
  rosPath,
  rosPointCloud2,
  rosPoseStamped,
  rosRawImage,
  rosTransforms,
  type RawImage,
} from './ros.js';

export type DecodedImage = { format: CameraImage['format']; data: Uint8Array; frameId: string } | { raw: RawImage; frameId: string };

export interface SchemaAdapter {
  kind: StreamKind;
  transforms?(m: PlainMessage): FoxgloveTransform[];
  pose?(m: PlainMessage): { timeNs?: bigint; frameId: string; pose: Pose };
  points?(m: PlainMessage): DecodedPoints;
  image?(m: PlainMessage): DecodedImage;
  calibration?(m: PlainMessage): { intrinsics: CameraIntrinsics; frameId: string };
  boxes3d?(m: PlainMessage): SceneBoxes[];
  boxes2d?(m: PlainMessage, sensorId: string, idPrefix: string): Box2D[];
  path?(m: PlainMessage): { frameId: string; timeNs?: bigint; points: Vec3[] };
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

const foxgloveRawImage = (m: PlainMessage): DecodedImage => ({
  raw: { width: Number(m.width), height: Number(m.height), encoding: str(m.encoding), step: Number(m.step), data: m.data instanceof Uint8Array ? m.data : new Uint8Array(), frameId: str(m.frame_id) },
  frameId: str(m.frame_id),
});

const ros = {
  image: { kind: 'camera', image: (m) => ({ raw: rosRawImage(m), frameId: rosRawImage(m).frameId }) },
  compressed: { kind: 'camera', image: rosCompressedImage },
  cloud: { kind: 'lidar', points: rosPointCloud2 },
  info: { kind: 'camera-calibration', calibration: rosCameraInfo },
  tf: { kind: 'transform', transforms: rosTransforms },
  odometry: { kind: 'pose', transforms: rosOdometry },
  poseStamped: { kind: 'pose', pose: rosPoseStamped },
  path: { kind: 'path', path: rosPath },
  det2d: { kind: 'labels2d', boxes2d: rosDetection2DArray },
  det3d: { kind: 'labels3d', boxes3d: rosDetection3DArray },
  markers: { kind: 'labels3d', boxes3d: rosMarkerArray },
} satisfies Record<string, SchemaAdapter>;

const ADAPTERS: Record<string, SchemaAdapter> = {
  'foxglove.CompressedImage': { kind: 'camera', image: toCompressedImage },
  'foxglove.RawImage': { kind: 'camera', image: foxgloveRawImage },
  'foxglove.CameraCalibration': {
    kind: 'camera-calibration',
    calibration: (m) => ({ intrinsics: rosCameraInfo(m).intrinsics, frameId: str(m.frame_id) }),
  },
  'foxglove.PointCloud': { kind: 'lidar', points: toPointCloud },
  'foxglove.FrameTransform': { kind: 'transform', transforms: (m) => toTransforms('foxglove.FrameTransform', m) },
  'foxglove.FrameTransforms': { kind: 'transform', transforms: (m) => toTransforms('foxglove.FrameTransforms', m) },
  'foxglove.PoseInFrame': { kind: 'pose', pose: toPoseInFrame },
  'foxglove.PosesInFrame': {
    kind: 'path',
    path: (m) => ({ frameId: str(m.frame_id), points: (Array.isArray(m.poses) ? m.poses : []).map((p) => toPoseInFrame({ pose: p }).pose.translation) }),
  },
  'foxglove.SceneUpdate': { kind: 'labels3d', boxes3d: toSceneUpdate },
  'foxglove.ImageAnnotations': { kind: 'labels2d', boxes2d: toImageBoxes },
  'sensor_msgs/Image': ros.image,
  'sensor_msgs/CompressedImage': ros.compressed,
  'sensor_msgs/PointCloud2': ros.cloud,
  'sensor_msgs/CameraInfo': ros.info,
  'tf2_msgs/TFMessage': ros.tf,
  'tf/tfMessage': ros.tf,
  'geometry_msgs/TransformStamped': ros.tf,
  'nav_msgs/Odometry': ros.odometry,
  'geometry_msgs/PoseStamped': ros.poseStamped,
  'nav_msgs/Path': ros.path,
  'vision_msgs/Detection2DArray': ros.det2d,
  'vision_msgs/Detection3DArray': ros.det3d,
  'visualization_msgs/MarkerArray': ros.markers,
};

/** 'sensor_msgs/msg/Image' (ROS 2) and 'sensor_msgs/Image' (ROS 1) share an adapter. */
export function adapterFor(schemaName: string): SchemaAdapter | undefined {
  return ADAPTERS[schemaName] ?? ADAPTERS[schemaName.replace('/msg/', '/')];
}

export type { PlainMessage, SceneBoxes };
