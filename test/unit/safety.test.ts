// Safety audit: path conflicts, safety-critical misses, the store, the API table and the CLI.
// Synthetic boxes checked against hand-computed geometry, then the real demo drive (its stalled car in
// the ego lane) with detector runs written through the store, in a real SQLite database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/contract.js';
import { registerSafetyCommands } from '../../src/cli/commands/safety.js';
import { buildScenario, egoSpeed } from '../../src/demo/scenario.js';
import { importLogGroundTruth } from '../../src/io/index.js';
import type { DriveLog } from '../../src/logs/driveLog.js';
import type { Box3D, FrameData, Polyline, Vec3 } from '../../src/logs/model.js';
import { detectLog, logIdFromFingerprint, openDriveLog } from '../../src/logs/open.js';
import {
  brakingHorizonM,
  classesCompatible,
  classGroup,
  corridorHalfWidth,
  createSafetyHandlers,
  criticalStates,
  DEFAULT_SAFETY_PARAMS,
  egoPathsOfFrame,
  egoSpeedsFromPoses,
  extendStraight,
  findCriticalMisses,
  frameConflicts,
  getSafetyAudit,
  listSafetyAudits,
  listSafetyConflicts,
  matchDetections,
  resolveSafetyParams,
  runSafetyAudit,
  SafetyError,
  safetyMarkers,
  safetyMethods,
  verifySafetyAudit,
  type CriticalState,
  type PathConflict,
  type SafetyAuditDetail,
  type SafetyParams,
} from '../../src/safety/index.js';
import { verifyAuditChain } from '../../src/store/audit.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import type { DetectionInput, FrameResult } from '../../src/store/detections.js';
import { createImportedRun } from '../../src/store/importedRuns.js';
import { recordLogOpened } from '../../src/store/logs.js';
import { demoLogPath } from '../helpers/demo.js';

const P = resolveSafetyParams();
const H = corridorHalfWidth(P); // 1.9 / 2 + 0.3 = 1.25

const box = (id: string, x: number, y: number, o: { length?: number; width?: number; yaw?: number; label?: string; trackId?: string } = {}): Box3D => {
  const b: Box3D = { id, label: o.label ?? 'car', center: [x, y, 0.75], size: [o.length ?? 4, o.width ?? 2, 1.5], yaw: o.yaw ?? 0 };
  if (o.trackId) b.trackId = o.trackId;
  return b;
};

const straight: Polyline = { id: 'plan', source: '/planning/path', stampNs: '0', points: [[0, 0, 0], [60, 0, 0]] };

/** One synthetic frame audited along a straight planned path. */
function conflictsOf(gts: Box3D[], speed: number, dets: Box3D[] = [], params: SafetyParams = P, matched = true): PathConflict[] {
  const { paths } = egoPathsOfFrame({ paths: [straight] }, params.paths, 60);
  return frameConflicts(
    { frameId: 'f', frameIndex: 0, speedMps: speed, paths, groundTruth: gts, detections: dets, matches: matched ? matchDetections(gts, dets, params) : undefined },
    params,
  );
}

