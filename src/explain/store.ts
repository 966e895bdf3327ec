// Saliency maps in the workspace database (schema v6): one append-only row per cache key, written
// in one transaction with the audit event that records it. Inserting a key that is already stored
// keeps the first row (two requests racing for one map both end with the same row).
import { appendAudit } from '../store/audit.js';
import type { Db } from '../store/db.js';
import { TURBO_LIKE } from './colormaps.js';
import { canonicalJson, sha256Hex, SALIENCY_VERSION } from './key.js';
import type { SaliencyMap, SaliencyParamsRecord, SaliencySummary } from './model.js';

/** Every map of one detection shares this key: the cache key without the parameters. */
export function saliencyTargetKey(modelSha256: string, imageHash: string, target: { label: string; x1: number; y1: number; x2: number; y2: number }): string {
  const px = (v: number) => Math.round(v * 1000) / 1000;
  return sha256Hex(canonicalJson({ version: SALIENCY_VERSION, model: modelSha256, image: imageHash, target: { label: target.label, x1: px(target.x1), y1: px(target.y1), x2: px(target.x2), y2: px(target.y2) } }));
}

export interface NewSaliencyMap extends Omit<SaliencyMap, 'saliencyId' | 'createdAt' | 'createdBy' | 'cached' | 'colormap'> {
  cacheKey: string;
  targetKey: string;
  /** The box the model gave the target on the unoccluded image. */
  baselineBox: { x1: number; y1: number; x2: number; y2: number };
  softwareVersion: string;
}

interface SaliencyRow {
  id: number;
  run_id: number;
  detection_id: number;
  frame_id: string;
  sensor_id: string;
  model_id: string;
  model_sha256: string;
  image_sha256: string;
  target_json: string;
  params_json: string;
  peak_json: string;
  window_json: string;
  baseline_score: number;
  source_width: number;
  source_height: number;
  passes: number;
  compute_ms: number;
  backend: string;
  created_at: string;
  created_by: string;
}

interface SaliencyFullRow extends SaliencyRow {
  grid_width: number;
  grid_height: number;
  cell_size: number;
  grid_values: Buffer;
  heatmap_png: Buffer;
}

const SUMMARY_COLUMNS = `id, run_id, detection_id, frame_id, sensor_id, model_id, model_sha256, image_sha256, target_json, params_json,
  peak_json, window_json, baseline_score, source_width, source_height, passes, compute_ms, backend, created_at, created_by`;

const summaryFromRow = (r: SaliencyRow): SaliencySummary => ({
  saliencyId: r.id,
  runId: r.run_id,
  detectionId: r.detection_id,
  frameId: r.frame_id,
  sensorId: r.sensor_id,
  modelId: r.model_id,
  modelSha256: r.model_sha256,
  imageSha256: r.image_sha256,
  target: JSON.parse(r.target_json) as SaliencySummary['target'],
  params: JSON.parse(r.params_json) as SaliencyParamsRecord,
  peak: JSON.parse(r.peak_json) as SaliencySummary['peak'],
  window: JSON.parse(r.window_json) as SaliencySummary['window'],
  baselineScore: r.baseline_score,
  sourceWidth: r.source_width,
  sourceHeight: r.source_height,
  passes: r.passes,
  computeMs: r.compute_ms,
  backend: r.backend,
  createdAt: r.created_at,
  createdBy: r.created_by,
});

function mapFromRow(r: SaliencyFullRow, cached: boolean): SaliencyMap {
  // Copy the blob into an aligned buffer: a Float32Array view needs 4-byte alignment.
  const bytes = new Uint8Array(r.grid_values.byteLength);
  bytes.set(r.grid_values);
  return {
    ...summaryFromRow(r),
    grid: { width: r.grid_width, height: r.grid_height, cellSize: r.cell_size, values: new Float32Array(bytes.buffer, 0, r.grid_width * r.grid_height) },
    heatmapPng: new Uint8Array(r.heatmap_png.buffer, r.heatmap_png.byteOffset, r.heatmap_png.byteLength),
    // The service renders every heatmap with the turbo-like map (worker.ts).
    colormap: { name: 'turbo', stops: TURBO_LIKE.map(([r, g, b]) => [r, g, b] as [number, number, number]) },
    cached,
  };
}

