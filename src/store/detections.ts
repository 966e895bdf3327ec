// The detections aggregate: per-frame results of a run (boxes, masks, point labels). A frame's
// results and its run_frames row are committed in one transaction, so a frame is either wholly
// stored or absent, and a resumed run never writes it twice.
import { inflateSync } from 'node:zlib';
import type { Db } from './db.js';

export interface Box3DValue {
  cx: number;
  cy: number;
  cz: number;
  length: number;
  width: number;
  height: number;
  yaw: number;
}

export interface DetectionInput {
  sensorId: string;
  /** Driving class after the class map (car, pedestrian, ...). */
  label: string;
  /** The model's own class name. */
  modelClass: string;
  classIndex: number;
  score: number;
  /** 2D box in source-image pixels; absent for lidar-only detections. */
  box2d?: { x1: number; y1: number; x2: number; y2: number };
  /** 3D box in the ego frame. */
  box3d?: Box3DValue;
  trackId?: string;
}

export interface MaskInput {
  sensorId: string;
  head: string;
  classes: string[];
  width: number;
  height: number;
  encoding: 'png-gray8';
  data: Uint8Array;
}

export interface PointLabelsInput {
  sensorId: string;
  pointCount: number;
  classes: string[];
  encoding: 'deflate-u8';
  data: Uint8Array;
}

export interface FrameResult {
  frameId: string;
  frameIndex: number;
  stampNs: string;
  detections: DetectionInput[];
  masks: MaskInput[];
  pointLabels: PointLabelsInput[];
  /** Set when the frame's data could not be used: the frame counts as done, with no results. */
  error?: string;
}

export interface FrameWriter {
  /** Commits the frames in one transaction; returns how many were new (already stored frames are skipped). */
  write(frames: readonly FrameResult[]): number;
  /** Detection rows inserted by this writer. */
  readonly detectionsWritten: number;
}

