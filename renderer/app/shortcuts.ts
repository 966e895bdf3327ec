// The one shortcut table: the keyboard handler and the help overlay both read it, so the
// documented keys are exactly the bound keys.
import { appStore, toggleLayer, updateScene } from '../state/appState.js';
import { LAYERS } from '../state/layers.js';
import type { Session } from '../state/session.js';

export interface Shortcut {
  /** Keys as shown in the help overlay; each entry is one chord, e.g. ['Shift', '←']. */
  keys: string[][];
  description: string;
  group: 'Playback' | '3D view' | 'Layers' | 'General';
  match(e: KeyboardEvent): boolean;
  run(session: Session, e: KeyboardEvent): void;
}

const plain = (e: KeyboardEvent) => !e.ctrlKey && !e.metaKey && !e.altKey;
const key = (k: string) => (e: KeyboardEvent) => plain(e) && !e.shiftKey && e.key.toLowerCase() === k;

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
  { keys: [['Esc']], description: 'Clear the selection / close this help', group: 'General', match: (e) => e.key === 'Escape', run: (s) => (appStore.get().helpOpen ? appStore.set({ helpOpen: false }) : s.select(null)) },
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
