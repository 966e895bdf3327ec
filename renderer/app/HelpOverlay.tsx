import type { ReactNode } from 'react';
import { appStore, useApp } from '../state/appState.js';
import { MOUSE_HINTS, SHORTCUTS, type Shortcut } from './shortcuts.js';

export function HelpOverlay(): ReactNode {
  const open = useApp((s) => s.helpOpen);
  if (!open) return null;
  const groups = new Map<Shortcut['group'], Shortcut[]>();
  for (const s of SHORTCUTS) groups.set(s.group, [...(groups.get(s.group) ?? []), s]);
  return (
    <div className="help-backdrop" onMouseDown={() => appStore.set({ helpOpen: false })}>
      <div className="help-overlay" data-testid="help-overlay" role="dialog" aria-label="Keyboard shortcuts" onMouseDown={(e) => e.stopPropagation()}>
        <div className="help-title">
          Keyboard shortcuts
          <button onClick={() => appStore.set({ helpOpen: false })} title="Close (Esc)">
            ×
          </button>
        </div>
        <div className="help-columns">
          {[...groups].map(([group, shortcuts]) => (
            <section key={group}>
              <h3>{group}</h3>
              <table>
                <tbody>
                  {shortcuts.map((s) => (
                    <tr key={s.description}>
                      <td className="keys">
                        {s.keys.map((chord, i) => (
                          <span key={i} className="chord">
                            {chord.map((k) => (
                              <kbd key={k}>{k}</kbd>
                            ))}
                          </span>
                        ))}
                      </td>
                      <td>{s.description}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          ))}
          <section>
            <h3>Mouse</h3>
            <table>
              <tbody>
                {MOUSE_HINTS.map(([what, does]) => (
                  <tr key={what}>
                    <td className="keys mouse">{what}</td>
                    <td>{does}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </div>
      </div>
    </div>
  );
}
