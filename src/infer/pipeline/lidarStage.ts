// Lidar stage (worker side): ground segmentation, clustering and box fitting on one sweep; with the
// frame's camera detections, fusion gives each of them a 3D box from the points in its frustum.
// Boxes move into the ego frame; the per-point labels (other / ground / obstacle) are deflated.
import { deflateSync } from 'node:zlib';
import type { Pose, Vec3 } from '../../logs/model.js';
import { applyPose, composePoses, invertPose, rotateVector } from '../../logs/transforms.js';
import { detectLidarObstacles, fuseDetectionsWithLidar } from '../lidar/index.js';
import { ownedView, transferList, type FusedBox, type LidarBox, type LidarJob, type LidarResult, type StageSpec } from './protocol.js';
import type { StageHandler } from './stages.js';

const GROUND = 1;
const OBSTACLE = 2;

/** A box in the sweep's frame, moved into the ego frame (yaw follows the box heading). */
function toEgo(egoFromLidar: Pose, box: { label: string; score?: number; center: Vec3; size: Vec3; yaw: number }): LidarBox {
  const heading = rotateVector(egoFromLidar.rotation, [Math.cos(box.yaw), Math.sin(box.yaw), 0]);
  return { label: box.label, score: box.score ?? 1, center: applyPose(egoFromLidar, box.center), size: box.size, yaw: Math.atan2(heading[1], heading[0]) };
}

export function buildLidarStage(spec: Extract<StageSpec, { kind: 'lidar' }>): StageHandler {
  return {
    info: { engine: 'builtin', backend: 'builtin:cpu', maxBatch: 1 },
    async handle(job) {
      const { sweep, cameras = [] } = job as LidarJob;
      // Mounting height from the extrinsic when the ego origin is on the ground; else the detector's default.
      const mountZ = sweep.extrinsic.translation[2];
      const ground = mountZ > 0.3 && mountZ < 4 ? { sensorHeight: mountZ } : undefined;
      const found = detectLidarObstacles(sweep.positions, sweep.count, { ground });
      const labels = new Uint8Array(sweep.count);
      const groundLabels = found.ground.labels;
      const clusterIds = found.clustering.clusterIds;
      for (let i = 0; i < sweep.count; i++) labels[i] = clusterIds[i]! >= 0 ? OBSTACLE : groundLabels[i] === 1 ? GROUND : 0;

      const fused: FusedBox[] = [];
      const lidarFromEgo = invertPose(sweep.extrinsic);
      for (const camera of cameras) {
        if (!camera.detections.length) continue;
        const estimates = fuseDetectionsWithLidar(
          camera.detections,
          sweep.positions,
          sweep.count,
          { intrinsics: camera.intrinsics, extrinsic: composePoses(lidarFromEgo, camera.extrinsic) },
          { groundLabels, clustering: found.clustering, clusterBoxes: found.boxes },
        );
        estimates.forEach((e, index) => {
          if (e.box) fused.push({ sensorId: camera.sensorId, index, method: e.method, box: toEgo(sweep.extrinsic, e.box) });
        });
      }

      const packed = deflateSync(labels);
      const result: LidarResult = {
        boxes: found.boxes.map((b) => toEgo(sweep.extrinsic, b)),
        fused,
        pointCount: sweep.count,
        classes: spec.params.classes,
        labels: ownedView(new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength)),
      };
      return { result, transfer: transferList([result.labels]) };
    },
    close: async () => undefined,
  };
}
