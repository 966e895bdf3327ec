// The built-in demo drive: a deterministic synthetic scene (road, traffic, pedestrians, scenery),
// a ray-cast front camera and 64-beam lidar, exact ground truth, written as an indexed MCAP file.
export {
  createDemoScene,
  CAMERA_FRAME,
  CAMERA_SENSOR_ID,
  DEFAULT_OPTIONS,
  DEMO_GENERATOR_VERSION,
  DEMO_START_NS,
  EGO_FRAME,
  LIDAR_FRAME,
  LIDAR_SENSOR_ID,
  WORLD_FRAME,
  type DemoAgentBox,
  type DemoCamera,
  type DemoLidar,
  type DemoOptions,
  type DemoProgress,
  type DemoScene,
  type EgoState,
} from './scene.js';
export { renderCamera, type CameraRender, type RenderOptions } from './camera.js';
export { castLidar, columnAzimuth, type CastOptions, type LidarSweep } from './lidar.js';
export { boxes2dAt, boxes3dAt, groundTruthAt, GT_RANGE_M, type GroundTruth } from './groundTruth.js';
export { CLASS_COLORS, DEMO_METADATA_NAME, DEMO_TOPICS, FileWritable, writeDemoLog } from './writer.js';
export { JPEG_QUALITY, POINT_STRIDE, frameTimes, packPoints, renderFrame, type RenderedFrame } from './frames.js';
export { NO_HIT, TERRAIN_ID, raycast, snapshotAt, type RayHit, type WorldSnapshot } from './world.js';
export { STATIC_ID_BASE, OBSTACLE_S, CROSSWALK_S, type AgentDef, type AgentRole, type DemoClass } from './scenario.js';
export { Surface } from './road.js';
export { Material } from './materials.js';
