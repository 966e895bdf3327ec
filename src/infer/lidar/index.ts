// Model-free lidar perception: ground segmentation -> Euclidean clustering -> oriented boxes, and
// camera-lidar fusion for 2D detections. Typed arrays in, typed arrays out; meant to run per sweep
// inside a worker thread (scratch buffers are per module instance, i.e. per thread).
import type { Box3D } from '../../logs/model.js';
import { clustersToBoxes, type BoxFittingOptions } from './boxFitting.js';
import { clusterPoints, type Clustering, type ClusteringOptions } from './clustering.js';
import { segmentGround, type GroundSegmentation, type GroundSegmentationOptions } from './groundSegmentation.js';

export * from './boxFitting.js';
export * from './clustering.js';
export * from './fusion.js';
export * from './groundSegmentation.js';

export interface LidarObstacleOptions {
  ground?: GroundSegmentationOptions;
  clustering?: ClusteringOptions;
  boxes?: BoxFittingOptions;
}

export interface LidarObstacles {
  ground: GroundSegmentation;
  clustering: Clustering;
  boxes: Box3D[];
  /** Milliseconds spent in each stage. */
  timings: { groundMs: number; clusteringMs: number; boxesMs: number };
}

/** Runs the whole baseline detector on one sweep (positions: xyz interleaved, sensor frame). */
export function detectLidarObstacles(positions: Float32Array, count: number, options: LidarObstacleOptions = {}): LidarObstacles {
  const t0 = performance.now();
  const ground = segmentGround(positions, count, options.ground);
  const t1 = performance.now();
  const sensorHeight = options.ground?.sensorHeight;
  const clustering = clusterPoints(
    positions,
    count,
    { groundLabels: ground.labels, heights: ground.heights },
    { ...(sensorHeight !== undefined ? { sensorHeight } : {}), ...options.clustering },
  );
  const t2 = performance.now();
  const boxes = clustersToBoxes(positions, clustering, options.boxes);
  const t3 = performance.now();
  return { ground, clustering, boxes, timings: { groundMs: t1 - t0, clusteringMs: t2 - t1, boxesMs: t3 - t2 } };
}

/**
 * Copies xyz out of interleaved float32 records (KITTI .bin: stride 4 = x, y, z, reflectance;
 * nuScenes .pcd.bin: stride 5). Returns the positions and each extra field as its own array.
 */
export function positionsFromRecords(records: Float32Array, stride: number): { positions: Float32Array; count: number; extras: Float32Array[] } {
  if (!Number.isInteger(stride) || stride < 3) throw new RangeError(`lidar records: stride must be an integer >= 3 (got ${stride})`);
  const count = Math.floor(records.length / stride);
  const positions = new Float32Array(count * 3);
  const extras = Array.from({ length: stride - 3 }, () => new Float32Array(count));
  for (let i = 0; i < count; i++) {
    const r = i * stride;
    positions[3 * i] = records[r]!;
    positions[3 * i + 1] = records[r + 1]!;
    positions[3 * i + 2] = records[r + 2]!;
    for (let e = 0; e < extras.length; e++) extras[e]![i] = records[r + 3 + e]!;
  }
  return { positions, count, extras };
}
