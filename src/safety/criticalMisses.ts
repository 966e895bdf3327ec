// Safety-critical misses: ground-truth obstacles inside the ego corridor within the braking horizon
// ("critical") that the run did not detect, or detected only late, followed by track across frames.
//
// Per track, the critical frames form episodes (a gap of more than maxGapFrames frames starts a new
// one: the obstacle left the corridor, or the horizon, and came back). In each episode:
// - never-detected ('safety-miss'): no critical frame has a matching detection;
// - detected-late ('late-detection'): the first detection comes more than lateFrames frames after
//   the first critical frame (entry);
// - lost ('safety-miss'): after a detection, more than lateFrames consecutive critical frames
//   without one.
// Frames the run has no result for count neither way. Misses rank by severity: smallest TTC over
// the missed frames first (no TTC ranks last), then smallest distance, then earliest entry.
import type { FrameRef, MarkerKind, PathConflict, SafetyMarker, SafetyMiss, SafetyParams } from './model.js';

/** A critical ground-truth obstacle in one frame: its most severe critical path conflict. */
export interface CriticalState {
  frame: FrameRef;
  trackId: string;
  label: string;
  detected: boolean | null;
  worst: PathConflict;
}

const severity = (c: Pick<PathConflict, 'ttcS' | 'distanceM'>): [number, number] => [c.ttcS ?? Infinity, c.distanceM];
const moreSevere = (a: Pick<PathConflict, 'ttcS' | 'distanceM'>, b: Pick<PathConflict, 'ttcS' | 'distanceM'>): boolean => {
  const [ta, da] = severity(a);
  const [tb, db] = severity(b);
  return ta < tb || (ta === tb && da < db);
};

/** One state per (frame, track) that is critical on at least one path, from ground-truth conflicts. */
export function criticalStates(conflicts: readonly PathConflict[]): CriticalState[] {
  const byKey = new Map<string, CriticalState>();
  for (const c of conflicts) {
    if (c.origin !== 'gt' || !c.critical) continue;
    const key = `${c.frameIndex}\u0000${c.trackId}`;
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, { frame: { frameId: c.frameId, frameIndex: c.frameIndex }, trackId: c.trackId, label: c.label, detected: c.detected, worst: c });
    else if (moreSevere(c, seen.worst)) seen.worst = c;
  }
  return [...byKey.values()].sort((a, b) => a.frame.frameIndex - b.frame.frameIndex || (a.trackId < b.trackId ? -1 : a.trackId > b.trackId ? 1 : 0));
}

type Unranked = Omit<SafetyMiss, 'rank'>;

function missOf(kind: SafetyMiss['kind'], reason: SafetyMiss['reason'], episode: readonly CriticalState[], missed: readonly CriticalState[], firstDetected: CriticalState | undefined): Unranked {
  let worst = missed[0]!;
  for (const s of missed) if (moreSevere(s.worst, worst.worst)) worst = s;
  const entry = episode[0]!;
  return {
    kind,
    reason,
    trackId: entry.trackId,
    label: entry.label,
    entryFrame: entry.frame,
    exitFrame: episode[episode.length - 1]!.frame,
    firstDetectedFrame: firstDetected?.frame ?? null,
    delayFrames: reason === 'detected-late' && firstDetected ? firstDetected.frame.frameIndex - entry.frame.frameIndex : null,
    frames: missed.map((s) => s.frame),
    criticalFrameCount: episode.length,
    minTtcS: worst.worst.ttcS,
    minDistanceM: Math.min(...missed.map((s) => s.worst.distanceM)),
    path: worst.worst.path,
    speedMps: worst.worst.speedMps,
  };
}

