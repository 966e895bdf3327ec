// Renders the layout: sidebar | resizable columns of stacked panels, with the bottom strip.
import { useCallback, useMemo, useRef, type ReactNode } from 'react';
import { useApp } from '../state/appState.js';
import { createStore, useStore } from '../state/store.js';
import { effectiveLayout, layoutActions, layoutStore, type LayoutState } from './layoutState.js';
import { panelInstances, type PanelInstance } from './panelRegistry.js';
import { Splitter } from './Splitter.js';
import { PanelErrorBoundary } from './PanelErrorBoundary.js';

export function useEffectiveLayout(): { layout: LayoutState; instances: PanelInstance[] } {
  const log = useApp((s) => s.log);
  const stored = useStore(layoutStore, (s) => s.layout);
  const instances = useMemo(() => panelInstances(log), [log]);
  const layout = useMemo(() => effectiveLayout(stored, instances), [stored, instances]);
  return { layout, instances };
}

export function Layout(): ReactNode {
  const { layout, instances } = useEffectiveLayout();
  const maximized = useStore(layoutStore, (s) => s.maximized);
  const byKey = useMemo(() => new Map(instances.map((i) => [i.key, i])), [instances]);
  const columnsRef = useRef<HTMLDivElement>(null);

  const resizeColumns = useCallback(
    (index: number, deltaPx: number) => {
      const el = columnsRef.current;
      if (!el) return;
      const total = layout.columns.reduce((a, c) => a + c.size, 0);
      const width = el.clientWidth;
      const sizes = layout.columns.map((c) => c.size);
      const d = (deltaPx / width) * total;
      const min = total * 0.08;
      const a = sizes[index]! + d;
      const b = sizes[index + 1]! - d;
      if (a < min || b < min) return;
      sizes[index] = a;
      sizes[index + 1] = b;
      layoutActions.resizeColumns(layout, sizes);
    },
    [layout],
  );

  const maximizedInstance = maximized ? byKey.get(maximized) : undefined;

  return (
    <div className="workspace">
      {layout.sidebarOpen && layout.sidebar.length > 0 && (
        <>
          <aside className="sidebar" style={{ width: layout.sidebarWidth }}>
            {layout.sidebar.map((key) => {
              const instance = byKey.get(key)!;
              const collapsed = layout.collapsed.includes(key);
              return (
                <section className={`sidebar-section${collapsed ? ' collapsed' : ''}`} key={key}>
                  <button className="sidebar-header" onMouseDown={(e) => e.preventDefault()} onClick={() => layoutActions.toggleCollapsed(key)}>
                    <span className="chevron">{collapsed ? '▸' : '▾'}</span>
                    {instance.title}
                  </button>
                  {!collapsed && (
                    <div className="sidebar-body">
                      <PanelBody instance={instance} />
                    </div>
                  )}
                </section>
              );
            })}
          </aside>
          <Splitter direction="vertical" onDrag={(dx) => layoutActions.setSidebarWidth(layout, layout.sidebarWidth + dx)} />
        </>
      )}
      <div className="main-area">
        <div className="columns" ref={columnsRef}>
          {maximizedInstance ? (
            <div className="column" style={{ flex: 1 }}>
              <PanelFrame instance={maximizedInstance} layout={layout} maximized />
            </div>
          ) : (
            layout.columns.map((column, ci) => (
              <ColumnView
                key={ci}
                index={ci}
                layout={layout}
                byKey={byKey}
                isLast={ci === layout.columns.length - 1}
                onResize={(dx) => resizeColumns(ci, dx)}
              />
            ))
          )}
          {layout.columns.length === 0 && !maximizedInstance && <div className="empty-hint">All panels are hidden. Use “Panels” in the toolbar to show one.</div>}
        </div>
        {layout.bottom.map((key) => (
          <div className="bottom-strip" key={key}>
            <PanelBody instance={byKey.get(key)!} />
          </div>
        ))}
      </div>
      <DragGhost />
    </div>
  );
}

function ColumnView(props: {
  index: number;
  layout: LayoutState;
  byKey: Map<string, PanelInstance>;
  isLast: boolean;
  onResize(dx: number): void;
}): ReactNode {
  const { index, layout, byKey, isLast, onResize } = props;
  const column = layout.columns[index]!;
  const ref = useRef<HTMLDivElement>(null);
  const resizeRows = (row: number, dy: number) => {
    const el = ref.current;
    if (!el) return;
    const total = column.sizes.reduce((a, b) => a + b, 0);
    const d = (dy / el.clientHeight) * total;
    const sizes = [...column.sizes];
    const min = total * 0.1;
    const a = sizes[row]! + d;
    const b = sizes[row + 1]! - d;
    if (a < min || b < min) return;
    sizes[row] = a;
    sizes[row + 1] = b;
    layoutActions.resizeRows(layout, index, sizes);
  };
  return (
    <>
      <div className="column" ref={ref} style={{ flex: `${column.size} 1 0` }}>
        {column.panels.map((key, ri) => (
          <div className="row-wrap" key={key} style={{ flex: `${column.sizes[ri] ?? 1} 1 0` }}>
            <PanelFrame instance={byKey.get(key)!} layout={layout} />
            {ri < column.panels.length - 1 && <Splitter direction="horizontal" onDrag={(dy) => resizeRows(ri, dy)} />}
          </div>
        ))}
      </div>
      {!isLast && <Splitter direction="vertical" onDrag={onResize} />}
    </>
  );
}

