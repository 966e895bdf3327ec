// The one shortcut table: the keyboard handler and the help overlay both read it, so the
// documented keys are exactly the bound keys.
import { appStore, toggleLayer, updateScene } from '../state/appState.js';
import { labelSessionFor, labelSessionStore, ROTATE_STEP } from '../state/labelSession.js';
import { LAYERS } from '../state/layers.js';
import type { Session } from '../state/session.js';

export interface Shortcut {
  /** Keys as shown in the help overlay; each entry is one chord, e.g. ['Shift', '←']. */
  keys: string[][];
  description: string;
  group: 'Playback' | '3D view' | 'Layers' | 'Labels' | 'General';
  match(e: KeyboardEvent): boolean;
  run(session: Session, e: KeyboardEvent): void;
}

const plain = (e: KeyboardEvent) => !e.ctrlKey && !e.metaKey && !e.altKey;
const key = (k: string) => (e: KeyboardEvent) => plain(e) && !e.shiftKey && e.key.toLowerCase() === k;
/** Ctrl (Cmd on macOS) with `k`, shift as given. */
const mod = (k: string, shift: boolean) => (e: KeyboardEvent) => (e.ctrlKey || e.metaKey) && !e.altKey && e.shiftKey === shift && e.key.toLowerCase() === k;

export const SHORTCUTS: Shortcut[] = [
  { keys: [['Space']], description: 'Play / pause', group: 'Playback', match: (e) => plain(e) && e.key === ' ', run: (s) => s.togglePlay() },
  { keys: [['←'], ['→']], description: 'Previous / next frame', group: 'Playback', match: (e) => plain(e) && !e.shiftKey && (e.key === 'ArrowLeft' || e.key === 'ArrowRight'), run: (s, e) => s.step(e.key === 'ArrowLeft' ? -1 : 1) },
  { keys: [['Shift', '←'], ['Shift', '→']], description: 'Back / forward 1 second', group: 'Playback', match: (e) => plain(e) && e.shiftKey && (e.key === 'ArrowLeft' || e.key === 'ArrowRight'), run: (s, e) => s.stepSeconds(e.key === 'ArrowLeft' ? -1 : 1) },
  { keys: [['Home'], ['End']], description: 'First / last frame', group: 'Playback', match: (e) => plain(e) && (e.key === 'Home' || e.key === 'End'), run: (s, e) => s.seek(e.key === 'Home' ? 0 : appStore.get().stubs.length - 1) },
  { keys: [['['], [']']], description: 'Slower / faster (0.1× – 10×)', group: 'Playback', match: (e) => plain(e) && (e.key === '[' || e.key === ']'), run: (s, e) => s.changeSpeed(e.key === '[' ? -1 : 1) },
  { keys: [['F']], description: 'Follow the ego (camera attached behind it) / fixed world view', group: '3D view', match: key('f'), run: () => updateScene({ follow: !appStore.get().scene.follow }) },
  { keys: [['B']], description: "Bird's-eye view on / off", group: '3D view', match: key('b'), run: () => updateScene({ birdsEye: !appStore.get().scene.birdsEye }) },
  { keys: [['R']], description: 'Reset the 3D camera to the default view', group: '3D view', match: key('r'), run: () => appStore.set((s) => ({ sceneViewReset: s.sceneViewReset + 1 })) },
  { keys: [['C']], description: 'Cycle point colouring (height, range, intensity, …)', group: '3D view', match: key('c'), run: () => cycleColorMode() },
  ...LAYERS.map(
    (layer): Shortcut => ({
      keys: [[layer.key]],
      description: `Layer: ${layer.label}`,
      group: 'Layers',
      match: (e) => plain(e) && !e.shiftKey && e.key === layer.key,
      run: () => toggleLayer(layer.id),
    }),
  ),
  { keys: [['E']], description: 'Label edit mode on / off (camera panels)', group: 'Labels', match: key('e'), run: (s) => labelSessionFor(s).toggleEditMode() },
  {
    keys: [['N']],
    description: 'Draw a new box: drag on the image',
    group: 'Labels',
    match: key('n'),
    run: (s) => {
      const labels = labelSessionFor(s);
      labels.setEditMode(true);
      labels.setTool(labelSessionStore.get().tool === 'draw' ? 'select' : 'draw');
    },
  },
  { keys: [['Delete'], ['Backspace']], description: 'Delete the selected labels', group: 'Labels', match: (e) => plain(e) && (e.key === 'Delete' || e.key === 'Backspace'), run: (s) => void labelSessionFor(s).deleteSelected() },
  { keys: [['A']], description: 'Accept the selected detection into the working set', group: 'Labels', match: key('a'), run: (s) => void labelSessionFor(s).acceptSelectedDetection() },
  { keys: [['X']], description: 'Reject the selected detection', group: 'Labels', match: key('x'), run: (s) => void labelSessionFor(s).rejectSelectedDetection() },
  { keys: [['Ctrl', 'Z']], description: 'Undo the last label edit of this window', group: 'Labels', match: mod('z', false), run: (s) => void labelSessionFor(s).undo() },
  { keys: [['Ctrl', 'Shift', 'Z'], ['Ctrl', 'Y']], description: 'Redo', group: 'Labels', match: (e) => mod('z', true)(e) || mod('y', false)(e), run: (s) => void labelSessionFor(s).redo() },
  { keys: [['Ctrl', 'Shift', 'V']], description: "Copy the previous frame's labels to this frame", group: 'Labels', match: mod('v', true), run: (s) => void labelSessionFor(s).copyFromPreviousFrame() },
  {
    keys: [[','], ['.']],
    description: 'Turn the selected 3D boxes 5° left / right',
    group: 'Labels',
    match: (e) => plain(e) && (e.key === ',' || e.key === '.'),
    run: (s, e) => void labelSessionFor(s).rotateSelected3d(e.key === ',' ? ROTATE_STEP : -ROTATE_STEP),
  },
  {
    keys: [['Esc']],
    description: 'Clear the selection / stop drawing / close this help',
    group: 'General',
    match: (e) => e.key === 'Escape',
    run: (s) => {
      if (appStore.get().helpOpen) {
        appStore.set({ helpOpen: false });
        return;
      }
      const labels = labelSessionFor(s);
      labels.setTool('select');
      labels.select([]);
      s.select(null);
    },
  },
  { keys: [['?']], description: 'Show / hide keyboard shortcuts', group: 'General', match: (e) => !e.ctrlKey && !e.metaKey && e.key === '?', run: () => appStore.set((s) => ({ helpOpen: !s.helpOpen })) },
];

