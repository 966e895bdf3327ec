// One ReviewController per session, kept in step with the app: the open log's label sets, the frame
// on screen (its review and history, loaded once the cursor rests), the stubs (markers) and other
// windows' label changes.
import { useSession } from '../../app/sessionContext.js';
import { appStore } from '../../state/appState.js';
import { ReviewController, reviewStore } from '../../state/review.js';
import type { Session } from '../../state/session.js';

let current: { session: Session; controller: ReviewController } | null = null;

/** Frame history follows the cursor, but not every frame of playback. */
const FRAME_SETTLE_MS = 150;

function attach(session: Session): ReviewController {
  const controller = new ReviewController(session);
  let logId: string | null = null;
  let frameIndex = -1;
  let stubs = appStore.get().stubs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const sync = () => {
    const s = appStore.get();
    const nextLog = s.log?.id ?? null;
    if (nextLog !== logId) {
      logId = nextLog;
      void controller.loadSets(logId);
    }
    if (s.stubs !== stubs) {
      stubs = s.stubs;
      controller.publishMarkers();
    }
    if (s.frameIndex !== frameIndex) {
      frameIndex = s.frameIndex;
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (!appStore.get().playing) void controller.loadFrame(appStore.get().frameIndex);
      }, FRAME_SETTLE_MS);
    }
  };
  appStore.subscribe(sync);
  // Attached during a component's render: the first sync publishes markers (a store update), which
  // React forbids mid-render, so it runs right after.
  queueMicrotask(sync);
  session.api.on('labelsChanged', (event) => {
    const { setId, labelSets } = reviewStore.get();
    if (!labelSets.some((s) => s.id === event.setId)) void controller.loadSets(logId);
    else if (event.setId === setId) void controller.loadFrame(appStore.get().frameIndex);
  });
  return controller;
}

/** The session's review controller (created and wired on first use). */
export function reviewControllerFor(session: Session): ReviewController {
  if (current?.session !== session) current = { session, controller: attach(session) };
  return current.controller;
}

export function useReviewController(): ReviewController {
  return reviewControllerFor(useSession());
}
