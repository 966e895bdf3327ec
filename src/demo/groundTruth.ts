// Ground truth straight from the scene description: 3D boxes in the ego frame and their exact
// 2D image rectangles (near-plane clipped projections of the box, clipped to the image).
import type { Box2D, Box3D } from '../logs/model.js';
import { worldToCameraFn } from './camera.js';
import { clipRectToImage, normalizeAngle, projectedBoxRect, uprightBoxCorners } from './geometry.js';
import type { DemoAgentBox, DemoScene } from './scene.js';

/**
 * Labelling range: agents whose box comes within this horizontal distance of the lidar (its
 * maximum range) are labelled; anything the lidar can hit is therefore labelled. The camera can
 * see further: agents beyond the range show up as unlabelled specks near the horizon.
 */
export const GT_RANGE_M = 100;

export interface GroundTruth {
  /** Boxes in base_link at tS. */
  boxes3dEgo: Box3D[];
  /** Boxes in pixels of the front camera, for the camera as of tS. */
  boxes2d: Box2D[];
}

/** Agents within the labelling range at tS (horizontal distance from the lidar to the box). */
export function inRange(scene: DemoScene, tS: number, agents: DemoAgentBox[]): DemoAgentBox[] {
  const e = scene.egoStateAt(tS);
  const c = Math.cos(e.yaw);
  const s = Math.sin(e.yaw);
  const [lx, ly] = scene.lidar.extrinsic.translation;
  const ox = e.x + c * lx - s * ly;
  const oy = e.y + s * lx + c * ly;
  return agents.filter((a) => {
    // Distance from the sensor to the box footprint, in the box frame.
    const ca = Math.cos(a.yaw);
    const sa = Math.sin(a.yaw);
    const dx = ox - a.center[0];
    const dy = oy - a.center[1];
    const u = Math.max(0, Math.abs(ca * dx + sa * dy) - a.size[0] / 2);
    const v = Math.max(0, Math.abs(-sa * dx + ca * dy) - a.size[1] / 2);
    return Math.hypot(u, v) <= GT_RANGE_M;
  });
}

export function boxes3dAt(scene: DemoScene, tS: number, agents: DemoAgentBox[] = scene.agentsAt(tS)): Box3D[] {
  const e = scene.egoStateAt(tS);
  const c = Math.cos(e.yaw);
  const s = Math.sin(e.yaw);
  return inRange(scene, tS, agents).map((a) => {
    const dx = a.center[0] - e.x;
    const dy = a.center[1] - e.y;
    const attributes: Record<string, string | number | boolean> = { moving: a.moving };
    if (a.trackId === scene.obstacleTrackId) attributes.role = 'obstacle';
    return {
      id: a.trackId,
      label: a.label,
      // The ground is flat and the ego has no pitch or roll, so z carries over unchanged.
      center: [c * dx + s * dy, -s * dx + c * dy, a.center[2]],
      size: [...a.size],
      yaw: normalizeAngle(a.yaw - e.yaw),
      trackId: a.trackId,
      attributes,
    };
  });
}

export function boxes2dAt(scene: DemoScene, tS: number, agents: DemoAgentBox[] = scene.agentsAt(tS)): Box2D[] {
  const toCam = worldToCameraFn(scene, scene.egoStateAt(tS));
  const { width, height } = scene.camera.pinhole;
  const out: Box2D[] = [];
  for (const a of inRange(scene, tS, agents)) {
    const corners = uprightBoxCorners(a).map(([x, y, z]) => toCam(x, y, z));
    const raw = projectedBoxRect(corners, scene.camera.pinhole);
    const rect = raw && clipRectToImage(raw, width, height);
    if (!rect) continue;
    out.push({ id: a.trackId, sensorId: scene.camera.sensorId, label: a.label, ...rect, trackId: a.trackId });
  }
  return out;
}

export function groundTruthAt(scene: DemoScene, tS: number): GroundTruth {
  const agents = scene.agentsAt(tS);
  return { boxes3dEgo: boxes3dAt(scene, tS, agents), boxes2d: boxes2dAt(scene, tS, agents) };
}
