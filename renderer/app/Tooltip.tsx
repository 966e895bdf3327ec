import type { ReactNode } from 'react';

const TOOLTIP_W = 250; // matches .tooltip max-width
const TOOLTIP_H = 160;

/** A tooltip next to the cursor that stays inside its panel (flips, then clamps). */
export function Tooltip({ x, y, width, height, children }: { x: number; y: number; width: number; height: number; children: ReactNode }): ReactNode {
  const left = x + 14 + TOOLTIP_W > width ? Math.max(4, x - 14 - TOOLTIP_W) : x + 14;
  const top = y + 14 + TOOLTIP_H > height ? Math.max(4, y - 14 - TOOLTIP_H) : y + 14;
  return (
    <div className="tooltip" style={{ left, top }}>
      {children}
    </div>
  );
}
