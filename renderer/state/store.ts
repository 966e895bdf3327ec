// A minimal external store (no dependencies): state is replaced immutably on every `set`, and
// components subscribe to slices through `useStore(store, selector)` (useSyncExternalStore).
// Selectors must return values that are stable between updates (fields, not fresh objects).
import { useCallback, useSyncExternalStore } from 'react';

export interface Store<T extends object> {
  get(): T;
  set(patch: Partial<T> | ((state: T) => Partial<T>)): void;
  subscribe(listener: () => void): () => void;
}

export function createStore<T extends object>(initial: T): Store<T> {
  let state = initial;
  const listeners = new Set<() => void>();
  return {
    get: () => state,
    set(patch) {
      const delta = typeof patch === 'function' ? patch(state) : patch;
      let changed = false;
      for (const key of Object.keys(delta) as Array<keyof T>) {
        if (!Object.is(state[key], delta[key])) {
          changed = true;
          break;
        }
      }
      if (!changed) return;
      state = { ...state, ...delta };
      for (const listener of [...listeners]) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export function useStore<T extends object, U>(store: Store<T>, selector: (state: T) => U): U {
  const getSnapshot = useCallback(() => selector(store.get()), [store, selector]);
  return useSyncExternalStore(store.subscribe, getSnapshot, getSnapshot);
}