/** A panel header being dragged onto another panel (to swap them). */
const dragStore = createStore<{ source: string | null; target: string | null; x: number; y: number }>({ source: null, target: null, x: 0, y: 0 });

/** The main-area panel under a point, if any. */
function panelKeyAt(x: number, y: number): string | null {
  const el = document.elementFromPoint(x, y)?.closest<HTMLElement>('[data-panel-key]');
  return el?.dataset.panelKey ?? null;
}

/** Pointer handlers for a panel header: past a few pixels the press becomes a drag; release over another panel swaps the two. */
function useHeaderDrag(key: string, layout: LayoutState) {
  const start = useRef<{ x: number; y: number; id: number } | null>(null);
  return {
    onPointerDown(e: React.PointerEvent<HTMLDivElement>) {
      if (e.button !== 0 || (e.target as HTMLElement).closest('button')) return;
      start.current = { x: e.clientX, y: e.clientY, id: e.pointerId };
      e.currentTarget.setPointerCapture(e.pointerId);
    },
    onPointerMove(e: React.PointerEvent<HTMLDivElement>) {
      const s = start.current;
      if (!s) return;
      const dragging = dragStore.get().source === key;
      if (!dragging && Math.hypot(e.clientX - s.x, e.clientY - s.y) < 6) return;
      const target = panelKeyAt(e.clientX, e.clientY);
      dragStore.set({ source: key, target: target && target !== key ? target : null, x: e.clientX, y: e.clientY });
    },
    onPointerUp(e: React.PointerEvent<HTMLDivElement>) {
      const { source, target } = dragStore.get();
      start.current = null;
      if (e.currentTarget.hasPointerCapture(e.pointerId)) e.currentTarget.releasePointerCapture(e.pointerId);
      dragStore.set({ source: null, target: null });
      if (source === key && target) layoutActions.swap(layout, key, target);
    },
    onPointerCancel() {
      start.current = null;
      dragStore.set({ source: null, target: null });
    },
  };
}

/** The floating title that follows a dragged header. */
export function DragGhost(): ReactNode {
  const drag = useStore(dragStore, (s) => s.source);
  const x = useStore(dragStore, (s) => s.x);
  const y = useStore(dragStore, (s) => s.y);
  const target = useStore(dragStore, (s) => s.target);
  if (!drag) return null;
  return (
    <div className="drag-ghost" style={{ transform: `translate(${x + 12}px, ${y + 8}px)` }}>
      {target ? 'Swap with this panel' : 'Drop on another panel to swap'}
    </div>
  );
}

function PanelFrame({ instance, layout, maximized = false }: { instance: PanelInstance; layout: LayoutState; maximized?: boolean }): ReactNode {
  const columnIndex = layout.columns.findIndex((c) => c.panels.includes(instance.key));
  const noDefault = (e: React.MouseEvent) => e.preventDefault();
  const drag = useHeaderDrag(instance.key, layout);
  const isSource = useStore(dragStore, (s) => s.source === instance.key);
  const isTarget = useStore(dragStore, (s) => s.target === instance.key);
  return (
    <div className={`panel${isSource ? ' drag-source' : ''}${isTarget ? ' drop-target' : ''}`} data-panel={instance.definition.id} data-panel-key={maximized ? undefined : instance.key}>
      <div className="panel-header" onDoubleClick={() => layoutActions.toggleMaximized(instance.key)} title="Drag onto another panel to swap them; double-click to maximize" data-testid="panel-header" {...(maximized ? {} : drag)}>
        <span className="panel-title">{instance.title}</span>
        <span className="panel-actions">
          {!maximized && (
            <>
              <button title="Move to the left column" onMouseDown={noDefault} onClick={() => layoutActions.move(layout, instance.key, -1)} disabled={columnIndex === 0 && layout.columns[0]!.panels.length === 1}>
                ◂
              </button>
              <button
                title="Move to the right column"
                onMouseDown={noDefault}
                onClick={() => layoutActions.move(layout, instance.key, 1)}
                disabled={columnIndex === layout.columns.length - 1 && layout.columns[columnIndex]!.panels.length === 1}
              >
                ▸
              </button>
            </>
          )}
          <button title={maximized ? 'Restore' : 'Maximize (double-click the header)'} onMouseDown={noDefault} onClick={() => layoutActions.toggleMaximized(instance.key)}>
            {maximized ? '❐' : '□'}
          </button>
          <button title="Hide panel" onMouseDown={noDefault} onClick={() => layoutActions.hide(layout, instance.key)}>
            ×
          </button>
        </span>
      </div>
      <div className="panel-body">
        <PanelBody instance={instance} />
      </div>
    </div>
  );
}

function PanelBody({ instance }: { instance: PanelInstance }): ReactNode {
  const Component = instance.definition.component;
  return (
    <PanelErrorBoundary title={instance.title}>
      <Component instanceKey={instance.key} param={instance.param} />
    </PanelErrorBoundary>
  );
}
