// Schema v4: stored evaluations. One row per evaluation of a run against a label set (metric, options,
// headline figures), its per-class and per-slice figures, PR curves as packed float64 blobs, the
// confusion matrix, and every per-object TP/FP/FN record in a table the hard-case queries read.
// Saved hard-case queries live beside them. Evaluations are evidence: rows are written once, in the
// transaction that also appends their audit event.
export const version = 4;
export const name = 'evaluations';
export const sql = /* sql */ `
CREATE TABLE evaluations (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id             INTEGER NOT NULL REFERENCES runs(id),
  label_set_id       INTEGER NOT NULL REFERENCES label_sets(id),
  log_id             TEXT NOT NULL REFERENCES logs(id),
  metric             TEXT NOT NULL CHECK (metric IN ('coco','kitti','nuscenes')),
  options_json       TEXT NOT NULL,                 -- what was asked (classes, sensor, slices, frames)
  options_key        TEXT NOT NULL,                 -- sha256 of the canonical options: finds a reusable evaluation
  params_json        TEXT NOT NULL,                 -- what the metric used (thresholds, where records were taken)
  overall_json       TEXT NOT NULL,                 -- headline figures; null where undefined
  counts_json        TEXT NOT NULL,                 -- frames, ground truth, detections
  warnings_json      TEXT NOT NULL,
  label_set_event_id INTEGER NOT NULL,              -- the set's last label event when evaluated (its state)
  run_detections     INTEGER NOT NULL,              -- the run's detection count when evaluated
  software_version   TEXT NOT NULL,
  created_at         TEXT NOT NULL,
  created_by         TEXT NOT NULL,
  duration_ms        REAL,
  audit_seq          INTEGER NOT NULL               -- the audit_events row that records it
);
CREATE INDEX evaluations_run ON evaluations(run_id, metric, id);
CREATE INDEX evaluations_set ON evaluations(label_set_id, id);
CREATE INDEX evaluations_reuse ON evaluations(run_id, label_set_id, metric, options_key);

-- Per-class figures of the whole evaluation (slice '') and of each slice.
CREATE TABLE evaluation_classes (
  evaluation_id  INTEGER NOT NULL REFERENCES evaluations(id) ON DELETE CASCADE,
  slice          TEXT NOT NULL,
  position       INTEGER NOT NULL,
  label          TEXT NOT NULL,
  num_gt         INTEGER NOT NULL,
  num_det        INTEGER NOT NULL,
  metrics_json   TEXT NOT NULL,
  PRIMARY KEY (evaluation_id, slice, position)
) WITHOUT ROWID;

CREATE TABLE evaluation_slices (
  evaluation_id  INTEGER NOT NULL REFERENCES evaluations(id) ON DELETE CASCADE,
  position       INTEGER NOT NULL,
  name           TEXT NOT NULL,
  where_json     TEXT NOT NULL,
  num_gt         INTEGER NOT NULL,
  num_det        INTEGER NOT NULL,
  overall_json   TEXT NOT NULL,
  PRIMARY KEY (evaluation_id, position)
) WITHOUT ROWID;

-- One PR curve: recall, precision and score arrays of 'points' float64 each, little-endian, back to back.
CREATE TABLE evaluation_curves (
  evaluation_id  INTEGER NOT NULL REFERENCES evaluations(id) ON DELETE CASCADE,
  position       INTEGER NOT NULL,
  label          TEXT NOT NULL,
  key            TEXT NOT NULL,
  points         INTEGER NOT NULL,
  encoding       TEXT NOT NULL,                     -- f64le-rps
  data           BLOB NOT NULL,
  PRIMARY KEY (evaluation_id, position)
) WITHOUT ROWID;

-- Row-major int32 little-endian counts, labels.length squared; rows detected, columns true, last 'background'.
CREATE TABLE evaluation_confusion (
  evaluation_id  INTEGER PRIMARY KEY REFERENCES evaluations(id) ON DELETE CASCADE,
  labels_json    TEXT NOT NULL,
  criterion      TEXT NOT NULL,
  encoding       TEXT NOT NULL,                     -- i32le
  counts         BLOB NOT NULL
);

-- Every ground-truth box and detection after matching (src/eval/types.ts ObjectRecord), plus the 2D box
-- it was evaluated with, so a report can crop it and a query can filter on its size.
CREATE TABLE evaluation_objects (
  evaluation_id    INTEGER NOT NULL REFERENCES evaluations(id) ON DELETE CASCADE,
  seq              INTEGER NOT NULL,
  frame_id         TEXT NOT NULL,
  frame_index      INTEGER,
  source           TEXT NOT NULL CHECK (source IN ('gt','det')),
  object_id        INTEGER NOT NULL,                -- labels.id (gt) or detections.id (det)
  label            TEXT NOT NULL,
  score            REAL,
  outcome          TEXT NOT NULL CHECK (outcome IN ('tp','fp','fn','ignored')),
  ignore_reason    TEXT,
  matched_id       INTEGER,
  iou              REAL,
  center_distance  REAL,
  ego_distance     REAL,
  distance_band    TEXT,
  occlusion        INTEGER,
  truncation       REAL,
  difficulty       TEXT,
  sensor_id        TEXT,
  x1 REAL, y1 REAL, x2 REAL, y2 REAL,
  PRIMARY KEY (evaluation_id, seq)
) WITHOUT ROWID;
CREATE INDEX evaluation_objects_outcome ON evaluation_objects(evaluation_id, outcome, label);
CREATE INDEX evaluation_objects_frame ON evaluation_objects(evaluation_id, frame_id);

-- Saved hard-case queries (src/eval/queries.ts syntax), usable on any evaluation.
CREATE TABLE evaluation_queries (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  name         TEXT NOT NULL UNIQUE,
  text         TEXT NOT NULL,
  description  TEXT,
  created_at   TEXT NOT NULL,
  created_by   TEXT NOT NULL
);

CREATE TRIGGER evaluations_no_update BEFORE UPDATE ON evaluations BEGIN SELECT RAISE(ABORT, 'evaluations are written once'); END;
CREATE TRIGGER evaluation_objects_no_update BEFORE UPDATE ON evaluation_objects BEGIN SELECT RAISE(ABORT, 'evaluation_objects are written once'); END;
`;
