// Schema v5: safety audits. One row per audit (parameters, run, ground truth, summary), its ranked
// safety-critical misses, and the path conflicts behind them. Audits are evidence: append-only, each
// recorded by an audit event written in the same transaction.
export const version = 5;
export const name = 'safety';
export const sql = /* sql */ `
CREATE TABLE safety_audits (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  log_id            TEXT NOT NULL REFERENCES logs(id),
  run_id            INTEGER NOT NULL REFERENCES runs(id),
  against           TEXT NOT NULL CHECK (against IN ('log','label-set')),
  label_set_id      INTEGER REFERENCES label_sets(id),
  params_json       TEXT NOT NULL,
  params_key        TEXT NOT NULL,                 -- sha256 of the canonical params
  summary_json      TEXT NOT NULL,
  software_version  TEXT NOT NULL,
  created_at        TEXT NOT NULL,
  created_by        TEXT NOT NULL,
  audit_seq         INTEGER NOT NULL               -- the audit_events row that records it
);
CREATE INDEX safety_audits_log_run ON safety_audits(log_id, run_id, id);

CREATE TABLE safety_misses (
  audit_id                    INTEGER NOT NULL REFERENCES safety_audits(id),
  rank                        INTEGER NOT NULL,
  kind                        TEXT NOT NULL CHECK (kind IN ('safety-miss','late-detection')),
  reason                      TEXT NOT NULL CHECK (reason IN ('never-detected','detected-late','lost')),
  track_id                    TEXT NOT NULL,
  class                       TEXT NOT NULL,
  entry_frame_id              TEXT NOT NULL,
  entry_frame_index           INTEGER NOT NULL,
  exit_frame_id               TEXT NOT NULL,
  exit_frame_index            INTEGER NOT NULL,
  first_detected_frame_id     TEXT,
  first_detected_frame_index  INTEGER,
  delay_frames                INTEGER,
  frames_json                 TEXT NOT NULL,       -- [[frameId, frameIndex], ...]: the missed critical frames
  critical_frame_count        INTEGER NOT NULL,
  min_ttc_s                   REAL,
  min_distance_m              REAL NOT NULL,
  path                        TEXT NOT NULL,
  speed_mps                   REAL,
  PRIMARY KEY (audit_id, rank)
) WITHOUT ROWID;
CREATE INDEX safety_misses_track ON safety_misses(audit_id, track_id);

CREATE TABLE safety_conflicts (
  audit_id        INTEGER NOT NULL REFERENCES safety_audits(id),
  frame_id        TEXT NOT NULL,
  frame_index     INTEGER NOT NULL,
  path            TEXT NOT NULL,
  origin          TEXT NOT NULL CHECK (origin IN ('gt','det')),
  obstacle_id     TEXT NOT NULL,
  track_id        TEXT NOT NULL,
  class           TEXT NOT NULL,
  arc_length_m    REAL NOT NULL,
  distance_m      REAL NOT NULL,
  min_distance_m  REAL NOT NULL,
  clearance_m     REAL NOT NULL,
  intrudes        INTEGER NOT NULL,
  ttc_s           REAL,
  critical        INTEGER NOT NULL,
  on_extension    INTEGER NOT NULL,
  detected        INTEGER,                          -- ground truth: 1/0, null where the run has no result
  matched_id      TEXT,
  speed_mps       REAL,
  horizon_m       REAL
);
CREATE INDEX safety_conflicts_audit_frame ON safety_conflicts(audit_id, frame_index);
CREATE INDEX safety_conflicts_audit_track ON safety_conflicts(audit_id, track_id);

CREATE TRIGGER safety_audits_no_update BEFORE UPDATE ON safety_audits BEGIN SELECT RAISE(ABORT, 'safety_audits is append-only'); END;
CREATE TRIGGER safety_audits_no_delete BEFORE DELETE ON safety_audits BEGIN SELECT RAISE(ABORT, 'safety_audits is append-only'); END;
CREATE TRIGGER safety_misses_no_update BEFORE UPDATE ON safety_misses BEGIN SELECT RAISE(ABORT, 'safety_misses is append-only'); END;
CREATE TRIGGER safety_misses_no_delete BEFORE DELETE ON safety_misses BEGIN SELECT RAISE(ABORT, 'safety_misses is append-only'); END;
CREATE TRIGGER safety_conflicts_no_update BEFORE UPDATE ON safety_conflicts BEGIN SELECT RAISE(ABORT, 'safety_conflicts is append-only'); END;
CREATE TRIGGER safety_conflicts_no_delete BEFORE DELETE ON safety_conflicts BEGIN SELECT RAISE(ABORT, 'safety_conflicts is append-only'); END;
`;
