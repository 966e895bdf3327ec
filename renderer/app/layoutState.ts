// The layout: a sidebar, resizable columns of stacked panels, and a bottom strip. Persisted in
// localStorage; instances that appear later (a log with more cameras) are placed automatically.
import { createStore } from '../state/store.js';
import type { PanelInstance } from './panelRegistry.js';

export interface LayoutColumn {
  size: number;
  panels: string[];
  /** Relative heights of `panels`. */
  sizes: number[];
}

export interface LayoutState {
  version: 1;
  sidebarOpen: boolean;
  sidebarWidth: number;
  sidebar: string[];
  /** Sidebar panels folded to their header. */
  collapsed: string[];
  columns: LayoutColumn[];
  bottom: string[];
  hidden: string[];
}

const KEY = 'sightline.layout.v1';

export function defaultLayout(): LayoutState {
  return {
    version: 1,
    sidebarOpen: true,
    sidebarWidth: 290,
    sidebar: [],
    // Reference sections start folded; the review tools stay open.
    collapsed: ['log-info', 'logs'],
    columns: [
      { size: 1, panels: [], sizes: [] },
      { size: 1, panels: [], sizes: [] },
    ],
    bottom: [],
    hidden: [],
  };
}

function isLayout(value: unknown): value is LayoutState {
  const v = value as LayoutState;
  return (
    typeof v === 'object' &&
    v !== null &&
    v.version === 1 &&
    Array.isArray(v.sidebar) &&
    Array.isArray(v.columns) &&
    v.columns.every((c) => Array.isArray(c.panels) && Array.isArray(c.sizes) && typeof c.size === 'number') &&
    Array.isArray(v.bottom) &&
    Array.isArray(v.hidden) &&
    typeof v.sidebarWidth === 'number'
  );
}

function load(): LayoutState {
  try {
    const raw = localStorage.getItem(KEY);
    if (raw) {
      const parsed: unknown = JSON.parse(raw);
      if (isLayout(parsed)) return { ...defaultLayout(), ...parsed, collapsed: parsed.collapsed ?? [] };
    }
  } catch {
    // fall through to the default
  }
  return defaultLayout();
}

export const layoutStore = createStore<{ layout: LayoutState; maximized: string | null }>({ layout: load(), maximized: null });

export function setLayout(update: (layout: LayoutState) => LayoutState): void {
  const layout = update(layoutStore.get().layout);
  layoutStore.set({ layout });
  try {
    localStorage.setItem(KEY, JSON.stringify(layout));
  } catch {
    // not persisted
  }
}

export function resetLayout(): void {
  setLayout(() => defaultLayout());
  layoutStore.set({ maximized: null });
}

/** The layout as rendered: placed instances only, new ones added, empty columns dropped. */
export function effectiveLayout(layout: LayoutState, instances: PanelInstance[]): LayoutState {
  const available = new Set(instances.map((i) => i.key));
  const hidden = layout.hidden.filter((k) => available.has(k));
  const placed = new Set<string>([...layout.sidebar, ...layout.bottom, ...layout.columns.flatMap((c) => c.panels), ...hidden]);
  const columns = layout.columns.map((c) => ({ ...c, panels: [...c.panels], sizes: [...c.sizes] }));
  const sidebar = [...layout.sidebar];
  const bottom = [...layout.bottom];
  for (const instance of instances) {
    if (placed.has(instance.key)) continue;
    const { region } = instance.definition;
    if (region === 'sidebar') sidebar.push(instance.key);
    else if (region === 'bottom') bottom.push(instance.key);
    else {
      while (columns.length <= instance.column) columns.push({ size: 1, panels: [], sizes: [] });
      const column = columns[instance.column]!;
      column.panels.push(instance.key);
      column.sizes.push(1);
    }
  }
  const keep = (k: string) => available.has(k) && !hidden.includes(k);
  const rendered = columns
    .map((c) => {
      const panels: string[] = [];
      const sizes: number[] = [];
      c.panels.forEach((k, i) => {
        if (keep(k)) {
          panels.push(k);
          sizes.push(c.sizes[i] ?? 1);
        }
      });
      return { size: c.size, panels, sizes };
    })
    .filter((c) => c.panels.length > 0);
  return { ...layout, sidebar: sidebar.filter(keep), bottom: bottom.filter(keep), columns: rendered, hidden };
}