/** Pointer hints for the help overlay (not key bindings). */
export const MOUSE_HINTS: Array<[string, string]> = [
  ['3D: drag', 'Orbit (bird’s-eye: pan)'],
  ['3D: right-drag / Shift-drag', 'Pan'],
  ['3D: wheel', 'Zoom'],
  ['3D: click a box', 'Select it (highlighted in the camera too)'],
  ['Camera: wheel', 'Zoom around the cursor'],
  ['Camera: drag', 'Pan'],
  ['Camera: double-click', 'Fit the image again'],
  ['Camera: hover / click a box', 'Details / select it in every panel'],
  ['Camera (edit mode): click / Shift-click a label', 'Select it / add it to the selection'],
  ['Camera (edit mode): drag a label / a handle', 'Move the selected labels / resize'],
  ['Camera (edit mode, N): drag on the image', 'Draw a new box'],
  ['3D (edit mode): click / Shift-click a label box', 'Select it / add it to the selection'],
  ['3D (edit mode): drag a box / a corner / the front handle', 'Move it on the ground / resize / turn it'],
  ['3D (edit mode, Side): drag the top or bottom handle', 'Set the box height'],
  ['Panel header: drag onto another panel', 'Swap the two panels (saved)'],
  ['Panel header: double-click', 'Maximize / restore the panel'],
  ['Timeline: hover', 'Preview the frame'],
  ['Timeline: Shift-drag', 'Select a range (playback and runs use it)'],
];

function cycleColorMode(): void {
  const { scene, frame } = appStore.get();
  const modes = ['height', 'distance', ...Object.keys(frame?.data.lidar?.fields ?? {})];
  const next = modes[(modes.indexOf(scene.colorMode) + 1) % modes.length] ?? 'height';
  updateScene({ colorMode: next });
}

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = (target as HTMLInputElement).type;
    return !['checkbox', 'radio', 'range', 'button', 'submit'].includes(type);
  }
  return false;
}

/** Installs the global key handler; returns its remover. */
export function installShortcuts(session: Session): () => void {
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.defaultPrevented || isTyping(e.target)) return;
    // A keyboard-focused button keeps Space/Enter for itself.
    if ((e.key === ' ' || e.key === 'Enter') && e.target instanceof HTMLButtonElement) return;
    const shortcut = SHORTCUTS.find((s) => s.match(e));
    if (!shortcut) return;
    e.preventDefault();
    shortcut.run(session, e);
  };
  window.addEventListener('keydown', onKeyDown);
  return () => window.removeEventListener('keydown', onKeyDown);
}