describe('path conflicts of synthetic boxes', () => {
  it('the defaults and the braking horizon, by hand', () => {
    expect(H).toBeCloseTo(1.25, 12);
    // 10 m/s: 100 / 12 + 10 + 5
    expect(brakingHorizonM(10, P)).toBeCloseTo(100 / 12 + 15, 12);
    expect(brakingHorizonM(0, P)).toBe(5);
    expect(brakingHorizonM(Number.NaN, P)).toBeNaN();
    expect(brakingHorizonM(20, { brakeDecelMps2: 4, reactionTimeS: 0.5, horizonMarginM: 2 })).toBeCloseTo(400 / 8 + 10 + 2, 12);
    expect(() => resolveSafetyParams({ brakeDecelMps2: -1 })).toThrow(SafetyError);
    expect(() => resolveSafetyParams({ paths: [] })).toThrow(/paths/);
    expect(resolveSafetyParams({ lateFrames: 5 }).lateFrames).toBe(5);
  });

  it('measures intrusion distance and TTC along the path', () => {
    // Footprint x 28..32, y -0.5..1.5: crosses the centreline; enters the corridor at its rear edge.
    const [hit] = conflictsOf([box('a', 30, 0.5)], 10);
    expect(hit!.intrudes).toBe(true);
    expect(hit!.arcLengthM).toBeCloseTo(28, 9);
    expect(hit!.distanceM).toBeCloseTo(28 - 3.7, 9);
    expect(hit!.minDistanceM).toBe(0);
    expect(hit!.clearanceM).toBeCloseTo(-1.25, 9);
    expect(hit!.ttcS).toBeCloseTo(24.3 / 10, 9);
    // 24.3 m from the bumper: outside the 23.33 m horizon at 10 m/s, inside the 24.69 m one at 10.5 m/s.
    expect(hit!.critical).toBe(false);
    const [faster] = conflictsOf([box('a', 30, 0.5)], 10.5);
    expect(faster!.horizonM).toBeCloseTo(10.5 ** 2 / 12 + 10.5 + 5, 9);
    expect(faster!.critical).toBe(true);
    expect(faster!.ttcS).toBeCloseTo(24.3 / 10.5, 9);
    // Rotated 90°: footprint x 19..21, y 0.5..4.5; only its part below y = 1.25 is in the corridor, entering at x = 19.
    const [rotated] = conflictsOf([box('r', 20, 2.5, { yaw: Math.PI / 2 })], 8);
    expect(rotated!.intrudes).toBe(true);
    expect(rotated!.arcLengthM).toBeCloseTo(19, 9);
    expect(rotated!.minDistanceM).toBeCloseTo(0.5, 9);
    expect(rotated!.ttcS).toBeCloseTo((19 - 3.7) / 8, 9);
    // Rotated 45° with its corner toward the path: a 2√2 square at (10, 3), lowest corner at y = 3 − 2, x = 10.
    const [diamond] = conflictsOf([box('d', 10, 3, { length: 2 * Math.SQRT2, width: 2 * Math.SQRT2, yaw: Math.PI / 4 })], 8);
    expect(diamond!.minDistanceM).toBeCloseTo(1, 9);
    expect(diamond!.intrudes).toBe(true);
    // Enters the |y| <= 1.25 band where the two lower edges cross y = 1.25: x = 10 - 0.25.
    expect(diamond!.arcLengthM).toBeCloseTo(9.75, 9);
    // At a standstill there is no TTC, and only the margin counts as horizon.
    const [stopped] = conflictsOf([box('a', 6, 0)], 0);
    expect(stopped!.ttcS).toBeNull();
    expect(stopped!.distanceM).toBeCloseTo(4 - 3.7, 9);
    expect(stopped!.critical).toBe(true);
    // Unknown speed: reported, never critical.
    const [unknown] = conflictsOf([box('a', 6, 0)], Number.NaN);
    expect(unknown!.critical).toBe(false);
    expect(unknown!.speedMps).toBeNull();
  });

  it('never counts an obstacle outside the corridor, however close', () => {
    // Inner edge at y = 1.4: 0.15 m clear of the 1.25 m corridor: a near miss, not an intrusion.
    const near = conflictsOf([box('n', 8, 2.4)], 12);
    expect(near).toHaveLength(1);
    expect(near[0]!.intrudes).toBe(false);
    expect(near[0]!.clearanceM).toBeCloseTo(0.15, 9);
    expect(near[0]!.critical).toBe(false);
    expect(near[0]!.ttcS).toBeNull();
    // Far beside the path (3 m clear): not even a near miss.
    expect(conflictsOf([box('far', 8, 5)], 12)).toHaveLength(0);
    // Behind the ego: the corridor starts at the ego.
    expect(conflictsOf([box('behind', -5, 0)], 12)).toHaveLength(0);
    // Undetected, in many frames: no miss, no marker.
    const states = criticalStates(Array.from({ length: 10 }, (_, i) => conflictsOf([box('n', 8, -2.4, { trackId: 'n' })], 12).map((c) => ({ ...c, frameIndex: i, frameId: `f${i}` }))).flat());
    expect(states).toHaveLength(0);
    expect(findCriticalMisses(states, P)).toHaveLength(0);
    expect(safetyMarkers([], states)).toHaveLength(0);
  });

  it('matches detections by compatible class, BEV IoU or centre distance, one to one', () => {
    expect(classGroup('Van')).toBe('vehicle');
    expect(classGroup('vehicle.emergency.police')).toBe('vehicle');
    expect(classGroup('human.pedestrian.adult')).toBe('person');
    expect(classGroup('motorcycle')).toBe('two-wheeler');
    expect(classesCompatible('car', 'truck', 'group')).toBe(true);
    expect(classesCompatible('cyclist', 'motorcycle', 'group')).toBe(true);
    expect(classesCompatible('car', 'pedestrian', 'group')).toBe(false);
    expect(classesCompatible('pedestrian', 'obstacle', 'group')).toBe(true); // lidar clusters
    expect(classesCompatible('car', 'truck', 'exact')).toBe(false);
    expect(classesCompatible('Car', 'car', 'exact')).toBe(true);
    expect(classesCompatible('car', 'pedestrian', 'any')).toBe(true);

    const gt = box('g', 20, 0, { trackId: 'g' });
    const at = (x: number, y: number, label = 'car', length = 4, width = 2) => box(`d${x}${y}${label}`, x, y, { label, length, width });
    const match = (dets: Box3D[], params: Partial<SafetyParams> = {}) => matchDetections([gt], dets, { ...P, ...params });
    expect(match([at(20, 0, 'truck')]).get(0)).toBe(0);
    expect(match([at(20, 0, 'pedestrian')]).has(0)).toBe(false);
    expect(match([at(20, 0, 'pedestrian')], { classMatch: 'any' }).get(0)).toBe(0);
    expect(match([at(20, 0, 'truck')], { classMatch: 'exact' }).has(0)).toBe(false);
    // Centre 1.9 m away (no overlap needed) matches; 2.5 m away beside it (no overlap) does not.
    expect(match([at(20, 1.9, 'car', 0.5, 0.5)]).get(0)).toBe(0);
    expect(match([at(20, 2.5, 'car', 0.5, 0.5)]).has(0)).toBe(false);
    // 3 m along a 10 m truck: centres too far apart, BEV IoU 7 / 13 ≥ 0.1.
    const truck = box('t', 20, 0, { length: 10, label: 'truck' });
    expect(matchDetections([truck], [box('d', 23, 0, { length: 10, label: 'truck' })], P).get(0)).toBe(0);
    // 9.5 m along: IoU 0.5 / 19.5 < 0.1 and 9.5 m apart.
    expect(matchDetections([truck], [box('d', 29.5, 0, { length: 10, label: 'truck' })], P).has(0)).toBe(false);
    // Two obstacles side by side, one detection between them: it detects only one (the better overlap).
    const pair = [box('l', 20, 1, { width: 1.8 }), box('r', 20, -1.2, { width: 1.8 })];
    const one = matchDetections(pair, [box('d', 20, 0.6, { width: 1.8 })], P);
    expect([...one.entries()]).toEqual([[0, 0]]);
    // The conflict rows say so: the left one detected, the right one missed.
    const rows = conflictsOf(pair.map((b, i) => ({ ...b, trackId: `t${i}` })), 10, [box('77', 20, 0.6, { width: 1.8 })]).filter((c) => c.origin === 'gt');
    expect(rows.map((r) => [r.trackId, r.detected, r.matchedId])).toEqual([['t0', true, '77'], ['t1', false, null]]);
    // A frame the run has no result for: neither detected nor missed.
    expect(conflictsOf([gt], 10, [], P, false)[0]!.detected).toBeNull();
  });

  it('extends a short path straight along its end heading, and follows planned paths and the heading on request', () => {
    const diagonal: Vec3[] = [[0, 0, 0], [1, 1, 0], [2, 2, 0], [3, 3, 0]];
    const ext = extendStraight(diagonal, 20);
    expect(ext.recordedLengthM).toBeCloseTo(3 * Math.SQRT2, 9);
    const end = ext.points[ext.points.length - 1]!;
    expect(Math.hypot(end[0], end[1])).toBeCloseTo(20, 9);
    expect(end[0]).toBeCloseTo(end[1], 9);
    // Too short to have a heading: along the ego's +x.
    expect(extendStraight([[0, 0, 0]], 10).points.at(-1)).toEqual([10, 0, 0]);
    const driven: Polyline = { id: 'ego-driven', source: 'ego-driven', stampNs: '0', points: [[-10, 0, 0], [-5, 0, 0], [0, 0, 0], [5, 0, 0]] };
    const both = egoPathsOfFrame({ paths: [driven, straight] }, ['driven', 'planned', 'heading'], 30);
    expect(both.paths.map((p) => p.source)).toEqual(['driven', '/planning/path', 'heading']);
    expect(both.paths[0]!.points[0]).toEqual([0, 0, 0]); // from the ego onwards
    expect(both.paths[0]!.recordedLengthM).toBeCloseTo(5, 9);
    // The conflict beyond the recorded 5 m is on the extension.
    const c = frameConflicts({ frameId: 'f', frameIndex: 0, speedMps: 10, paths: [both.paths[0]!], groundTruth: [box('a', 20, 0)], detections: [] }, P);
    expect(c[0]!.onExtension).toBe(true);
    expect(c[0]!.arcLengthM).toBeCloseTo(18, 9);
    // No path in the frame: straight ahead along the heading.
    const none = egoPathsOfFrame({ paths: [] }, ['driven'], 30);
    expect(none.fellBackToHeading).toBe(true);
    expect(none.paths[0]!.points).toEqual([[0, 0, 0], [30, 0, 0]]);
  });

  it('derives the ego speed from poses: central differences, one-sided at the ends and at gaps', () => {
    const pose = (x: number, y = 0) => ({ translation: [x, y, 0] as Vec3, rotation: [0, 0, 0, 1] as [number, number, number, number] });
    const samples = [0, 1, 2, 3, 4].map((i) => ({ stampNs: String(BigInt(i) * 100_000_000n), egoPose: pose(i * i * 0.1, i * i * 0.1) }));
    const v = egoSpeedsFromPoses(samples);
    // positions along the diagonal at s_i = 0.1·i²·√2, 0.1 s apart
    const s = (i: number) => 0.1 * i * i * Math.SQRT2;
    expect(v[0]).toBeCloseTo((s(1) - s(0)) / 0.1, 9);
    expect(v[2]).toBeCloseTo((s(3) - s(1)) / 0.2, 9);
    expect(v[4]).toBeCloseTo((s(4) - s(3)) / 0.1, 9);
    const gap = egoSpeedsFromPoses([samples[0]!, { stampNs: samples[1]!.stampNs }, samples[2]!, samples[3]!]);
    expect(gap[0]).toBeNaN(); // its only neighbour has no pose
    expect(gap[1]).toBeNaN();
    expect(gap[2]).toBeCloseTo((s(3) - s(2)) / 0.1, 9);
  });

  it('finds never-detected, late and lost obstacles in episodes, ranked by TTC then distance', () => {
    const state = (i: number, trackId: string, detected: boolean | null, ttcS: number | null, distanceM: number): CriticalState => {
      const frame = { frameId: `f${i}`, frameIndex: i };
      const worst: PathConflict = {
        ...frame, path: 'driven', origin: 'gt', obstacleId: trackId, trackId, label: 'car', arcLengthM: distanceM + 3.7, distanceM, minDistanceM: 0, clearanceM: -1,
        intrudes: true, ttcS, critical: true, onExtension: false, detected, matchedId: null, speedMps: 10, horizonM: 30,
      };
      return { frame, trackId, label: 'car', detected, worst };
    };
    const states = [
      // never detected over frames 0..4, TTC down to 1.6 s
      ...[0, 1, 2, 3, 4].map((i) => state(i, 'never', false, 2 - i * 0.1, 20 - i)),
      // first detected 4 frames after entry (late with N = 3)
      ...[10, 11, 12, 13].map((i) => state(i, 'late', false, 2.5, 25)),
      state(14, 'late', true, 2.4, 24),
      // detected 2 frames after entry: on time; then lost for 4 frames
      state(20, 'lost', false, 3, 30), state(21, 'lost', false, 3, 30), state(22, 'lost', true, 3, 30),
      ...[23, 24, 25, 26].map((i) => state(i, 'lost', false, 1.2, 12)),
      state(27, 'lost', true, 1, 10),
      // a later episode of 'never' (gap of 10 frames), detected at entry: nothing
      state(15, 'never', true, 5, 50),
      // frames the run has no result for, then a detection: not late (it did not look)
      ...[30, 31, 32, 33, 34].map((i) => state(i, 'unrun', null, 2, 20)),
      state(35, 'unrun', true, 2, 20),
    ];
    const misses = findCriticalMisses(states, P);
    expect(misses.map((m) => [m.rank, m.kind, m.reason, m.trackId])).toEqual([
      [1, 'safety-miss', 'lost', 'lost'],
      [2, 'safety-miss', 'never-detected', 'never'],
      [3, 'late-detection', 'detected-late', 'late'],
    ]);
    const [lost, never, late] = misses;
    expect(lost!.frames.map((f) => f.frameIndex)).toEqual([23, 24, 25, 26]);
    expect(lost!.minTtcS).toBeCloseTo(1.2, 12);
    expect(never!.frames.map((f) => f.frameIndex)).toEqual([0, 1, 2, 3, 4]);
    expect(never!.minTtcS).toBeCloseTo(1.6, 12);
    expect(never!.minDistanceM).toBe(16);
    expect(never!.entryFrame.frameIndex).toBe(0);
    expect(never!.exitFrame.frameIndex).toBe(4);
    expect(never!.firstDetectedFrame).toBeNull();
    expect(late!.delayFrames).toBe(4);
    expect(late!.firstDetectedFrame!.frameIndex).toBe(14);
    expect(late!.frames.map((f) => f.frameIndex)).toEqual([10, 11, 12, 13]);
    // N = 4: the late one is on time and the lost gap (4 frames) is not longer than N.
    expect(findCriticalMisses(states, { lateFrames: 4, maxGapFrames: 3 }).map((m) => m.trackId)).toEqual(['never']);
    // Without a TTC, the distance decides.
    const noTtc = findCriticalMisses([state(0, 'a', false, null, 30), state(0, 'b', false, null, 10), state(0, 'c', false, 9, 40)], P);
    expect(noTtc.map((m) => m.trackId)).toEqual(['c', 'b', 'a']);
    const markers = safetyMarkers(misses, states);
    expect(markers.filter((m) => m.kind === 'safety-miss').map((m) => m.frameIndex)).toEqual([0, 1, 2, 3, 4, 23, 24, 25, 26]);
    expect(markers.filter((m) => m.kind === 'late-detection').map((m) => m.frameIndex)).toEqual([10, 11, 12, 13]);
    expect(markers.find((m) => m.frameIndex === 23 && m.kind === 'safety-miss')!.rank).toBe(1);
    expect(markers.filter((m) => m.kind === 'corridor-intrusion')).toHaveLength(states.length);
  });
});

