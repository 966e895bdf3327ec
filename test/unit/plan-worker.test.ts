// The planner on its worker thread (the compiled build, as the server runs it) answers exactly what
// planning in-process answers, for several frames requested at once.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FrameData } from '../../src/logs/model.js';
import type * as OpenModule from '../../src/logs/open.js';
import type * as PlanModule from '../../src/plan/index.js';
import { ensureDist, repoRoot } from '../helpers/build.js';
import { demoLogPath } from '../helpers/demo.js';

const dist = (...parts: string[]) => pathToFileURL(join(repoRoot, 'dist', 'src', ...parts)).href;

describe('planning off the event loop', () => {
  let open: typeof OpenModule;
  let plan: typeof PlanModule;
  beforeAll(async () => {
    await ensureDist();
    // Without the compiled worker script the planner falls back to in-process: this would compare it with itself.
    expect(existsSync(join(repoRoot, 'dist', 'src', 'plan', 'planWorker.js'))).toBe(true);
    open = (await import(dist('logs', 'open.js'))) as typeof OpenModule;
    plan = (await import(dist('plan', 'index.js'))) as typeof PlanModule;
  }, 300_000);

  it('gives the in-process plan for each of several frames planned concurrently', async () => {
    const path = await demoLogPath({ durationS: 5, seed: 1 });
    const detected = await open.detectLog(path);
    const drive = await open.openDriveLog(path, detected, { logId: open.logIdFromFingerprint(detected.fingerprint) });
    try {
      const frames: FrameData[] = [];
      for (const index of [0, 20, 40]) frames.push(await drive.readFrame(index, { cameras: false, lidar: true }));
      const options = { movingObstacles: 'follow' } as const;
      const offThread = await Promise.all(frames.map((f) => plan.planFrameOffThread(f, options)));
      frames.forEach((frame, k) => {
        const here = plan.planFrame(frame, options);
        const there = offThread[k]!;
        expect(there.frameId).toBe(frame.id);
        expect(there.planned.points).toEqual(here.planned.points);
        expect(there.planned.minClearanceM).toBe(here.planned.minClearanceM);
        expect(there.intrusions).toEqual(here.intrusions);
        expect(there.grid).toEqual(here.grid);
      });
      // Frame 40 comes up on the stalled car: the path leaves the lane centre around it.
      expect(Math.max(...offThread[2]!.planned.points.map((p) => Math.abs(p[1])))).toBeGreaterThan(1.5);
    } finally {
      await drive.close();
    }
  });
});