export function createFrameWriter(db: Db, run: { id: number; logId: string }): FrameWriter {
  const claimFrame = db.prepare(
    'INSERT OR IGNORE INTO run_frames (run_id, frame_id, completed_at, frame_index, frame_stamp_ns, detection_count, error) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  // Most rows are camera boxes: binding only their columns is measurably faster than binding nulls.
  const insertBox2d = db.prepare(
    `INSERT INTO detections (run_id, log_id, frame_id, frame_stamp_ns, sensor_id, class, score, x1, y1, x2, y2, track_id, model_class, class_index)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertDetection = db.prepare(
    `INSERT INTO detections (run_id, log_id, frame_id, frame_stamp_ns, sensor_id, class, score, x1, y1, x2, y2,
                             cx, cy, cz, length, width, height, yaw, track_id, model_class, class_index)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertMask = db.prepare(
    `INSERT INTO segmentation_masks (run_id, frame_id, sensor_id, head, classes_json, width, height, encoding, data)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertPointLabels = db.prepare(
    `INSERT INTO point_labels (run_id, frame_id, sensor_id, point_count, classes_json, encoding, data) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  // Counted from run_frames once, then kept in step: a count per transaction would grow with the run.
  const recount = db.prepare('UPDATE runs SET frames_done = (SELECT count(*) FROM run_frames WHERE run_id = ?) WHERE id = ?');
  const advance = db.prepare('UPDATE runs SET frames_done = frames_done + ?, heartbeat_at = ? WHERE id = ?');
  recount.run(run.id, run.id);
  let detectionsWritten = 0;
  const writeAll = db.transaction((frames: readonly FrameResult[]) => {
    const now = new Date().toISOString();
    let added = 0;
    for (const f of frames) {
      if (claimFrame.run(run.id, f.frameId, now, f.frameIndex, f.stampNs, f.detections.length, f.error ?? null).changes === 0) continue;
      added++;
      for (const d of f.detections) {
        const b = d.box2d;
        const c = d.box3d;
        if (b && !c) {
          insertBox2d.run(run.id, run.logId, f.frameId, f.stampNs, d.sensorId, d.label, d.score, b.x1, b.y1, b.x2, b.y2, d.trackId ?? null, d.modelClass, d.classIndex);
          continue;
        }
        insertDetection.run(
          run.id, run.logId, f.frameId, f.stampNs, d.sensorId, d.label, d.score,
          b?.x1 ?? null, b?.y1 ?? null, b?.x2 ?? null, b?.y2 ?? null,
          c?.cx ?? null, c?.cy ?? null, c?.cz ?? null, c?.length ?? null, c?.width ?? null, c?.height ?? null, c?.yaw ?? null,
          d.trackId ?? null, d.modelClass, d.classIndex,
        );
      }
      detectionsWritten += f.detections.length;
      for (const m of f.masks) {
        insertMask.run(run.id, f.frameId, m.sensorId, m.head, JSON.stringify(m.classes), m.width, m.height, m.encoding, m.data);
      }
      for (const p of f.pointLabels) {
        insertPointLabels.run(run.id, f.frameId, p.sensorId, p.pointCount, JSON.stringify(p.classes), p.encoding, p.data);
      }
    }
    advance.run(added, now, run.id);
    return added;
  });
  return {
    write: (frames) => (frames.length ? writeAll.immediate(frames) : 0),
    get detectionsWritten() {
      return detectionsWritten;
    },
  };
}

export interface DetectionRecord {
  id: number;
  runId: number;
  frameId: string;
  frameIndex: number | null;
  frameStampNs: string;
  sensorId: string;
  class: string;
  modelClass: string | null;
  classIndex: number | null;
  score: number;
  /** [x1, y1, x2, y2] in pixels, or null for lidar-only detections. */
  box2d: [number, number, number, number] | null;
  box3d: Box3DValue | null;
  trackId: string | null;
}

interface DetectionRow {
  id: number;
  run_id: number;
  frame_id: string;
  frame_index: number | null;
  frame_stamp_ns: string;
  sensor_id: string;
  class: string;
  model_class: string | null;
  class_index: number | null;
  score: number;
  x1: number | null;
  y1: number | null;
  x2: number | null;
  y2: number | null;
  cx: number | null;
  cy: number | null;
  cz: number | null;
  length: number | null;
  width: number | null;
  height: number | null;
  yaw: number | null;
  track_id: string | null;
}

const detectionFromRow = (r: DetectionRow): DetectionRecord => ({
  id: r.id,
  runId: r.run_id,
  frameId: r.frame_id,
  frameIndex: r.frame_index,
  frameStampNs: r.frame_stamp_ns,
  sensorId: r.sensor_id,
  class: r.class,
  modelClass: r.model_class,
  classIndex: r.class_index,
  score: r.score,
  box2d: r.x1 === null || r.y1 === null || r.x2 === null || r.y2 === null ? null : [r.x1, r.y1, r.x2, r.y2],
  box3d:
    r.cx === null || r.cy === null || r.cz === null || r.length === null || r.width === null || r.height === null
      ? null
      : { cx: r.cx, cy: r.cy, cz: r.cz, length: r.length, width: r.width, height: r.height, yaw: r.yaw ?? 0 },
  trackId: r.track_id,
});

const DETECTION_SELECT = `
  SELECT d.id, d.run_id, d.frame_id, f.frame_index, d.frame_stamp_ns, d.sensor_id, d.class, d.model_class, d.class_index, d.score,
         d.x1, d.y1, d.x2, d.y2, d.cx, d.cy, d.cz, d.length, d.width, d.height, d.yaw, d.track_id
  FROM detections d LEFT JOIN run_frames f ON f.run_id = d.run_id AND f.frame_id = d.frame_id`;

/** A run's detections in frame order, then in the order the model produced them. */
export function listDetections(db: Db, runId: number, filter: { frameId?: string } = {}): DetectionRecord[] {
  const rows = filter.frameId
    ? (db.prepare(`${DETECTION_SELECT} WHERE d.run_id = ? AND d.frame_id = ? ORDER BY d.id`).all(runId, filter.frameId) as DetectionRow[])
    : (db.prepare(`${DETECTION_SELECT} WHERE d.run_id = ? ORDER BY f.frame_index, d.frame_stamp_ns, d.sensor_id, d.id`).all(runId) as DetectionRow[]);
  return rows.map(detectionFromRow);
}

export interface RunFrameRecord {
  frameId: string;
  frameIndex: number | null;
  frameStampNs: string | null;
  detectionCount: number;
  completedAt: string;
  error: string | null;
}

export function listRunFrames(db: Db, runId: number): RunFrameRecord[] {
  const rows = db
    .prepare('SELECT frame_id, frame_index, frame_stamp_ns, detection_count, completed_at, error FROM run_frames WHERE run_id = ? ORDER BY frame_index, frame_id')
    .all(runId) as { frame_id: string; frame_index: number | null; frame_stamp_ns: string | null; detection_count: number; completed_at: string; error: string | null }[];
  return rows.map((r) => ({
    frameId: r.frame_id,
    frameIndex: r.frame_index,
    frameStampNs: r.frame_stamp_ns,
    detectionCount: r.detection_count,
    completedAt: r.completed_at,
    error: r.error,
  }));
}

export function getRunFrame(db: Db, runId: number, frameId: string): RunFrameRecord | undefined {
  const r = db
    .prepare('SELECT frame_id, frame_index, frame_stamp_ns, detection_count, completed_at, error FROM run_frames WHERE run_id = ? AND frame_id = ?')
    .get(runId, frameId) as { frame_id: string; frame_index: number | null; frame_stamp_ns: string | null; detection_count: number; completed_at: string; error: string | null } | undefined;
  return r && { frameId: r.frame_id, frameIndex: r.frame_index, frameStampNs: r.frame_stamp_ns, detectionCount: r.detection_count, completedAt: r.completed_at, error: r.error };
}

export interface MaskRecord {
  frameId: string;
  sensorId: string;
  head: string;
  classes: string[];
  width: number;
  height: number;
  encoding: string;
  /** The encoded mask (png-gray8: a greyscale PNG whose pixel values are class indices). */
  data: Uint8Array;
}

export function listMasks(db: Db, runId: number, frameId: string): MaskRecord[] {
  const rows = db
    .prepare('SELECT frame_id, sensor_id, head, classes_json, width, height, encoding, data FROM segmentation_masks WHERE run_id = ? AND frame_id = ? ORDER BY sensor_id, head')
    .all(runId, frameId) as { frame_id: string; sensor_id: string; head: string; classes_json: string; width: number; height: number; encoding: string; data: Buffer }[];
  return rows.map((r) => ({
    frameId: r.frame_id,
    sensorId: r.sensor_id,
    head: r.head,
    classes: JSON.parse(r.classes_json) as string[],
    width: r.width,
    height: r.height,
    encoding: r.encoding,
    data: new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength),
  }));
}

export interface PointLabelsRecord {
  frameId: string;
  sensorId: string;
  classes: string[];
  /** One class index per point of the sweep (decompressed). */
  labels: Uint8Array;
}

export function listPointLabels(db: Db, runId: number, frameId: string): PointLabelsRecord[] {
  const rows = db
    .prepare('SELECT frame_id, sensor_id, point_count, classes_json, encoding, data FROM point_labels WHERE run_id = ? AND frame_id = ? ORDER BY sensor_id')
    .all(runId, frameId) as { frame_id: string; sensor_id: string; point_count: number; classes_json: string; encoding: string; data: Buffer }[];
  return rows.map((r) => {
    if (r.encoding !== 'deflate-u8') throw new Error(`Point labels of run ${runId} frame ${frameId} use an unknown encoding '${r.encoding}'`);
    const raw = inflateSync(r.data);
    return {
      frameId: r.frame_id,
      sensorId: r.sensor_id,
      classes: JSON.parse(r.classes_json) as string[],
      labels: new Uint8Array(raw.buffer, raw.byteOffset, r.point_count),
    };
  });
}

export function countDetections(db: Db, runId: number): number {
  return db.prepare('SELECT count(*) FROM detections WHERE run_id = ?').pluck().get(runId) as number;
}
