// Every panel of the workbench: adding a panel is one `registerPanel` call here.
import type { LogInfo } from '../../src/logs/model.js';
import { registerPanel } from '../app/panelRegistry.js';
import { registerAuditPanels } from './audit/index.js';
import { CameraPanel } from './camera/CameraPanel.js';
import { registerEvaluationPanels } from './evaluation/index.js';
import { registerLabelPanels } from './labels/index.js';
import { registerSafetyPanels } from './safety/index.js';
import { ScenePanel } from './scene/ScenePanel.js';
import { DetectionsPanel } from './sidebar/DetectionsPanel.js';
import { FramePanel } from './sidebar/FramePanel.js';
import { LogInfoPanel } from './sidebar/LogInfoPanel.js';
import { LogsPanel } from './sidebar/LogsPanel.js';
import { ReviewPanel } from './sidebar/ReviewPanel.js';
import { RunsPanel } from './sidebar/RunsPanel.js';
import { TimelinePanel } from './timeline/TimelinePanel.js';

let registered = false;

// Surround-view rigs read left to right, front row first (nuScenes names; others keep log order).
const RIG_ORDER = ['FRONT_LEFT', 'FRONT', 'FRONT_RIGHT', 'BACK_LEFT', 'BACK', 'BACK_RIGHT'];
const rigRank = (id: string): number => {
  const upper = id.toUpperCase().replace(/^CAM(ERA)?[_/-]?/, '');
  const i = RIG_ORDER.indexOf(upper);
  return i < 0 ? RIG_ORDER.length : i;
};

function cameraIds(log: LogInfo | null): string[] {
  const ids = new Set<string>();
  for (const s of log?.sensors ?? []) if (s.kind === 'camera') ids.add(s.id);
  for (const s of log?.streams ?? []) if (s.kind === 'camera' && s.sensorId) ids.add(s.sensorId);
  return [...ids].sort((a, b) => rigRank(a) - rigRank(b));
}

/** Cameras fill a grid of columns two rows high (one column for one or two cameras); 3D goes to its right. */
function cameraColumns(count: number): number {
  return count <= 2 ? 1 : Math.ceil(count / 2);
}

export function registerBuiltinPanels(): void {
  if (registered) return;
  registered = true;
  registerPanel({
    id: 'camera',
    title: 'Camera',
    component: CameraPanel,
    region: 'main',
    defaultColumn: 0,
    order: 10,
    // One panel per camera in the log, laid out as a grid.
    instances: (log) => {
      const ids = cameraIds(log);
      const columns = cameraColumns(ids.length);
      return ids.map((id, i) => ({ param: id, title: `Camera · ${id}`, column: i % columns }));
    },
  });
  registerPanel({ id: 'scene', title: '3D', component: ScenePanel, region: 'main', defaultColumn: 1, placement: (log) => cameraColumns(cameraIds(log).length), order: 20 });
  registerPanel({ id: 'timeline', title: 'Timeline', component: TimelinePanel, region: 'bottom', order: 30 });
  registerPanel({ id: 'runs', title: 'Runs', component: RunsPanel, region: 'sidebar', order: 32 });
  registerPanel({ id: 'review', title: 'Layers & filters', component: ReviewPanel, region: 'sidebar', order: 34 });
  registerPanel({ id: 'detections', title: 'Labels & detections', component: DetectionsPanel, region: 'sidebar', order: 36 });
  registerPanel({ id: 'frame-info', title: 'Frame', component: FramePanel, region: 'sidebar', order: 40 });
  registerPanel({ id: 'log-info', title: 'Log', component: LogInfoPanel, region: 'sidebar', order: 50 });
  registerPanel({ id: 'logs', title: 'Recent logs', component: LogsPanel, region: 'sidebar', order: 60 });
  registerLabelPanels();
  registerAuditPanels();
  registerEvaluationPanels();
  registerSafetyPanels();
}
