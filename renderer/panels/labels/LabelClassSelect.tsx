// The class of the selected labels, or of the next new box when none is selected: one picker for the
// camera and 3D edit toolbars.
import type { ReactNode } from 'react';
import { useLabelSession, useLabelState } from '../../state/labelSession.js';

export function LabelClassSelect({ disabled, testId }: { disabled: boolean; testId: string }): ReactNode {
  const controller = useLabelSession();
  const labels = useLabelState((s) => s.labels);
  const selected = useLabelState((s) => s.selected);
  const knownClasses = useLabelState((s) => s.knownClasses);
  const drawClass = useLabelState((s) => s.drawClass);
  const chosen = labels.filter((l) => selected.includes(l.id));
  const classes = new Set(chosen.map((l) => l.class));
  const shownClass = chosen.length ? (classes.size === 1 ? [...classes][0]! : '') : drawClass;
  const options = [...new Set([...knownClasses, drawClass, ...classes])].sort((a, b) => a.localeCompare(b));
  return (
    <span className="chip-select">
      <select
        value={shownClass}
        onChange={(e) => {
          void controller.setClass(e.target.value);
          // Keys go back to the shortcuts, not to the picker.
          e.currentTarget.blur();
        }}
        disabled={disabled}
        title={chosen.length ? 'Class of the selected labels' : 'Class of the next new box'}
        data-testid={testId}
      >
        {shownClass === '' && <option value="">(mixed)</option>}
        {options.map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
    </span>
  );
}
