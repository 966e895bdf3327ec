// Explainability: occlusion-sensitivity saliency maps for single detections, their heatmap PNGs
// for the camera overlay, cache keys, the SQLite cache and the service behind the API.
export { computeSaliency, matchTarget, type RawImage, type SaliencyRequest, type SaliencyResult } from './saliency.js';
export {
  resolveSaliencyParams,
  SaliencyAbortedError,
  SaliencyError,
  type OcclusionFill,
  type OcclusionSpace,
  type SaliencyParams,
  type SaliencyParamsInput,
  type SaliencyRegion,
  type SaliencyTarget,
} from './params.js';
export { planOcclusion, type OcclusionPlan, type Rect } from './grid.js';
export { colormapTable, saliencyRaster, saliencyToPng, type Colormap, type HeatmapOptions } from './heatmap.js';
export { canonicalJson, imageSha256, saliencyKey, SALIENCY_VERSION } from './key.js';
export { explainMethods, saliencyParamsSchema, type ExplainMethodInput, type ExplainMethodName } from './api.js';
export { createExplainHandlers } from './handlers.js';
export { SaliencyService, type SaliencyServiceDeps } from './service.js';
export { countSaliencyMaps, getSaliencyByKey, insertSaliencyMap, listSaliencyOfTarget, saliencyTargetKey } from './store.js';
export { SALIENCY_TASK_PREFIX, type SaliencyMap, type SaliencyParamsRecord, type SaliencyStart, type SaliencySummary } from './model.js';
