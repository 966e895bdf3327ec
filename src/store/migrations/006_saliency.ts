// Schema v6: the saliency cache. One row per occlusion-sensitivity map, keyed by what determines it
// (model sha256, image content hash, target box and class, parameters: src/explain/key.ts), with the
// resolved parameters, the score-drop grid (little-endian float32) and the heatmap PNG. Maps are
// evidence like the runs they explain: append-only, each recorded by an audit event.
export const version = 6;
export const name = 'saliency';
export const sql = /* sql */ `
CREATE TABLE saliency_maps (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  cache_key         TEXT NOT NULL UNIQUE,            -- saliencyKey(model, image, target, params)
  target_key        TEXT NOT NULL,                   -- the same without params: every map of one detection
  run_id            INTEGER NOT NULL REFERENCES runs(id),
  detection_id      INTEGER NOT NULL,                -- the detection it was requested for
  frame_id          TEXT NOT NULL,
  sensor_id         TEXT NOT NULL,
  model_id          TEXT NOT NULL,
  model_sha256      TEXT NOT NULL,
  image_sha256      TEXT NOT NULL,
  target_json       TEXT NOT NULL,                   -- {label, x1, y1, x2, y2, score}
  params_json       TEXT NOT NULL,                   -- resolved SaliencyParams
  grid_width        INTEGER NOT NULL,
  grid_height       INTEGER NOT NULL,
  cell_size         INTEGER NOT NULL,
  grid_values       BLOB NOT NULL,                   -- float32 LE, grid_width * grid_height
  peak_json         TEXT NOT NULL,
  window_json       TEXT NOT NULL,
  baseline_score    REAL NOT NULL,
  baseline_box_json TEXT NOT NULL,
  source_width      INTEGER NOT NULL,
  source_height     INTEGER NOT NULL,
  heatmap_png       BLOB NOT NULL,
  passes            INTEGER NOT NULL,
  compute_ms        REAL NOT NULL,
  backend           TEXT NOT NULL,
  software_version  TEXT NOT NULL,
  created_at        TEXT NOT NULL,
  created_by        TEXT NOT NULL,
  audit_seq         INTEGER NOT NULL
);
CREATE INDEX saliency_maps_target ON saliency_maps(target_key, id);
CREATE INDEX saliency_maps_run_detection ON saliency_maps(run_id, detection_id, id);

CREATE TRIGGER saliency_maps_no_update BEFORE UPDATE ON saliency_maps BEGIN SELECT RAISE(ABORT, 'saliency_maps is append-only'); END;
CREATE TRIGGER saliency_maps_no_delete BEFORE DELETE ON saliency_maps BEGIN SELECT RAISE(ABORT, 'saliency_maps is append-only'); END;
`;
