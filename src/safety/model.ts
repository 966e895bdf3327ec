// The safety audit's data shapes and parameters: pure types and constants, no Node APIs, so the API
// contract (and through it the renderer) can use them. The core and the store produce these objects.

/** Which ego paths the corridor follows (see pathConflicts.ts). */
export type EgoPathKind = 'driven' | 'planned' | 'heading';

/** How a detection's class must relate to a ground-truth class to count as detecting it. */
export type ClassMatch = 'group' | 'exact' | 'any';

export interface SafetyParams {
  /** Ego width, m; the corridor half width is egoWidthM / 2 + corridorMarginM. */
  egoWidthM: number;
  corridorMarginM: number;
  /** From the ego frame's origin (rear axle for ROS base_link and nuScenes) to the front bumper, m. */
  egoFrontM: number;
  /** Braking horizon = v² / (2 · brakeDecelMps2) + v · reactionTimeS + horizonMarginM, from the front bumper. */
  brakeDecelMps2: number;
  reactionTimeS: number;
  horizonMarginM: number;
  /** A first detection more than this many frames after the obstacle became critical is late. */
  lateFrames: number;
  /** Critical frames of one track closer than this many frames apart form one episode. */
  maxGapFrames: number;
  /** A detection matches a ground-truth box at BEV IoU ≥ matchIoU or centre distance ≤ matchDistanceM. */
  matchIoU: number;
  matchDistanceM: number;
  /** Detections scoring below this are ignored. */
  minScore: number;
  classMatch: ClassMatch;
  paths: EgoPathKind[];
  /** Every path is extended straight along its last heading to at least this length (and the braking horizon). */
  minPathLengthM: number;
  /** Non-intruding obstacles within this clearance of the corridor are kept as near misses. */
  nearMissM: number;
}

export const DEFAULT_SAFETY_PARAMS: Readonly<SafetyParams> = Object.freeze({
  egoWidthM: 1.9,
  corridorMarginM: 0.3,
  egoFrontM: 3.7,
  brakeDecelMps2: 6,
  reactionTimeS: 1,
  horizonMarginM: 5,
  lateFrames: 3,
  maxGapFrames: 3,
  matchIoU: 0.1,
  matchDistanceM: 2,
  minScore: 0,
  classMatch: 'group' as ClassMatch,
  paths: ['driven', 'planned'] as EgoPathKind[],
  minPathLengthM: 50,
  nearMissM: 1,
});

export interface FrameRef {
  frameId: string;
  frameIndex: number;
}

/** One obstacle against one ego path in one frame. */
export interface PathConflict extends FrameRef {
  /** 'driven', 'heading', or the planned path's log topic. */
  path: string;
  origin: 'gt' | 'det';
  obstacleId: string;
  /** Ground truth: the track id (`frameId#boxId` for a box without one); detections: the stored detection id. */
  trackId: string;
  label: string;
  /** Along the path from the ego origin to where the footprint enters the corridor (or comes closest). */
  arcLengthM: number;
  /** From the front bumper: max(0, arcLengthM − egoFrontM). */
  distanceM: number;
  /** Smallest distance between the path centreline and the footprint. */
  minDistanceM: number;
  /** minDistanceM − corridor half width; negative: the depth of the intrusion. */
  clearanceM: number;
  intrudes: boolean;
  /** Seconds to reach it at the logged ego speed (obstacle taken as standing); null when not intruding or speed unknown/zero. */
  ttcS: number | null;
  /** Intrudes within the braking horizon. */
  critical: boolean;
  /** The intrusion point lies on the straight extension beyond the recorded path. */
  onExtension: boolean;
  /** Ground truth only: whether the run detected it in this frame (null: the run has no result for the frame). */
  detected: boolean | null;
  /** Ground truth: the matched detection id; detections: the matched ground-truth track. */
  matchedId: string | null;
  speedMps: number | null;
  horizonM: number | null;
}

export type MissKind = 'safety-miss' | 'late-detection';
/** never-detected: no TP in the episode; detected-late: first TP more than lateFrames after entry; lost: a gap longer than lateFrames after a TP. */
export type MissReason = 'never-detected' | 'detected-late' | 'lost';

export interface SafetyMiss {
  /** 1 = most severe: smallest TTC, then smallest distance. */
  rank: number;
  kind: MissKind;
  reason: MissReason;
  trackId: string;
  label: string;
  /** First critical frame of the episode (the obstacle entered the corridor within the braking horizon). */
  entryFrame: FrameRef;
  /** Last critical frame of the episode. */
  exitFrame: FrameRef;
  firstDetectedFrame: FrameRef | null;
  /** Frames from entry to the first detection (detected-late), else null. */
  delayFrames: number | null;
  /** The critical frames in which the run did not detect it. */
  frames: FrameRef[];
  criticalFrameCount: number;
  /** Over the missed frames. */
  minTtcS: number | null;
  minDistanceM: number;
  /** The path of the most severe missed frame, and the ego speed there. */
  path: string;
  speedMps: number | null;
}

export type MarkerKind = 'safety-miss' | 'late-detection' | 'corridor-intrusion';

/** One per frame and kind, for the timeline. */
export interface SafetyMarker extends FrameRef {
  kind: MarkerKind;
  trackIds: string[];
  /** The most severe rank among the misses behind the marker; null for corridor intrusions. */
  rank: number | null;
}

export interface SafetyAuditSummary {
  frames: number;
  framesWithSpeed: number;
  /** Frames the run has no result for (their ground truth is neither detected nor missed). */
  framesNotInRun: number;
  groundTruthBoxes: number;
  detections3d: number;
  /** Ground-truth tracks that were critical in at least one frame. */
  criticalTracks: number;
  criticalFrames: number;
  misses: { safetyMiss: number; lateDetection: number };
  conflicts: { groundTruth: number; detections: number };
  timings: { readMs: number; auditMs: number; msPerFrame: number; totalMs: number };
  warnings: string[];
}

export interface SafetyAuditRecord {
  id: number;
  logId: string;
  runId: number;
  /** 'log' = the log's own ground truth; 'label-set' = labelSetId. */
  against: 'log' | 'label-set';
  labelSetId: number | null;
  params: SafetyParams;
  summary: SafetyAuditSummary;
  softwareVersion: string;
  createdAt: string;
  createdBy: string;
  /** Sequence number of the audit event that records it. */
  auditSeq: number;
}

export interface SafetyAuditDetail extends SafetyAuditRecord {
  misses: SafetyMiss[];
  markers: SafetyMarker[];
  /** Present when asked for. */
  conflicts?: PathConflict[];
}
