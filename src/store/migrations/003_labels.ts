// Schema v3: label corrections and review. Label edits are append-only events (label_events, grouped
// into operations in label_ops); `labels` (from v1) becomes their materialised current state, updated in
// the same transaction as each event. Review status, issues, comments and stage sign-offs live beside them.
// Every change also writes an audit event (audit_events, hash-chained) in that transaction.
export const version = 3;
export const name = 'labels';
export const sql = /* sql */ `
ALTER TABLE label_sets ADD COLUMN source_json TEXT NOT NULL DEFAULT '{}';   -- import provenance: format, path, run

-- Materialised state. id = the id of the label's first create event (never reused); deleted labels stay
-- as tombstones so a stale edit against them can say who deleted them and when.
ALTER TABLE labels ADD COLUMN score REAL;
ALTER TABLE labels ADD COLUMN source_detection_id INTEGER;      -- the predicted detection an accepted label came from
ALTER TABLE labels ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE labels ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE labels ADD COLUMN interpolated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE labels ADD COLUMN updated_at TEXT;
ALTER TABLE labels ADD COLUMN updated_by TEXT;
ALTER TABLE labels ADD COLUMN last_event_id INTEGER;
CREATE INDEX labels_set_track ON labels(label_set_id, track_id);
CREATE INDEX labels_set_detection ON labels(label_set_id, source_detection_id);

-- One user action (a drag, a multi-select delete, an interpolation, an import, an undo): the unit of undo.
CREATE TABLE label_ops (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  label_set_id  INTEGER NOT NULL REFERENCES label_sets(id),
  session_id    TEXT NOT NULL,
  kind          TEXT NOT NULL CHECK (kind IN ('do','undo','redo','bulk')),
  target_op_id  INTEGER REFERENCES label_ops(id),       -- the op an undo/redo compensates
  description   TEXT NOT NULL,
  author        TEXT NOT NULL,
  at            TEXT NOT NULL
);
CREATE INDEX label_ops_session ON label_ops(session_id, id);

CREATE TABLE label_events (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  op_id          INTEGER NOT NULL REFERENCES label_ops(id),
  label_set_id   INTEGER NOT NULL REFERENCES label_sets(id),
  label_id       INTEGER,                               -- null for reject/unreject
  detection_id   INTEGER,                               -- accept/reject: the predicted detection
  kind           TEXT NOT NULL CHECK (kind IN ('create','update','delete','accept','reject','unreject')),
  frame_id       TEXT NOT NULL,
  base_revision  INTEGER NOT NULL,                      -- the label revision this event was applied to
  revision       INTEGER NOT NULL,                      -- the revision it produced
  before_json    TEXT,
  after_json     TEXT,
  interpolated   INTEGER NOT NULL DEFAULT 0,
  author         TEXT NOT NULL,
  at             TEXT NOT NULL,
  reason         TEXT,
  meta_json      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX label_events_set ON label_events(label_set_id, id);
CREATE INDEX label_events_label ON label_events(label_id, id);
CREATE INDEX label_events_set_label ON label_events(label_set_id, label_id, id);  -- streaming replay, label by label
CREATE INDEX label_events_op ON label_events(op_id, id);
CREATE INDEX label_events_frame ON label_events(label_set_id, frame_id);

CREATE TRIGGER label_ops_no_update BEFORE UPDATE ON label_ops BEGIN SELECT RAISE(ABORT, 'label_ops is append-only'); END;
CREATE TRIGGER label_ops_no_delete BEFORE DELETE ON label_ops BEGIN SELECT RAISE(ABORT, 'label_ops is append-only'); END;
CREATE TRIGGER label_events_no_update BEFORE UPDATE ON label_events BEGIN SELECT RAISE(ABORT, 'label_events is append-only'); END;
CREATE TRIGGER label_events_no_delete BEFORE DELETE ON label_events BEGIN SELECT RAISE(ABORT, 'label_events is append-only'); END;

-- Materialised: predicted detections a reviewer rejected for a working set.
CREATE TABLE label_rejections (
  label_set_id  INTEGER NOT NULL REFERENCES label_sets(id),
  detection_id  INTEGER NOT NULL,
  event_id      INTEGER NOT NULL,
  PRIMARY KEY (label_set_id, detection_id)
) WITHOUT ROWID;

CREATE TABLE frame_reviews (
  label_set_id  INTEGER NOT NULL REFERENCES label_sets(id),
  frame_id      TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('unreviewed','in_review','done','needs_attention')),
  revision      INTEGER NOT NULL,
  note          TEXT,
  updated_at    TEXT NOT NULL,
  updated_by    TEXT NOT NULL,
  PRIMARY KEY (label_set_id, frame_id)
) WITHOUT ROWID;

CREATE TABLE frame_issues (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  label_set_id  INTEGER NOT NULL REFERENCES label_sets(id),
  frame_id      TEXT NOT NULL,
  label_id      INTEGER,
  title         TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('open','resolved')),
  created_at    TEXT NOT NULL,
  created_by    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  updated_by    TEXT NOT NULL
);
CREATE INDEX frame_issues_set_frame ON frame_issues(label_set_id, frame_id);

CREATE TABLE issue_comments (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  issue_id  INTEGER NOT NULL REFERENCES frame_issues(id),
  author    TEXT NOT NULL,
  at        TEXT NOT NULL,
  body      TEXT NOT NULL
);
CREATE INDEX issue_comments_issue ON issue_comments(issue_id, id);
CREATE TRIGGER issue_comments_no_update BEFORE UPDATE ON issue_comments BEGIN SELECT RAISE(ABORT, 'issue_comments is append-only'); END;
CREATE TRIGGER issue_comments_no_delete BEFORE DELETE ON issue_comments BEGIN SELECT RAISE(ABORT, 'issue_comments is append-only'); END;

-- A person's sign-off of a review stage over a frame range (inclusive, by frame time).
CREATE TABLE stage_signoffs (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  label_set_id   INTEGER NOT NULL REFERENCES label_sets(id),
  stage          TEXT NOT NULL CHECK (stage IN ('annotation','validation','acceptance')),
  from_frame_id  TEXT NOT NULL,
  to_frame_id    TEXT NOT NULL,
  from_stamp_ns  TEXT NOT NULL,
  to_stamp_ns    TEXT NOT NULL,
  frame_count    INTEGER,
  signed_by      TEXT NOT NULL,
  signed_at      TEXT NOT NULL,
  note           TEXT,
  audit_seq      INTEGER NOT NULL
);
CREATE INDEX stage_signoffs_set ON stage_signoffs(label_set_id, id);
CREATE TRIGGER stage_signoffs_no_update BEFORE UPDATE ON stage_signoffs BEGIN SELECT RAISE(ABORT, 'stage_signoffs is append-only'); END;
CREATE TRIGGER stage_signoffs_no_delete BEFORE DELETE ON stage_signoffs BEGIN SELECT RAISE(ABORT, 'stage_signoffs is append-only'); END;

-- The audit log filtered by entity (a label, a frame, an issue, a label set).
CREATE INDEX audit_events_entity ON audit_events(entity_type, entity_id);
`;
