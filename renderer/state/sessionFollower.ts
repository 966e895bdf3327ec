// Controllers that follow the app (label editing, review): one per session, told when the open log
// changes and when the cursor has come to rest on a frame (not on every frame of playback).
import { appStore, type AppState } from './appState.js';
import type { Session } from './session.js';

/** A getter that makes the controller on first use for a session and keeps it for that session. */
export function perSession<C>(attach: (session: Session) => C): (session: Session) => C {
  let current: { session: Session; controller: C } | null = null;
  return (session) => {
    if (current?.session !== session) current = { session, controller: attach(session) };
    return current.controller;
  };
}

export interface FollowCallbacks {
  /** The open log changed (null: none open). */
  log(logId: string | null): void;
  /** The cursor (or the frame list) changed and has rested `settleMs` while not playing. */
  frameRested(frameIndex: number): void;
  /** Any other app change the controller watches (called on every store update). */
  changed?(state: AppState): void;
}

export function followApp(callbacks: FollowCallbacks, settleMs: number): void {
  let logId: string | null | undefined;
  let frameIndex = -1;
  let stubs: AppState['stubs'] | undefined;
  let playing: boolean | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const sync = () => {
    const s = appStore.get();
    const nextLog = s.log?.id ?? null;
    if (nextLog !== logId) {
      logId = nextLog;
      callbacks.log(nextLog);
    }
    if (s.frameIndex !== frameIndex || s.stubs !== stubs || s.playing !== playing) {
      frameIndex = s.frameIndex;
      stubs = s.stubs;
      playing = s.playing;
      clearTimeout(timer);
      if (!s.playing) timer = setTimeout(() => !appStore.get().playing && callbacks.frameRested(appStore.get().frameIndex), settleMs);
    }
    callbacks.changed?.(s);
  };
  appStore.subscribe(sync);
  // Attached during a component's render: the first sync may update stores, which React forbids
  // mid-render, so it runs right after.
  queueMicrotask(sync);
}
