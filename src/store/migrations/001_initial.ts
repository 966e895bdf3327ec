// Schema v1. Later migrations add tables/columns; never edit a shipped migration.
export const version = 1;
export const name = 'initial';
export const sql = /* sql */ `
CREATE TABLE logs (
  id              TEXT PRIMARY KEY,          -- derived from the content fingerprint
  path            TEXT NOT NULL,
  name            TEXT NOT NULL,
  format          TEXT NOT NULL,
  size_bytes      INTEGER NOT NULL,
  fingerprint     TEXT NOT NULL,             -- sha256(size, head MiB, tail MiB)
  sha256          TEXT,                      -- full-content hash, filled in the background
  frame_count     INTEGER,
  duration_s      REAL,
  registered_at   TEXT NOT NULL,
  last_opened_at  TEXT
);
CREATE INDEX logs_path ON logs(path);

CREATE TABLE runs (
  id                  INTEGER PRIMARY KEY,
  name                TEXT NOT NULL,
  log_id              TEXT NOT NULL REFERENCES logs(id),
  kind                TEXT NOT NULL DEFAULT 'inference',   -- inference | import
  model_id            TEXT,
  model_sha256        TEXT,
  backend             TEXT,                  -- onnxruntime | tfjs | builtin
  execution_provider  TEXT,                  -- cuda | tensorrt | webgpu | cpu | wasm ...
  params_json         TEXT NOT NULL DEFAULT '{}',
  software_version    TEXT NOT NULL,
  status              TEXT NOT NULL CHECK (status IN ('pending','running','done','failed','cancelled')),
  created_at          TEXT NOT NULL,
  started_at          TEXT,
  finished_at         TEXT,
  frames_total        INTEGER,
  frames_done         INTEGER NOT NULL DEFAULT 0,
  frames_per_s        REAL,
  timings_json        TEXT NOT NULL DEFAULT '{}',
  error               TEXT
);
CREATE INDEX runs_log ON runs(log_id);

-- Which frames a run has finished: the resume key, written in the same transaction as the frame's detections.
CREATE TABLE run_frames (
  run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  frame_id     TEXT NOT NULL,
  completed_at TEXT NOT NULL,
  PRIMARY KEY (run_id, frame_id)
) WITHOUT ROWID;

CREATE TABLE detections (
  id              INTEGER PRIMARY KEY,
  run_id          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  log_id          TEXT NOT NULL REFERENCES logs(id),
  frame_id        TEXT NOT NULL,
  frame_stamp_ns  TEXT NOT NULL,
  sensor_id       TEXT NOT NULL,
  class           TEXT NOT NULL,
  score           REAL NOT NULL,
  x1 REAL, y1 REAL, x2 REAL, y2 REAL,        -- 2D box in pixels (nullable for lidar-only detections)
  cx REAL, cy REAL, cz REAL,                 -- optional 3D box, ego frame
  length REAL, width REAL, height REAL, yaw REAL,
  track_id        TEXT,
  mask_ref        TEXT                       -- reference into a mask table/blob added by later migrations
);
CREATE INDEX detections_run_frame ON detections(run_id, frame_id);
CREATE INDEX detections_log_frame ON detections(log_id, frame_id);

CREATE TABLE label_sets (
  id             INTEGER PRIMARY KEY,
  log_id         TEXT NOT NULL REFERENCES logs(id),
  name           TEXT NOT NULL,
  kind           TEXT NOT NULL CHECK (kind IN ('ground_truth','predictions','working')),
  source_run_id  INTEGER REFERENCES runs(id),
  parent_set_id  INTEGER REFERENCES label_sets(id),
  created_at     TEXT NOT NULL,
  created_by     TEXT NOT NULL,
  UNIQUE (log_id, name)
);

CREATE TABLE labels (
  id             INTEGER PRIMARY KEY,
  label_set_id   INTEGER NOT NULL REFERENCES label_sets(id) ON DELETE CASCADE,
  frame_id       TEXT NOT NULL,
  sensor_id      TEXT,
  class          TEXT NOT NULL,
  x1 REAL, y1 REAL, x2 REAL, y2 REAL,
  cx REAL, cy REAL, cz REAL,
  length REAL, width REAL, height REAL, yaw REAL,
  track_id       TEXT,
  attributes_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX labels_set_frame ON labels(label_set_id, frame_id);

-- Append-only, hash-chained: hash = sha256(prev_hash || canonical event JSON).
CREATE TABLE audit_events (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  at           TEXT NOT NULL,
  actor        TEXT NOT NULL,
  action       TEXT NOT NULL,
  entity_type  TEXT NOT NULL,
  entity_id    TEXT NOT NULL,
  payload_json TEXT NOT NULL,
  prev_hash    TEXT NOT NULL,
  hash         TEXT NOT NULL UNIQUE
);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
`;