/** Actions on the effective layout (they persist the result). */
export const layoutActions = {
  hide(effective: LayoutState, key: string): void {
    setLayout(() => ({ ...effective, hidden: [...effective.hidden, key] }));
    if (layoutStore.get().maximized === key) layoutStore.set({ maximized: null });
  },
  show(effective: LayoutState, key: string): void {
    // Dropping it from every list lets `effectiveLayout` place it in its default region.
    setLayout(() => ({
      ...effective,
      hidden: effective.hidden.filter((k) => k !== key),
      sidebar: effective.sidebar.filter((k) => k !== key),
      bottom: effective.bottom.filter((k) => k !== key),
      columns: effective.columns.map((c) => {
        const i = c.panels.indexOf(key);
        return i < 0 ? c : { ...c, panels: c.panels.filter((k) => k !== key), sizes: c.sizes.filter((_, j) => j !== i) };
      }),
    }));
  },
  /** Moves a main-area panel one column left (-1) or right (+1), creating a column at the edge. */
  move(effective: LayoutState, key: string, direction: -1 | 1): void {
    const from = effective.columns.findIndex((c) => c.panels.includes(key));
    if (from < 0) return;
    const columns = effective.columns.map((c) => ({ ...c, panels: [...c.panels], sizes: [...c.sizes] }));
    const source = columns[from]!;
    const i = source.panels.indexOf(key);
    const [size] = source.sizes.splice(i, 1);
    source.panels.splice(i, 1);
    let to = from + direction;
    if (to < 0) {
      columns.unshift({ size: 1, panels: [], sizes: [] });
      to = 0;
    } else if (to >= columns.length) {
      columns.push({ size: 1, panels: [], sizes: [] });
    }
    const target = columns[to]!;
    target.panels.push(key);
    target.sizes.push(size ?? 1);
    setLayout(() => ({ ...effective, columns: columns.filter((c) => c.panels.length > 0) }));
  },
  /** Exchanges two panels' places (drag a header onto another panel), wherever they are. */
  swap(effective: LayoutState, a: string, b: string): void {
    if (a === b) return;
    const exchange = (k: string) => (k === a ? b : k === b ? a : k);
    setLayout(() => ({
      ...effective,
      sidebar: effective.sidebar.map(exchange),
      bottom: effective.bottom.map(exchange),
      columns: effective.columns.map((c) => ({ ...c, panels: c.panels.map(exchange) })),
    }));
  },
  resizeColumns(effective: LayoutState, sizes: number[]): void {
    setLayout(() => ({ ...effective, columns: effective.columns.map((c, i) => ({ ...c, size: sizes[i] ?? c.size })) }));
  },
  resizeRows(effective: LayoutState, column: number, sizes: number[]): void {
    setLayout(() => ({ ...effective, columns: effective.columns.map((c, i) => (i === column ? { ...c, sizes } : c)) }));
  },
  setSidebarWidth(effective: LayoutState, width: number): void {
    setLayout(() => ({ ...effective, sidebarWidth: Math.round(Math.max(200, Math.min(560, width))) }));
  },
  toggleSidebar(): void {
    setLayout((l) => ({ ...l, sidebarOpen: !l.sidebarOpen }));
  },
  toggleCollapsed(key: string): void {
    setLayout((l) => ({ ...l, collapsed: l.collapsed.includes(key) ? l.collapsed.filter((k) => k !== key) : [...l.collapsed, key] }));
  },
  toggleMaximized(key: string): void {
    layoutStore.set((s) => ({ maximized: s.maximized === key ? null : key }));
  },
};
