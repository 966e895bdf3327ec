// Every panel of the workbench: adding a panel is one `registerPanel` call here.
import { registerPanel } from '../app/panelRegistry.js';
import { CameraPanel } from './camera/CameraPanel.js';
import { ScenePanel } from './scene/ScenePanel.js';
import { FramePanel } from './sidebar/FramePanel.js';
import { LogInfoPanel } from './sidebar/LogInfoPanel.js';
import { LogsPanel } from './sidebar/LogsPanel.js';
import { TimelinePanel } from './timeline/TimelinePanel.js';

let registered = false;

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
    // One panel per camera in the log.
    instances: (log) => {
      const ids = new Set<string>();
      for (const s of log?.sensors ?? []) if (s.kind === 'camera') ids.add(s.id);
      for (const s of log?.streams ?? []) if (s.kind === 'camera' && s.sensorId) ids.add(s.sensorId);
      return [...ids].map((id) => ({ param: id, title: `Camera · ${id}` }));
    },
  });
  registerPanel({ id: 'scene', title: '3D', component: ScenePanel, region: 'main', defaultColumn: 1, order: 20 });
  registerPanel({ id: 'timeline', title: 'Timeline', component: TimelinePanel, region: 'bottom', order: 30 });
  registerPanel({ id: 'log-info', title: 'Log', component: LogInfoPanel, region: 'sidebar', order: 40 });
  registerPanel({ id: 'frame-info', title: 'Frame', component: FramePanel, region: 'sidebar', order: 50 });
  registerPanel({ id: 'logs', title: 'Recent logs', component: LogsPanel, region: 'sidebar', order: 60 });
}
