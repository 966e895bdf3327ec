// What every reader returns: a lazily-read drive. `open` reads only the index/summary;
// `readFrame` reads only what that frame needs.
import type { FrameData, FrameStub, LogInfo } from './model.js';

export interface FrameInclude {
  cameras: boolean;
  lidar: boolean;
}

export interface DriveLog {
  readonly info: LogInfo;
  readonly frames: readonly FrameStub[];
  readFrame(index: number, include?: Partial<FrameInclude>): Promise<FrameData>;
  close(): Promise<void>;
  /** Resolves when background reading (e.g. the ego trajectory for driven paths) is done. */
  readonly backgroundWork?: Promise<void>;
}

export interface OpenOptions {
  /** Stable id the caller assigns (the store derives it from the content fingerprint). */
  logId: string;
  fingerprint: string;
  referenceSensor?: string;
  /** Read the ego trajectory for driven paths (default true); batch readers such as inference skip it. */
  egoTrajectory?: boolean;
}
