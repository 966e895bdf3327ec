// The Labels sidebar panel: the working set being edited (choose one, or create one from the log's
// ground truth, another set or a model run), the frame's labels (click selects, shift adds), the class
// and track of the selection, accept/reject of the detection selected in the views, copy from the
// previous frame, snap to image, and undo/redo with their depth.
import { useEffect, useState, type ReactNode } from 'react';
import { classColor } from '../../app/classColors.js';
import { useSession } from '../../app/sessionContext.js';
import { useApp } from '../../state/appState.js';
import { parseDetectionRef, useLabelSession, useLabelState, type LabelRecord, type WorkingSetSource } from '../../state/labelSession.js';
import { runLabel } from '../../state/runLabel.js';

const noFocus = (e: React.MouseEvent) => e.preventDefault();

export function LabelsPanel(): ReactNode {
  const log = useApp((s) => s.log);
  const setId = useLabelState((s) => s.setId);
  const busy = useLabelState((s) => s.busy);
  const error = useLabelState((s) => s.error);
  const conflict = useLabelState((s) => s.conflict);
  const controller = useLabelSession();

  if (!log) return <div className="muted pad">No log open.</div>;
  return (
    <div className="frame-review labels-panel" data-testid="labels-panel">
      <WorkingSetSection />
      {setId !== null && (
        <>
          <FrameLabelsSection />
          <DetectionSection />
          <UndoSection />
        </>
      )}
      {busy && <div className="muted small">{busy}…</div>}
      {conflict && (
        <div className="error-text" role="alert" data-testid="labels-conflict">
          {conflict}{' '}
          <button onClick={() => controller.dismissConflict()} className="chip-button">
            OK
          </button>
        </div>
      )}
      {error && (
        <div className="error-text" role="alert" data-testid="labels-error">
          {error}
        </div>
      )}
    </div>
  );
}

function WorkingSetSection(): ReactNode {
  const controller = useLabelSession();
  const sets = useLabelState((s) => s.sets);
  const setId = useLabelState((s) => s.setId);
  const busy = useLabelState((s) => s.busy);
  const editMode = useLabelState((s) => s.editMode);
  const runs = useApp((s) => s.runs);
  const [source, setSource] = useState('gt');
  const [name, setName] = useState('');
  const working = sets.filter((s) => s.kind === 'working');
  const others = sets.filter((s) => s.kind !== 'working');
  const finished = runs.filter((r) => r.framesDone > 0);

  const parse = (value: string): WorkingSetSource => {
    if (value.startsWith('set:')) return { kind: 'set', setId: Number(value.slice(4)) };
    if (value.startsWith('run:')) return { kind: 'run', runId: Number(value.slice(4)) };
    return { kind: 'groundTruth' };
  };

  return (
    <section className="review-section">
      <label className="field">
        <span>Working set</span>
        <select value={setId ?? ''} onChange={(e) => void controller.chooseSet(e.target.value ? Number(e.target.value) : null)} data-testid="labels-set">
          <option value="">{working.length ? '(none)' : '(none yet: create one below)'}</option>
          {working.map((s) => (
            <option key={s.id} value={s.id}>
              #{s.id} {s.name} · {s.labelCount} labels
            </option>
          ))}
        </select>
      </label>
      <div className="row-buttons">
        <select value={source} onChange={(e) => setSource(e.target.value)} title="What the new working set copies" data-testid="labels-source">
          <option value="gt">Log ground truth</option>
          {others.map((s) => (
            <option key={`set:${s.id}`} value={`set:${s.id}`}>
              Set #{s.id} {s.name} ({s.kind.replace('_', ' ')})
            </option>
          ))}
          {finished.map((r) => (
            <option key={`run:${r.runId}`} value={`run:${r.runId}`}>
              Run #{r.runId} {runLabel(r)}
            </option>
          ))}
        </select>
      </div>
      <div className="row-buttons">
        <input type="text" placeholder="Name (optional)" value={name} onChange={(e) => setName(e.target.value)} maxLength={200} style={{ flex: 1, minWidth: 0 }} data-testid="labels-new-name" />
        <button
          onClick={() => {
            void controller.createWorkingSet(parse(source), name);
            setName('');
          }}
          disabled={busy !== null}
          data-testid="labels-create"
        >
          New working set
        </button>
      </div>
      {setId !== null && (
        <div className="row-buttons">
          <button className={editMode ? 'active' : ''} onMouseDown={noFocus} onClick={() => controller.toggleEditMode()} title="Edit the boxes in the camera panels (E)" data-testid="labels-edit-mode">
            {editMode ? 'Stop editing' : 'Edit in cameras'} <kbd>E</kbd>
          </button>
        </div>
      )}
    </section>
  );
}

