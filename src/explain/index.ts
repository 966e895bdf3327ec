// Explainability: occlusion-sensitivity saliency maps for single detections, their heatmap PNGs
// for the camera overlay, and cache keys for storing them.
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
