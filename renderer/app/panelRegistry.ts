// The panel registry (Foxglove-style): a panel is one `registerPanel` call. The layout places
// every registered panel's instances in a region; users move, resize and hide them.
import type { ComponentType } from 'react';
import type { LogInfo } from '../../src/logs/model.js';

export type PanelRegion = 'sidebar' | 'main' | 'bottom';

export interface PanelProps {
  /** `<panel id>` or `<panel id>:<param>` for multi-instance panels. */
  instanceKey: string;
  /** The instance parameter (e.g. a camera sensor id); '' for single-instance panels. */
  param: string;
}

export interface PanelDefinition {
  /** Stable id, used in persisted layouts. */
  id: string;
  title: string;
  component: ComponentType<PanelProps>;
  region: PanelRegion;
  /** For `main`: the column it starts in (0 = left). */
  defaultColumn?: number;
  /** For `main`: the starting column for this log (overrides `defaultColumn`; e.g. right of a camera grid). */
  placement?: (log: LogInfo | null) => number;
  /** Sort order within its region when first placed. */
  order?: number;
  /**
   * Multi-instance panels (one per camera, say): the instances for the open log. Without it the
   * panel has exactly one instance.
   */
  instances?: (log: LogInfo | null) => Array<{ param: string; title: string; column?: number }>;
}

export interface PanelInstance {
  key: string;
  param: string;
  title: string;
  definition: PanelDefinition;
  /** Where it starts when the saved layout does not place it yet. */
  column: number;
}

const registry = new Map<string, PanelDefinition>();
const listeners = new Set<() => void>();

export function registerPanel(definition: PanelDefinition): void {
  if (registry.has(definition.id)) throw new Error(`Panel '${definition.id}' is registered twice`);
  registry.set(definition.id, definition);
  listeners.forEach((l) => l());
}

export function registeredPanels(): PanelDefinition[] {
  return [...registry.values()].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
}

export function onRegistryChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function panelInstances(log: LogInfo | null): PanelInstance[] {
  const out: PanelInstance[] = [];
  for (const definition of registeredPanels()) {
    const column = definition.placement?.(log) ?? definition.defaultColumn ?? 0;
    if (!definition.instances) {
      out.push({ key: definition.id, param: '', title: definition.title, definition, column });
      continue;
    }
    for (const instance of definition.instances(log)) {
      out.push({ key: `${definition.id}:${instance.param}`, param: instance.param, title: instance.title, definition, column: instance.column ?? column });
    }
  }
  return out;
}