// ---- the demo drive ----

/**
 * The demo's stalled car enters the braking horizon only under a comfort-braking profile within a
 * 5 s drive: with the default hard braking (6 m/s², 1 s) the horizon at 11 m/s is 26 m, and the
 * car is still 33 m ahead of the bumper when the drive ends (the scripted ego swerves around it
 * ~40 m before reaching it in longer drives).
 */
const COMFORT: Partial<SafetyParams> = { brakeDecelMps2: 2.5, reactionTimeS: 1.5 };

interface DemoFrame {
  frame: FrameData;
  stalled: Box3D | undefined;
}

/** min x of the footprint inside the band |y| <= h: where a straight path along +x enters it, or undefined. */
function straightEntry(b: Box3D, h: number): number | undefined {
  const c = Math.cos(b.yaw);
  const s = Math.sin(b.yaw);
  const corners = [[1, 1], [-1, 1], [-1, -1], [1, -1]].map(([u, v]) => {
    const lx = (u! * b.size[0]) / 2;
    const ly = (v! * b.size[1]) / 2;
    return [b.center[0] + c * lx - s * ly, b.center[1] + s * lx + c * ly] as const;
  });
  const xs: number[] = [];
  for (let k = 0; k < 4; k++) {
    const [ax, ay] = corners[k]!;
    const [bx, by] = corners[(k + 1) % 4]!;
    if (Math.abs(ay) <= h) xs.push(ax);
    for (const edge of [h, -h]) {
      if ((ay - edge) * (by - edge) < 0) xs.push(ax + ((edge - ay) / (by - ay)) * (bx - ax));
    }
  }
  return xs.length ? Math.max(0, Math.min(...xs)) : undefined;
}

