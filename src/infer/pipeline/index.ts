// The inference pipeline: runs a model (and/or the built-in lidar detector) over a drive log in
// worker-thread stages and stores every result, resumably, in the workspace database.
export {
  runInference,
  parseFrameRange,
  WRITE_BATCH_FRAMES,
  FLUSH_MS,
  type InferenceOptions,
  type RunHandle,
  type RunSummary,
  type FrameRange,
  type WorkerCounts,
  type StageTiming,
} from './run.js';
export { type RunProgress } from './progress.js';
export { type ModelStageFactory, type PipelineSession, type SessionOptions, type StageImage } from './factory.js';
export { LIDAR_MODEL_ID, LIDAR_CLASSES } from './lidarModel.js';
export { NotBuiltError } from './compiled.js';
