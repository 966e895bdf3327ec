// Schema v2: inference results. Adds run provenance and resume columns, the model's own class on
// detections, and compressed per-frame segmentation masks and lidar point labels.
export const version = 2;
export const name = 'inference';
export const sql = /* sql */ `
ALTER TABLE runs ADD COLUMN model_task TEXT;              -- detect2d | segment2d | segment3d | lidar-clusters
ALTER TABLE runs ADD COLUMN device TEXT;                  -- what was asked for: auto | gpu | cpu
ALTER TABLE runs ADD COLUMN params_key TEXT;              -- sha256 of the canonical params: finds the run to resume
ALTER TABLE runs ADD COLUMN owner_pid INTEGER;            -- process running it now (a dead owner means resumable)
ALTER TABLE runs ADD COLUMN owner_host TEXT;
ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
CREATE INDEX runs_resume ON runs(log_id, model_id, params_key);

ALTER TABLE run_frames ADD COLUMN frame_index INTEGER;
ALTER TABLE run_frames ADD COLUMN frame_stamp_ns TEXT;
ALTER TABLE run_frames ADD COLUMN detection_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_frames ADD COLUMN error TEXT;             -- the frame's data could not be used (unreadable image, ...)

ALTER TABLE detections ADD COLUMN model_class TEXT;       -- the model's own class (e.g. COCO 'motorcycle')
ALTER TABLE detections ADD COLUMN class_index INTEGER;

-- One mask per (run, frame, camera, output head), at source-image resolution, one class index per pixel.
CREATE TABLE segmentation_masks (
  id            INTEGER PRIMARY KEY,
  run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  frame_id      TEXT NOT NULL,
  sensor_id     TEXT NOT NULL,
  head          TEXT NOT NULL,
  classes_json  TEXT NOT NULL,
  width         INTEGER NOT NULL,
  height        INTEGER NOT NULL,
  encoding      TEXT NOT NULL,                              -- png-gray8: 8-bit greyscale PNG of class indices
  data          BLOB NOT NULL,
  UNIQUE (run_id, frame_id, sensor_id, head)
);

-- One label per lidar point of a sweep, in the sweep's point order.
CREATE TABLE point_labels (
  run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  frame_id      TEXT NOT NULL,
  sensor_id     TEXT NOT NULL,
  point_count   INTEGER NOT NULL,
  classes_json  TEXT NOT NULL,
  encoding      TEXT NOT NULL,                              -- deflate-u8: zlib deflate of a Uint8Array of class indices
  data          BLOB NOT NULL,
  PRIMARY KEY (run_id, frame_id, sensor_id)
) WITHOUT ROWID;
`;
