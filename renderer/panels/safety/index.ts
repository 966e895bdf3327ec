// Panels for the safety audit (critical misses on the ego path) and explainability (saliency), the
// saliency camera overlay, and their test hooks.
import { registerPanel } from '../../app/panelRegistry.js';
import { registerTestHook } from '../../app/testHooks.js';
import { appStore } from '../../state/appState.js';
import { saliencyStore } from '../../state/saliency.js';
import { safetyStore } from '../../state/safety.js';
import { ExplainPanel } from './ExplainPanel.js';
import { overlayStats, registerSaliencyOverlay } from './saliencyOverlay.js';
import { SafetyPanel } from './SafetyPanel.js';

export function registerSafetyPanels(): void {
  registerPanel({ id: 'safety', title: 'Safety audit', component: SafetyPanel, region: 'sidebar', order: 37 });
  registerPanel({ id: 'explain', title: 'Explain', component: ExplainPanel, region: 'sidebar', order: 38 });
  registerSaliencyOverlay();
  registerTestHook('safety', () => {
    const { audit, running, error } = safetyStore.get();
    return {
      running,
      error,
      auditId: audit?.id ?? null,
      misses: audit?.misses.map((m) => ({ rank: m.rank, kind: m.kind, reason: m.reason, trackId: m.trackId, entry: m.entryFrame.frameIndex, exit: m.exitFrame.frameIndex })) ?? [],
      markers: appStore.get().markers.filter((m) => m.kind === 'safety').map((m) => ({ index: m.index, label: m.label ?? '' })),
    };
  });
  registerTestHook('saliency', () => {
    const { target, targetProblem, status, taskId, shown, fromCache, visible, opacity, list, error } = saliencyStore.get();
    return {
      target,
      problem: targetProblem,
      status,
      taskId,
      error,
      fromCache,
      visible,
      opacity,
      listed: list.length,
      shown: shown && { saliencyId: shown.map.saliencyId, frameIndex: shown.frameIndex, sensorId: shown.map.sensorId, peak: shown.map.peak, window: shown.map.window, decoded: !!shown.bitmap },
      overlay: { draws: overlayStats.draws, last: overlayStats.last },
    };
  });
}
