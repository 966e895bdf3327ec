// KITTI label lines (object label_2: 15 columns + optional score; tracking label_02: frame and
// track id first) -> Box3D in the ego (velodyne) frame and Box2D on the left colour camera.
import type { Box2D, Box3D, Vec3 } from '../model.js';
import { mat4ApplyDirection, mat4ApplyPoint, type Mat4 } from './calib.js';

export interface KittiLabel {
  /** 1-based line number in its file. */
  line: number;
  /** Tracking only. */
  frame?: number;
  trackId?: number;
  type: string;
  truncated: number;
  occluded: number;
  alpha: number;
  bbox: [number, number, number, number];
  /** h, w, l in metres. */
  dims: [number, number, number];
  /** Bottom-centre in the rectified cam-0 frame. */
  location: Vec3;
  rotationY: number;
  score?: number;
}

export const DONT_CARE = 'DontCare';

/** Column of the object type: tracking lines start with frame and track id. */
const typeColumn = (tracking: boolean): number => (tracking ? 2 : 0);

/** Non-DontCare label lines and distinct labelled frames, counted without parsing numbers (cheap at open). */
export function countLabels(text: string, tracking: boolean): { boxes: number; frames: number } {
  let boxes = 0;
  const frames = new Set<string>();
  const col = typeColumn(tracking);
  for (const line of text.split('\n')) {
    const tokens = line.trim().split(/\s+/);
    if (tokens.length <= col || !tokens[col]) continue;
    frames.add(tracking ? tokens[0]! : '');
    if (tokens[col] !== DONT_CARE) boxes++;
  }
  return { boxes, frames: frames.size };
}

/** Parses every line; malformed lines become warnings naming the file and line and are skipped. */
export function parseLabels(text: string, path: string, tracking: boolean): { labels: KittiLabel[]; warnings: string[] } {
  const labels: KittiLabel[] = [];
  const warnings: string[] = [];
  const lead = tracking ? 2 : 0;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (!raw) continue;
    const tokens = raw.split(/\s+/);
    const expected = lead + 15;
    if (tokens.length !== expected && tokens.length !== expected + 1) {
      warnings.push(`${path} line ${i + 1}: expected ${expected} or ${expected + 1} columns, got ${tokens.length}; skipped`);
      continue;
    }
    const nums = tokens.map((t, c) => (c === lead ? 0 : Number(t)));
    const bad = nums.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      warnings.push(`${path} line ${i + 1}: column ${bad + 1} ('${tokens[bad]}') is not a number; skipped`);
      continue;
    }
    const n = (k: number) => nums[lead + k]!;
    labels.push({
      line: i + 1,
      frame: tracking ? nums[0] : undefined,
      trackId: tracking ? nums[1] : undefined,
      type: tokens[lead]!,
      truncated: n(1),
      occluded: n(2),
      alpha: n(3),
      bbox: [n(4), n(5), n(6), n(7)],
      dims: [n(8), n(9), n(10)],
      location: [n(11), n(12), n(13)],
      rotationY: n(14),
      score: tokens.length === expected + 1 ? n(15) : undefined,
    });
  }
  return { labels, warnings };
}

/**
 * Boxes for one frame. `egoFromCam` (ego <- rectified cam-0) places the 3D boxes; without it only
 * the 2D boxes come back. The 3D centre is the label's bottom centre raised by h/2 (camera y points
 * down), and the yaw is the box's length axis (camera (cos ry, 0, -sin ry)) mapped into the ego frame,
 * which is −ry − π/2 up to the small camera/velodyne misalignment.
 */
export function labelsToBoxes(
  labels: readonly KittiLabel[],
  frameName: string,
  sensorId: string,
  egoFromCam: Mat4 | undefined,
): { labels3d: Box3D[]; labels2d: Box2D[] } {
  const labels3d: Box3D[] = [];
  const labels2d: Box2D[] = [];
  for (const label of labels) {
    const id = `${frameName}:${label.line}`;
    const trackId = label.trackId !== undefined && label.trackId >= 0 ? String(label.trackId) : undefined;
    const [x1, y1, x2, y2] = label.bbox;
    const ignore = label.type === DONT_CARE;
    labels2d.push({
      id,
      sensorId,
      label: label.type,
      x1,
      y1,
      x2,
      y2,
      ...(trackId !== undefined ? { trackId } : {}),
      ...(label.score !== undefined ? { score: label.score } : {}),
      ...(ignore ? { ignore: true } : {}),
    });
    if (ignore || !egoFromCam) continue;
    const [h, w, l] = label.dims;
    const [x, y, z] = label.location;
    const center = mat4ApplyPoint(egoFromCam, [x, y - h / 2, z]);
    const heading = mat4ApplyDirection(egoFromCam, [Math.cos(label.rotationY), 0, -Math.sin(label.rotationY)]);
    const attributes: Record<string, number> = { truncated: label.truncated, occluded: label.occluded, alpha: label.alpha };
    if (label.score !== undefined) attributes.score = label.score;
    labels3d.push({
      id,
      label: label.type,
      center,
      size: [l, w, h],
      yaw: Math.atan2(heading[1], heading[0]),
      ...(trackId !== undefined ? { trackId } : {}),
      ...(label.score !== undefined ? { score: label.score } : {}),
      attributes,
    });
  }
  return { labels3d, labels2d };
}
