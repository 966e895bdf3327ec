import { useRef, type ReactNode } from 'react';

/** A drag handle between two panes; reports pointer movement in CSS pixels. */
export function Splitter({ direction, onDrag }: { direction: 'vertical' | 'horizontal'; onDrag(deltaPx: number): void }): ReactNode {
  const last = useRef<number | null>(null);
  return (
    <div
      className={`splitter splitter-${direction}`}
      role="separator"
      aria-orientation={direction}
      onPointerDown={(e) => {
        e.preventDefault();
        e.currentTarget.setPointerCapture(e.pointerId);
        last.current = direction === 'vertical' ? e.clientX : e.clientY;
        document.body.classList.add(direction === 'vertical' ? 'resizing-x' : 'resizing-y');
      }}
      onPointerMove={(e) => {
        if (last.current === null) return;
        const now = direction === 'vertical' ? e.clientX : e.clientY;
        const delta = now - last.current;
        if (delta !== 0) {
          last.current = now;
          onDrag(delta);
        }
      }}
      onPointerUp={(e) => {
        last.current = null;
        e.currentTarget.releasePointerCapture(e.pointerId);
        document.body.classList.remove('resizing-x', 'resizing-y');
      }}
      onPointerCancel={() => {
        last.current = null;
        document.body.classList.remove('resizing-x', 'resizing-y');
      }}
    />
  );
}
