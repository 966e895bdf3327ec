// One ReviewController per session, kept in step with the app: the open log's label sets, the frame
// on screen (its review and history, loaded once the cursor rests), the stubs (markers) and other
// windows' label changes.
import { useSession } from '../../app/sessionContext.js';
import { appStore } from '../../state/appState.js';
import { ReviewController, reviewStore } from '../../state/review.js';
import type { Session } from '../../state/session.js';
import { followApp, perSession } from '../../state/sessionFollower.js';

/** Frame history follows the cursor, but not every frame of playback. */
const FRAME_SETTLE_MS = 150;

function attach(session: Session): ReviewController {
  const controller = new ReviewController(session);
  let logId: string | null = null;
  let stubs = appStore.get().stubs;
  followApp(
    {
      log: (next) => {
        logId = next;
        void controller.loadSets(next);
      },
      frameRested: (index) => void controller.loadFrame(index),
      changed: (s) => {
        if (s.stubs === stubs) return;
        stubs = s.stubs;
        controller.publishMarkers();
      },
    },
    FRAME_SETTLE_MS,
  );
  session.api.on('labelsChanged', (event) => {
    const { setId, labelSets } = reviewStore.get();
    if (!labelSets.some((s) => s.id === event.setId)) void controller.loadSets(logId);
    else if (event.setId === setId) void controller.loadFrame(appStore.get().frameIndex);
  });
  return controller;
}

/** The session's review controller (created and wired on first use). */
export const reviewControllerFor = perSession(attach);

export function useReviewController(): ReviewController {
  return reviewControllerFor(useSession());
}