describe('the demo drive: the stalled car in the ego lane', () => {
  let dir: string;
  let db: Db;
  let drive: DriveLog;
  let logPath: string;
  let logId: string;
  let frames: DemoFrame[];
  let expected: number[];
  const params = resolveSafetyParams(COMFORT);
  const STALLED = '1';

  /** An imported "detector run" whose 3D detections copy each frame's labels3d, except those `drop` rejects. */
  function detectorRun(name: string, drop: (b: Box3D, frameIndex: number) => boolean, relabel?: (b: Box3D) => string): number {
    const results: FrameResult[] = frames.map(({ frame }) => ({
      frameId: frame.id,
      frameIndex: frame.index,
      stampNs: frame.stampNs,
      masks: [],
      pointLabels: [],
      detections: frame.labels3d
        .filter((b) => !drop(b, frame.index))
        .map((b): DetectionInput => ({
          sensorId: 'lidar',
          label: relabel?.(b) ?? b.label,
          modelClass: b.label,
          classIndex: 0,
          score: 0.9,
          box3d: { cx: b.center[0], cy: b.center[1], cz: b.center[2], length: b.size[0], width: b.size[1], height: b.size[2], yaw: b.yaw },
          trackId: b.trackId,
        })),
    }));
    return createImportedRun(db, { name, logId, format: 'test-copy', path: logPath, softwareVersion: 'test', framesTotal: results.length, frames: results }, 'tester').id;
  }

  const audit = (runId: number, extra: Partial<SafetyParams> = {}, labelSetId?: number): Promise<SafetyAuditDetail> =>
    runSafetyAudit(db, drive, { runId, labelSetId, params: { ...COMFORT, ...extra }, actor: 'tester' });

  beforeAll(async () => {
    logPath = await demoLogPath({ durationS: 5, seed: 1 });
    dir = mkdtempSync(join(tmpdir(), 'sightline-safety-'));
    db = openDatabase(join(dir, 'workspace.db'));
    const detected = await detectLog(logPath);
    logId = logIdFromFingerprint(detected.fingerprint);
    drive = await openDriveLog(logPath, detected, { logId });
    recordLogOpened(db, { ...drive.info, sizeBytes: detected.sizeBytes }, 'tester');
    await drive.backgroundWork;
    frames = [];
    for (const stub of drive.frames) {
      const frame = await drive.readFrame(stub.index, { cameras: false, lidar: false });
      frames.push({ frame, stalled: frame.labels3d.find((b) => b.trackId === STALLED) });
    }

    // The expected critical frames, from the geometry alone: the ego drives straight in these 5 s (checked
    // below), so the corridor is the band |y| <= 1.25 m ahead of the ego; the speed is the pose
    // displacement over the neighbouring frames.
    const h = 1.9 / 2 + 0.3;
    const position = (i: number) => frames[i]!.frame.egoPose!.translation;
    const time = (i: number) => frames[i]!.frame.timeS;
    expected = [];
    let closest = Infinity;
    for (let i = 0; i < frames.length; i++) {
      const a = Math.max(0, i - 1);
      const b = Math.min(frames.length - 1, i + 1);
      const v = Math.hypot(position(b)[0] - position(a)[0], position(b)[1] - position(a)[1]) / (time(b) - time(a));
      expect(Math.abs(v - egoSpeed(time(i)))).toBeLessThan(0.05); // the scripted speed
      const stalled = frames[i]!.stalled;
      const entry = stalled && straightEntry(stalled, h);
      if (entry === undefined) continue;
      const distance = entry - 3.7;
      const horizon = (v * v) / (2 * 2.5) + v * 1.5 + 5;
      closest = Math.min(closest, Math.abs(distance - horizon));
      if (distance <= horizon) expected.push(i);
    }
    // No frame sits on the boundary, where centimetres of path shape could decide.
    expect(closest).toBeGreaterThan(0.2);
  }, 120_000);

  afterAll(async () => {
    await drive?.close();
    db?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has the stalled car as ground-truth track "1", in the lane ahead, with a straight driven path', () => {
    expect(buildScenario(1).obstacleTrackId).toBe(STALLED);
    const last = frames[frames.length - 1]!;
    expect(last.stalled?.attributes?.role).toBe('obstacle');
    expect(last.stalled!.center[0]).toBeGreaterThan(35);
    expect(Math.abs(last.stalled!.center[1])).toBeLessThan(1.25);
    for (const i of expected) {
      const driven = frames[i]!.frame.paths.find((p) => p.source === 'ego-driven')!;
      for (const p of driven.points) if (p[0] >= 0) expect(Math.abs(p[1])).toBeLessThan(0.05);
    }
    // Critical in the last frames of the drive, a contiguous stretch long enough for a late detection.
    expect(expected.length).toBeGreaterThanOrEqual(params.lateFrames + 3);
    expect(expected[expected.length - 1]).toBe(frames.length - 1);
    expect(expected).toEqual(Array.from({ length: expected.length }, (_, k) => expected[0]! + k));
    console.log(`demo: stalled car critical (comfort braking) in frames ${expected[0]}-${expected[expected.length - 1]} of ${frames.length}`);
  });

  it('a run that detects every ground-truth box has no safety-critical miss', async () => {
    const runId = detectorRun('all boxes', () => false);
    const result = await audit(runId);
    expect(result.misses).toEqual([]);
    expect(result.summary.criticalTracks).toBe(1);
    expect(result.summary.misses).toEqual({ safetyMiss: 0, lateDetection: 0 });
    expect(result.markers.filter((m) => m.kind !== 'corridor-intrusion')).toEqual([]);
    expect(result.markers.map((m) => m.frameIndex)).toEqual(expected);
    expect(result.markers.every((m) => m.trackIds.join() === STALLED)).toBe(true);
    // Every critical ground-truth conflict is detected, by a detection that itself conflicts there.
    const critical = listSafetyConflicts(db, result.id, { origin: 'gt', criticalOnly: true });
    expect(critical.length).toBe(expected.length);
    expect(critical.every((c) => c.detected === true && c.matchedId !== null)).toBe(true);
    const detConflicts = listSafetyConflicts(db, result.id, { origin: 'det', trackId: critical[0]!.matchedId! });
    expect(detConflicts[0]!.matchedId).toBe(STALLED);
    expect(result.summary.warnings).toEqual([]);
    console.log(`demo audit: ${result.summary.frames} frames, ${result.summary.conflicts.groundTruth + result.summary.conflicts.detections} conflicts, ${result.summary.timings.msPerFrame} ms per frame (read ${result.summary.timings.readMs} ms, total ${result.summary.timings.totalMs} ms)`);
  });

  it('without the stalled car\'s detections: exactly one safety-critical miss, for it, at the critical frames', async () => {
    const runId = detectorRun('without the stalled car', (b) => b.trackId === STALLED);
    const result = await audit(runId);
    expect(result.misses).toHaveLength(1);
    const miss = result.misses[0]!;
    expect(miss).toMatchObject({ rank: 1, kind: 'safety-miss', reason: 'never-detected', trackId: STALLED, label: 'car', firstDetectedFrame: null, delayFrames: null, path: 'driven' });
    expect(miss.frames.map((f) => f.frameIndex)).toEqual(expected);
    expect(miss.frames.map((f) => f.frameId)).toEqual(expected.map((i) => frames[i]!.frame.id));
    expect(miss.entryFrame.frameIndex).toBe(expected[0]);
    expect(miss.exitFrame.frameIndex).toBe(expected[expected.length - 1]);
    // Most severe in the last frame: distance from the bumper and TTC at the logged speed.
    const last = frames[frames.length - 1]!;
    const entry = straightEntry(last.stalled!, 1.25)!;
    expect(miss.minDistanceM).toBeCloseTo(entry - 3.7, 1);
    expect(miss.minTtcS!).toBeCloseTo((entry - 3.7) / egoSpeed(last.frame.timeS), 1);
    expect(result.markers.filter((m) => m.kind === 'safety-miss').map((m) => m.frameIndex)).toEqual(expected);
    expect(result.markers.filter((m) => m.kind === 'corridor-intrusion').map((m) => m.frameIndex)).toEqual(expected);
    // With the default hard braking, the car never comes within the horizon in these 5 s.
    const hard = await runSafetyAudit(db, drive, { runId, actor: 'tester' });
    expect(hard.misses).toEqual([]);
    expect(hard.params.brakeDecelMps2).toBe(DEFAULT_SAFETY_PARAMS.brakeDecelMps2);
  });

  it('a detection more than N frames late is a late detection; N frames late is not', async () => {
    const n = params.lateFrames;
    const lateBy = (k: number) => detectorRun(`stalled car from +${k}`, (b, i) => b.trackId === STALLED && i < expected[0]! + k);
    const onTime = await audit(lateBy(n));
    expect(onTime.misses).toEqual([]);
    const late = await audit(lateBy(n + 2));
    expect(late.misses).toHaveLength(1);
    expect(late.misses[0]).toMatchObject({ kind: 'late-detection', reason: 'detected-late', trackId: STALLED, delayFrames: n + 2 });
    expect(late.misses[0]!.firstDetectedFrame!.frameIndex).toBe(expected[n + 2]);
    expect(late.misses[0]!.frames.map((f) => f.frameIndex)).toEqual(expected.slice(0, n + 2));
    expect(late.markers.filter((m) => m.kind === 'late-detection').map((m) => m.frameIndex)).toEqual(expected.slice(0, n + 2));
    // A stricter audit (N = 0) calls even the first one late.
    expect((await audit(lateBy(1), { lateFrames: 0 })).misses[0]!.kind).toBe('late-detection');
  });

  it('a detection of the wrong class group does not count, unless any class is accepted', async () => {
    const runId = detectorRun('stalled car as pedestrian', () => false, (b) => (b.trackId === STALLED ? 'pedestrian' : b.label));
    expect((await audit(runId)).misses.map((m) => [m.trackId, m.reason])).toEqual([[STALLED, 'never-detected']]);
    expect((await audit(runId, { classMatch: 'any' })).misses).toEqual([]);
  });

  it('audits against a label set made from the log ground truth the same way', async () => {
    const set = await importLogGroundTruth(db, { logPath, actor: 'tester', name: 'demo gt' });
    const runId = detectorRun('without the stalled car (set)', (b) => b.trackId === STALLED);
    const fromSet = await audit(runId, {}, set.id);
    expect(fromSet.against).toBe('label-set');
    expect(fromSet.labelSetId).toBe(set.id);
    expect(fromSet.misses.map((m) => [m.kind, m.trackId, m.frames.map((f) => f.frameIndex)])).toEqual([['safety-miss', STALLED, expected]]);
  });

  it('stores each audit with an audit event, append-only, and serves it through the API table', async () => {
    const runId = detectorRun('api run', (b) => b.trackId === STALLED);
    const handlers = createSafetyHandlers({
      db,
      actor: 'api-user',
      getLog: (id) => {
        if (id !== logId) throw new ApiError('NOT_FOUND', `Log ${id} is not open`);
        return drive;
      },
    });
    const input = safetyMethods.runSafetyAudit.input.parse({ logId, runId, params: COMFORT });
    const detail = (await handlers.runSafetyAudit(input)) as SafetyAuditDetail;
    expect(detail.createdBy).toBe('api-user');
    expect(detail.misses).toHaveLength(1);
    const stored = getSafetyAudit(db, detail.id)!;
    expect(stored.params).toEqual(params);
    expect(stored.summary.misses.safetyMiss).toBe(1);
    const event = db.prepare('SELECT action, entity_type, entity_id, payload_json, actor FROM audit_events WHERE seq = ?').get(stored.auditSeq) as Record<string, string>;
    expect(event).toMatchObject({ action: 'safety.audit', entity_type: 'safety_audit', entity_id: String(detail.id), actor: 'api-user' });
    expect(JSON.parse(event.payload_json!)).toMatchObject({ runId, logId, misses: 1 });
    expect(verifyAuditChain(db).ok).toBe(true);
    expect(verifySafetyAudit(db, detail.id).ok).toBe(true);
    expect(() => db.prepare('UPDATE safety_misses SET min_distance_m = 99 WHERE audit_id = ?').run(detail.id)).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM safety_audits WHERE id = ?').run(detail.id)).toThrow(/append-only/);

    const got = (await handlers.getSafetyAudit(safetyMethods.getSafetyAudit.input.parse({ auditId: detail.id }))) as SafetyAuditDetail;
    expect(got.misses).toEqual(detail.misses);
    expect(got.markers).toEqual(detail.markers); // recomputed from the stored rows
    const markers = await handlers.safetyMarkers(safetyMethods.safetyMarkers.input.parse({ logId, runId }));
    expect(markers).toEqual(detail.markers);
    expect(await handlers.safetyMarkers({ logId, runId: 999_999 })).toEqual([]);
    const listed = (await handlers.listSafetyAudits({ runId })) as unknown[];
    expect(listed).toHaveLength(1);
    expect(listSafetyAudits(db, { logId }).map((a) => a.id)).toContain(detail.id);
    const frameConflictsOf = (await handlers.getFrameConflicts({ auditId: detail.id, frameId: frames[expected[0]!]!.frame.id })) as PathConflict[];
    expect(frameConflictsOf.some((c) => c.trackId === STALLED && c.critical && c.detected === false)).toBe(true);

    // Errors carry API codes.
    await expect(handlers.runSafetyAudit({ logId, runId: 999_999 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    recordLogOpened(db, { id: 'otherlog00000000', path: '/nowhere', name: 'other', format: 'mcap', sizeBytes: 1, fingerprint: 'x', frameCount: 0, durationS: 0 }, 'tester');
    const foreign = createImportedRun(db, { name: 'foreign', logId: 'otherlog00000000', format: 'x', path: '/nowhere', softwareVersion: 't', framesTotal: 0, frames: [] }, 'tester');
    await expect(handlers.runSafetyAudit({ logId, runId: foreign.id })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/belongs to log otherlog/) });
    await expect(handlers.getSafetyAudit({ auditId: 999_999 })).rejects.toBeInstanceOf(ApiError);
    expect(safetyMethods.runSafetyAudit.input.safeParse({ logId, runId, params: { brakeDecelMps2: 0 } }).success).toBe(false);
    expect(safetyMethods.runSafetyAudit.input.safeParse({ logId, runId, params: { unknownKnob: 1 } }).success).toBe(false);
  });

  it('the CLI prints the ranked misses (text and JSON) and lists the audits', async () => {
    detectorRun('cli run', (b) => b.trackId === STALLED);
    const cli = async (args: string[]): Promise<string> => {
      const program = new Command('sightline').exitOverride();
      registerSafetyCommands(program);
      const chunks: string[] = [];
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = ((chunk: string | Uint8Array) => {
        chunks.push(String(chunk));
        return true;
      }) as typeof process.stdout.write;
      try {
        await program.parseAsync(args, { from: 'user' });
      } finally {
        process.stdout.write = write;
      }
      return chunks.join('');
    };
    const file = join(dir, 'workspace.db');
    const json = JSON.parse(await cli(['safety', '--db', file, '--log', logPath, '--run', 'cli run', '--brake-decel', '2.5', '--reaction-time', '1.5', '--json'])) as SafetyAuditDetail;
    expect(json.misses.map((m) => [m.rank, m.kind, m.trackId, m.frames.length])).toEqual([[1, 'safety-miss', STALLED, expected.length]]);
    expect(json.params.brakeDecelMps2).toBe(2.5);
    const text = await cli(['safety', '--db', file, '--log', logPath, '--run', 'cli run', '--brake-decel', '2.5', '--reaction-time', '1.5']);
    expect(text).toMatch(new RegExp(`^1 +safety-miss +never-detected +${STALLED} +car +${expected[0]}-${expected[expected.length - 1]} `, 'm'));
    expect(await cli(['safety', '--db', file, '--log', logPath, '--run', 'cli run'])).toMatch(/No safety-critical misses/);
    const list = await cli(['safety', 'list', '--db', file, '--json']);
    expect((JSON.parse(list) as unknown[]).length).toBe(listSafetyAudits(db).length);
    expect(await cli(['safety', 'show', String(json.id), '--db', file])).toContain(`Safety audit ${json.id}`);
    await expect(cli(['safety', '--db', file, '--log', logPath, '--run', 'no such run'])).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(cli(['safety', '--db', file, '--log', logPath, '--run', 'cli run', '--against', '1', '--log-gt'])).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });
});
