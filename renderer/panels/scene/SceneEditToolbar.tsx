// The 3D panel's label editing controls (edit mode): the class of the selection, fit the selected box
// to the lidar points, a 3D box from a 2D box or detection, a new box from a lidar cluster, turning by
// ±5° and a side view for the height handles.
import type { ReactNode } from 'react';
import { useApp } from '../../state/appState.js';
import { ROTATE_STEP, useLabelSession, useLabelState } from '../../state/labelSession.js';
import { LabelClassSelect } from '../labels/LabelClassSelect.js';
import type { SceneTool } from './labelEditor3d.js';

const noFocus = (e: React.MouseEvent) => e.preventDefault();

export function SceneEditToolbar({ tool, onTool, onSideView }: { tool: SceneTool; onTool: (tool: SceneTool) => void; onSideView: () => void }): ReactNode {
  const controller = useLabelSession();
  const editMode = useLabelState((s) => s.editMode);
  const setId = useLabelState((s) => s.setId);
  const labels = useLabelState((s) => s.labels);
  const selected = useLabelState((s) => s.selected);
  const drawClass = useLabelState((s) => s.drawClass);
  const busy = useLabelState((s) => s.busy);
  const detectionSelected = useApp((s) => s.selection?.id.startsWith('run') ?? false);

  const chosen = labels.filter((l) => selected.includes(l.id));
  const with3d = chosen.filter((l) => l.box3d);
  const with2d = chosen.filter((l) => l.box2d);
  const disabled = setId === null || busy !== null;

  return (
    <div className="overlay scene-edit-toolbar" style={{ top: 32, left: 6 }} data-testid="scene-edit-toolbar">
      <button className={`chip-button${editMode ? ' active' : ''}`} onMouseDown={noFocus} onClick={() => controller.toggleEditMode()} title="Edit labels (E)" data-testid="scene-edit-mode">
        ✎ Edit
      </button>
      {editMode && (
        <>
          <LabelClassSelect disabled={disabled} testId="scene-edit-class" />
          <button className="chip-button" onMouseDown={noFocus} onClick={() => void controller.fitSelectedToPoints()} disabled={disabled || with3d.length === 0} title="Fit the selected 3D box to the lidar points inside it (ground excluded, 0.3 m margin)" data-testid="scene-fit">
            Fit to points
          </button>
          <button
            className="chip-button"
            onMouseDown={noFocus}
            onClick={() => void controller.box3dFromDetection()}
            disabled={disabled || (with2d.length === 0 && !detectionSelected)}
            title="3D box from the lidar cluster inside the selected label's 2D box, or inside the selected detection (accepted into the set)"
            data-testid="scene-from-detection"
          >
            Box from detection
          </button>
          <button
            className={`chip-button${tool === 'cluster' ? ' active' : ''}`}
            onMouseDown={noFocus}
            onClick={() => onTool(tool === 'cluster' ? 'select' : 'cluster')}
            disabled={disabled}
            title={`New ${drawClass} label around the lidar cluster you click next`}
            data-testid="scene-from-cluster"
          >
            Box from cluster
          </button>
          <span className="sep" />
          <button className="chip-button" onMouseDown={noFocus} onClick={() => void controller.rotateSelected3d(ROTATE_STEP)} disabled={disabled || with3d.length === 0} title="Turn the selected 3D boxes 5° left (,)" data-testid="scene-rotate-left">
            ⟲ 5°
          </button>
          <button className="chip-button" onMouseDown={noFocus} onClick={() => void controller.rotateSelected3d(-ROTATE_STEP)} disabled={disabled || with3d.length === 0} title="Turn the selected 3D boxes 5° right (.)" data-testid="scene-rotate-right">
            ⟳ 5°
          </button>
          <button className="chip-button" onMouseDown={noFocus} onClick={onSideView} disabled={with3d.length === 0} title="Look at the selected box from its side (drag its top or bottom handle to set the height)" data-testid="scene-side-view">
            Side
          </button>
          {setId === null && <span className="chip warn">No working set: create one in the Labels panel</span>}
        </>
      )}
    </div>
  );
}
