// Panels for label editing (2D/3D, tracks): one registerPanel call each.
import { registerPanel } from '../../app/panelRegistry.js';
import { registerTestHook } from '../../app/testHooks.js';
import { labelSessionStore } from '../../state/labelSession.js';
import { LabelsPanel } from './LabelsPanel.js';

export function registerLabelPanels(): void {
  registerPanel({ id: 'labels', title: 'Labels', component: LabelsPanel, region: 'sidebar', order: 35 });
  registerTestHook('labels', labelsTestState);
}

/** The editing session as tests see it (`window.__sightline.ext.labels()`). */
function labelsTestState() {
  const s = labelSessionStore.get();
  return {
    setId: s.setId,
    sets: s.sets.map((set) => ({ id: set.id, name: set.name, kind: set.kind, labelCount: set.labelCount })),
    frameId: s.frameId,
    labels: s.labels.map((l) => ({ id: l.id, class: l.class, trackId: l.trackId, revision: l.revision, box2d: l.box2d, box3d: l.box3d, sourceDetectionId: l.sourceDetectionId })),
    selected: [...s.selected],
    previews: s.preview.size,
    rejected: [...s.rejected],
    editMode: s.editMode,
    tool: s.tool,
    drawClass: s.drawClass,
    undo: s.stacks.undo.map((o) => ({ opId: o.opId, description: o.description })),
    redo: s.stacks.redo.map((o) => ({ opId: o.opId, description: o.description })),
    busy: s.busy,
    error: s.error,
    conflict: s.conflict,
  };
}