function describeBox(label: LabelRecord): string {
  const parts: string[] = [];
  if (label.box2d) parts.push(`${Math.round(label.box2d.x2 - label.box2d.x1)}×${Math.round(label.box2d.y2 - label.box2d.y1)} px`);
  if (label.box3d) parts.push('3D');
  return parts.join(' · ') || '—';
}

function FrameLabelsSection(): ReactNode {
  const controller = useLabelSession();
  const labels = useLabelState((s) => s.labels);
  const selected = useLabelState((s) => s.selected);
  const knownClasses = useLabelState((s) => s.knownClasses);
  const busy = useLabelState((s) => s.busy);
  const frameIndex = useApp((s) => s.frameIndex);
  const [cls, setCls] = useState('');
  const chosen = labels.filter((l) => selected.includes(l.id));
  const single = chosen.length === 1 ? chosen[0]! : null;

  return (
    <section className="review-section">
      <h4>
        Frame {frameIndex + 1}: {labels.length} label{labels.length === 1 ? '' : 's'}
      </h4>
      <div className="table-scroll" style={{ maxHeight: 220 }}>
        <table className="grid-table" data-testid="labels-table">
          <thead>
            <tr>
              <th>Class</th>
              <th style={{ width: 52 }}>Track</th>
              <th>Box</th>
            </tr>
          </thead>
          <tbody>
            {labels.map((l) => (
              <tr
                key={l.id}
                className={selected.includes(l.id) ? 'selected' : undefined}
                onClick={(e) => controller.select([l.id], e.shiftKey || e.ctrlKey || e.metaKey ? 'toggle' : 'replace')}
                data-testid="label-row"
                data-id={l.id}
                title={`label ${l.id} · revision ${l.revision}${l.sourceDetectionId !== null ? ` · accepted detection ${l.sourceDetectionId}` : ''} · ${l.updatedBy} ${l.updatedAt}`}
              >
                <td>
                  <i className="swatch" style={{ background: classColor(l.class) }} />
                  {l.class}
                  {l.sourceDetectionId !== null && ' ✓'}
                </td>
                <td className="mono">{l.trackId ?? '—'}</td>
                <td className="mono">{describeBox(l)}</td>
              </tr>
            ))}
            {labels.length === 0 && (
              <tr>
                <td colSpan={3} className="muted">
                  No labels on this frame
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <div className="row-buttons">
        <input
          type="text"
          list="labels-classes"
          placeholder={chosen.length ? `Class of ${chosen.length} selected` : 'Class of new boxes'}
          value={cls}
          onChange={(e) => setCls(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && cls.trim()) {
              void controller.setClass(cls);
              setCls('');
            }
          }}
          style={{ flex: 1, minWidth: 0 }}
          data-testid="labels-class-input"
        />
        <datalist id="labels-classes">
          {knownClasses.map((c) => (
            <option key={c} value={c} />
          ))}
        </datalist>
        <button
          disabled={!cls.trim() || busy !== null}
          onClick={() => {
            void controller.setClass(cls);
            setCls('');
          }}
          data-testid="labels-set-class"
        >
          Set class
        </button>
      </div>
      {single && <TrackEditor key={single.id} label={single} />}
      {single?.trackId && <TrackKeyframes key={`${single.id}:${single.trackId}`} trackId={single.trackId} />}
      <div className="row-buttons">
        <button onMouseDown={noFocus} disabled={!chosen.length || busy !== null} onClick={() => void controller.deleteSelected()} title="Delete the selected labels (Delete)" data-testid="labels-delete">
          Delete {chosen.length || ''}
        </button>
        <button onMouseDown={noFocus} disabled={!labels.some((l) => l.box2d) || busy !== null} onClick={() => void controller.snapToImage()} title="Clamp the selected boxes (all, when none is selected) to the image" data-testid="labels-snap">
          Snap to image
        </button>
        <button onMouseDown={noFocus} disabled={frameIndex === 0 || busy !== null} onClick={() => void controller.copyFromPreviousFrame()} title="Copy the previous frame's labels here (Ctrl+Shift+V); tracks already here are skipped" data-testid="labels-copy-previous">
          Copy previous frame
        </button>
      </div>
    </section>
  );
}

function TrackEditor({ label }: { label: LabelRecord }): ReactNode {
  const controller = useLabelSession();
  const [track, setTrack] = useState(label.trackId ?? '');
  const changed = (track.trim() || null) !== label.trackId;
  return (
    <div className="row-buttons">
      <input type="text" placeholder="Track id" value={track} onChange={(e) => setTrack(e.target.value)} maxLength={200} style={{ flex: 1, minWidth: 0 }} data-testid="labels-track-input" />
      <button disabled={!changed} onClick={() => void controller.setTrack(label.id, track)} data-testid="labels-set-track">
        Set track
      </button>
    </div>
  );
}

/**
 * The selected label's track across the log: its keyframes (boxes a person placed) and interpolated
 * boxes, each a link to its frame, and "interpolate" between a keyframe and this frame (CVAT's
 * workflow: place the box on two frames, fill the ones between).
 */
function TrackKeyframes({ trackId }: { trackId: string }): ReactNode {
  const session = useSession();
  const controller = useLabelSession();
  const setId = useLabelState((s) => s.setId);
  const frameLabels = useLabelState((s) => s.labels);
  const busy = useLabelState((s) => s.busy);
  const stubs = useApp((s) => s.stubs);
  const frameIndex = useApp((s) => s.frameIndex);
  const [track, setTrack] = useState<LabelRecord[] | null>(null);
  const [from, setFrom] = useState<string>('');
  useEffect(() => {
    if (setId === null) return;
    let live = true;
    // Reloaded whenever the frame's labels change (an edit, an undo, another window).
    void session.api.listLabels({ setId, trackId }).then(
      (labels) => live && setTrack(labels),
      () => live && setTrack([]),
    );
    return () => {
      live = false;
    };
  }, [session, setId, trackId, frameLabels]);
  if (!track) return null;
  const indexOf = new Map(stubs.map((stub, i) => [stub.id, i]));
  const rows = track.map((l) => ({ label: l, index: indexOf.get(l.frameId) ?? -1 })).filter((r) => r.index >= 0).sort((a, b) => a.index - b.index);
  const keyframes = rows.filter((r) => !r.label.interpolated && r.index !== frameIndex);
  const here = rows.find((r) => r.index === frameIndex);
  // Default: the nearest keyframe before this frame, else the nearest after it.
  const nearest = [...keyframes].filter((r) => r.index < frameIndex).pop() ?? keyframes.find((r) => r.index > frameIndex);
  const chosen = keyframes.find((r) => r.label.frameId === from) ?? nearest;
  const gap = chosen ? Math.abs(chosen.index - frameIndex) - 1 : 0;
  return (
    <div className="track-keyframes" data-testid="labels-track">
      <div className="muted small">
        Track {trackId}: {rows.length} boxes, {rows.filter((r) => !r.label.interpolated).length} keyframes
      </div>
      <div className="track-frames" data-testid="labels-track-frames">
        {rows.map((r) => (
          <button
            key={r.label.id}
            className={`chip-button${r.index === frameIndex ? ' active' : ''}${r.label.interpolated ? ' muted' : ''}`}
            title={r.label.interpolated ? 'Interpolated' : 'Keyframe'}
            onMouseDown={noFocus}
            onClick={() => session.seek(r.index)}
            data-frame={r.index}
            data-keyframe={r.label.interpolated ? undefined : ''}
          >
            {r.label.interpolated ? r.index : <b>{r.index}</b>}
          </button>
        ))}
      </div>
      {here && keyframes.length > 0 && (
        <div className="row-buttons">
          <select value={chosen?.label.frameId ?? ''} onChange={(e) => setFrom(e.target.value)} data-testid="labels-track-from" style={{ flex: 1, minWidth: 0 }}>
            {keyframes.map((r) => (
              <option key={r.label.id} value={r.label.frameId}>
                keyframe at frame {r.index}
              </option>
            ))}
          </select>
          <button
            onMouseDown={noFocus}
            disabled={!chosen || gap < 1 || busy !== null}
            onClick={() => chosen && void controller.interpolateTrack(trackId, chosen.label.frameId, here.label.frameId)}
            title="Replace the track's boxes between that keyframe and this frame by the linear blend of the two (shortest-arc yaw); one undo step"
            data-testid="labels-track-interpolate"
          >
            Interpolate {gap > 0 ? `${gap} frame${gap === 1 ? '' : 's'}` : ''}
          </button>
        </div>
      )}
    </div>
  );
}

function DetectionSection(): ReactNode {
  const controller = useLabelSession();
  const selection = useApp((s) => s.selection);
  const rejected = useLabelState((s) => s.rejected);
  const labels = useLabelState((s) => s.labels);
  const busy = useLabelState((s) => s.busy);
  const detection = selection ? parseDetectionRef(selection.id) : null;
  const accepted = labels.filter((l) => l.sourceDetectionId !== null).length;
  // The stored id of the selected detection, to show whether it is accepted or rejected already.
  const [stored, setStored] = useState<{ ref: string; id: number | null } | null>(null);
  useEffect(() => {
    if (!selection || !parseDetectionRef(selection.id)) return;
    let live = true;
    void controller.selectedDetectionId().then((id) => live && setStored({ ref: selection.id, id }));
    return () => {
      live = false;
    };
  }, [controller, selection]);
  const storedId = stored && selection && stored.ref === selection.id ? stored.id : null;
  const acceptedAs = storedId !== null ? labels.find((l) => l.sourceDetectionId === storedId) : undefined;
  const isRejected = storedId !== null && rejected.includes(storedId);
  return (
    <section className="review-section">
      <h4>Detections</h4>
      <div className="muted small" data-testid="labels-detection-counts">
        {accepted} accepted · {rejected.length} rejected on this frame
      </div>
      {detection ? (
        <div className="row-buttons">
          <span className="muted small" style={{ flex: 1 }} data-testid="labels-detection-status">
            Run #{detection.runId}, detection {detection.index + 1}
            {acceptedAs ? ` · accepted as label ${acceptedAs.id}` : isRejected ? ' · rejected' : ''}
          </span>
          <button onMouseDown={noFocus} disabled={busy !== null || !!acceptedAs} onClick={() => void controller.acceptSelectedDetection()} title="Copy it into the working set (A)" data-testid="labels-accept">
            Accept <kbd>A</kbd>
          </button>
          <button onMouseDown={noFocus} disabled={busy !== null || isRejected} onClick={() => void controller.rejectSelectedDetection()} title="Mark it wrong (X)" data-testid="labels-reject">
            Reject <kbd>X</kbd>
          </button>
        </div>
      ) : (
        <div className="muted small">Select a detection in a camera, the 3D view or the detections table to accept or reject it.</div>
      )}
    </section>
  );
}

function UndoSection(): ReactNode {
  const controller = useLabelSession();
  const stacks = useLabelState((s) => s.stacks);
  const busy = useLabelState((s) => s.busy);
  const nextUndo = stacks.undo[0];
  const nextRedo = stacks.redo[0];
  return (
    <section className="review-section">
      <div className="row-buttons">
        <button onMouseDown={noFocus} disabled={!nextUndo || busy !== null} onClick={() => void controller.undo()} title={nextUndo ? `Undo: ${nextUndo.description} (Ctrl+Z)` : 'Nothing to undo'} data-testid="labels-undo">
          ↶ Undo ({stacks.undo.length})
        </button>
        <button onMouseDown={noFocus} disabled={!nextRedo || busy !== null} onClick={() => void controller.redo()} title={nextRedo ? `Redo: ${nextRedo.description} (Ctrl+Shift+Z)` : 'Nothing to redo'} data-testid="labels-redo">
          ↷ Redo ({stacks.redo.length})
        </button>
      </div>
      {nextUndo && <div className="muted small">Last: {nextUndo.description}</div>}
    </section>
  );
}