function episodeMisses(episode: readonly CriticalState[], lateFrames: number): Unranked[] {
  const out: Unranked[] = [];
  const firstTp = episode.findIndex((s) => s.detected === true);
  if (firstTp < 0) {
    const missed = episode.filter((s) => s.detected === false);
    if (missed.length) out.push(missOf('safety-miss', 'never-detected', episode, missed, undefined));
    return out;
  }
  const entry = episode[0]!.frame.frameIndex;
  const tp = episode[firstTp]!;
  if (tp.frame.frameIndex - entry > lateFrames) {
    const missed = episode.slice(0, firstTp).filter((s) => s.detected === false);
    // All-unknown before the first detection: the run did not look, so it cannot be called late.
    if (missed.length) out.push(missOf('late-detection', 'detected-late', episode, missed, tp));
  }
  let run: CriticalState[] = [];
  const flush = () => {
    if (run.length > lateFrames) out.push(missOf('safety-miss', 'lost', episode, run, tp));
    run = [];
  };
  for (const s of episode.slice(firstTp + 1)) {
    if (s.detected === false) run.push(s);
    else if (s.detected === true) flush();
  }
  flush();
  return out;
}

/** The ranked misses of a run, from the critical states of every frame (criticalStates). */
export function findCriticalMisses(states: readonly CriticalState[], params: Pick<SafetyParams, 'lateFrames' | 'maxGapFrames'>): SafetyMiss[] {
  const byTrack = new Map<string, CriticalState[]>();
  for (const s of states) {
    const list = byTrack.get(s.trackId);
    if (list) list.push(s);
    else byTrack.set(s.trackId, [s]);
  }
  const misses: Unranked[] = [];
  for (const list of byTrack.values()) {
    list.sort((a, b) => a.frame.frameIndex - b.frame.frameIndex);
    let episode: CriticalState[] = [];
    for (const s of list) {
      const last = episode[episode.length - 1];
      if (last && s.frame.frameIndex - last.frame.frameIndex - 1 > params.maxGapFrames) {
        misses.push(...episodeMisses(episode, params.lateFrames));
        episode = [];
      }
      episode.push(s);
    }
    if (episode.length) misses.push(...episodeMisses(episode, params.lateFrames));
  }
  misses.sort(
    (a, b) =>
      (a.minTtcS ?? Infinity) - (b.minTtcS ?? Infinity) ||
      a.minDistanceM - b.minDistanceM ||
      a.entryFrame.frameIndex - b.entryFrame.frameIndex ||
      (a.trackId < b.trackId ? -1 : a.trackId > b.trackId ? 1 : 0),
  );
  // Infinity - Infinity is NaN: misses without a TTC fall through to the distance.
  return misses.map((m, i) => ({ rank: i + 1, ...m }));
}

const KIND_ORDER: Record<MarkerKind, number> = { 'safety-miss': 0, 'late-detection': 1, 'corridor-intrusion': 2 };

/** Timeline markers: each missed frame of each miss, and every frame with a critical obstacle. */
export function safetyMarkers(misses: readonly SafetyMiss[], states: ReadonlyArray<Pick<CriticalState, 'frame' | 'trackId'>>): SafetyMarker[] {
  const byKey = new Map<string, SafetyMarker>();
  const add = (frame: FrameRef, kind: MarkerKind, trackId: string, rank: number | null) => {
    const key = `${frame.frameIndex}\u0000${kind}`;
    let marker = byKey.get(key);
    if (!marker) {
      marker = { frameId: frame.frameId, frameIndex: frame.frameIndex, kind, trackIds: [], rank };
      byKey.set(key, marker);
    }
    if (!marker.trackIds.includes(trackId)) marker.trackIds.push(trackId);
    if (rank !== null && (marker.rank === null || rank < marker.rank)) marker.rank = rank;
  };
  for (const m of misses) for (const f of m.frames) add(f, m.kind, m.trackId, m.rank);
  for (const s of states) add(s.frame, 'corridor-intrusion', s.trackId, null);
  return [...byKey.values()].sort((a, b) => a.frameIndex - b.frameIndex || KIND_ORDER[a.kind] - KIND_ORDER[b.kind]);
}
