// The camera panel's label editing controls: edit mode (E), the draw tool (N) and the class of the
// selected boxes (or of the next new box). Mounting it installs the edit layer for the session.
import { useEffect, type ReactNode } from 'react';
import { useLabelSession, useLabelState } from '../../state/labelSession.js';
import { LabelClassSelect } from '../labels/LabelClassSelect.js';
import { installLabelEditLayer } from './editLayer.js';

const noFocus = (e: React.MouseEvent) => e.preventDefault();

export function EditToolbar(): ReactNode {
  const controller = useLabelSession();
  useEffect(() => installLabelEditLayer(controller), [controller]);
  const editMode = useLabelState((s) => s.editMode);
  const tool = useLabelState((s) => s.tool);
  const setId = useLabelState((s) => s.setId);
  const labels = useLabelState((s) => s.labels);
  const selected = useLabelState((s) => s.selected);
  const busy = useLabelState((s) => s.busy);
  const chosen = labels.filter((l) => selected.includes(l.id));

  return (
    <div className="overlay" style={{ top: 32, left: 6 }} data-testid="edit-toolbar">
      <button
        className={`chip-button${editMode ? ' active' : ''}`}
        onMouseDown={noFocus}
        onClick={() => controller.toggleEditMode()}
        title={setId === null ? 'Edit labels (E): create a working set in the Labels panel first' : 'Edit labels (E)'}
        data-testid="edit-mode"
      >
        ✎ Edit
      </button>
      {editMode && (
        <>
          <button
            className={`chip-button${tool === 'draw' ? ' active' : ''}`}
            onMouseDown={noFocus}
            onClick={() => controller.setTool(tool === 'draw' ? 'select' : 'draw')}
            disabled={setId === null}
            title="Draw a new box: drag on the image (N)"
            data-testid="edit-draw"
          >
            + Box
          </button>
          <LabelClassSelect disabled={setId === null || busy !== null} testId="edit-class" />
          {setId === null && <span className="chip warn">No working set: create one in the Labels panel</span>}
          {chosen.length > 0 && <span className="chip muted">{chosen.length} selected</span>}
        </>
      )}
    </div>
  );
}