/** Stores a map with its audit event; returns the stored row's id (the existing one when the key is already there). */
export function insertSaliencyMap(db: Db, map: NewSaliencyMap, actor: string): { saliencyId: number; inserted: boolean } {
  return db.transaction(() => {
    const existing = db.prepare('SELECT id FROM saliency_maps WHERE cache_key = ?').pluck().get(map.cacheKey) as number | undefined;
    if (existing !== undefined) return { saliencyId: existing, inserted: false };
    const seq = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'saliency_maps'").pluck().get() as number | undefined;
    const id = (seq ?? 0) + 1;
    const now = new Date().toISOString();
    const values = map.grid.values;
    const event = appendAudit(db, {
      actor,
      action: 'saliency.compute',
      entityType: 'saliency_map',
      entityId: String(id),
      at: now,
      payload: {
        runId: map.runId,
        detectionId: map.detectionId,
        frameId: map.frameId,
        sensorId: map.sensorId,
        modelSha256: map.modelSha256,
        imageSha256: map.imageSha256,
        cacheKey: map.cacheKey,
        params: map.params,
        gridSha256: sha256Hex(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)),
        heatmapSha256: sha256Hex(map.heatmapPng),
        backend: map.backend,
        softwareVersion: map.softwareVersion,
      },
    });
    db.prepare(
      `INSERT INTO saliency_maps (id, cache_key, target_key, run_id, detection_id, frame_id, sensor_id, model_id, model_sha256, image_sha256,
         target_json, params_json, grid_width, grid_height, cell_size, grid_values, peak_json, window_json, baseline_score, baseline_box_json,
         source_width, source_height, heatmap_png, passes, compute_ms, backend, software_version, created_at, created_by, audit_seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id,
      map.cacheKey,
      map.targetKey,
      map.runId,
      map.detectionId,
      map.frameId,
      map.sensorId,
      map.modelId,
      map.modelSha256,
      map.imageSha256,
      canonicalJson({ ...map.target }),
      canonicalJson({ ...map.params }),
      map.grid.width,
      map.grid.height,
      map.grid.cellSize,
      Buffer.from(values.buffer, values.byteOffset, values.byteLength),
      JSON.stringify(map.peak),
      JSON.stringify(map.window),
      map.baselineScore,
      JSON.stringify(map.baselineBox),
      map.sourceWidth,
      map.sourceHeight,
      Buffer.from(map.heatmapPng.buffer, map.heatmapPng.byteOffset, map.heatmapPng.byteLength),
      map.passes,
      map.computeMs,
      map.backend,
      map.softwareVersion,
      now,
      actor,
      event.seq,
    );
    return { saliencyId: id, inserted: true };
  })();
}

const FULL_SELECT = `SELECT ${SUMMARY_COLUMNS}, grid_width, grid_height, cell_size, grid_values, heatmap_png FROM saliency_maps`;

export function getSaliencyByKey(db: Db, cacheKey: string, cached: boolean): SaliencyMap | null {
  const row = db.prepare(`${FULL_SELECT} WHERE cache_key = ?`).get(cacheKey) as SaliencyFullRow | undefined;
  return row ? mapFromRow(row, cached) : null;
}

export function getSaliencyById(db: Db, saliencyId: number): SaliencyMap | null {
  const row = db.prepare(`${FULL_SELECT} WHERE id = ?`).get(saliencyId) as SaliencyFullRow | undefined;
  return row ? mapFromRow(row, true) : null;
}

/** The newest map of a target (any parameters). */
export function latestSaliencyOfTarget(db: Db, targetKey: string): SaliencyMap | null {
  const row = db.prepare(`${FULL_SELECT} WHERE target_key = ? ORDER BY id DESC LIMIT 1`).get(targetKey) as SaliencyFullRow | undefined;
  return row ? mapFromRow(row, true) : null;
}

export function listSaliencyOfTarget(db: Db, targetKey: string): SaliencySummary[] {
  return (db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM saliency_maps WHERE target_key = ? ORDER BY id DESC`).all(targetKey) as SaliencyRow[]).map(summaryFromRow);
}

export function countSaliencyMaps(db: Db): number {
  return db.prepare('SELECT count(*) FROM saliency_maps').pluck().get() as number;
}
