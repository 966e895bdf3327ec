// The inference engine's public surface: models (manifest, registry, class map), engines, decoders.
export * from './types.js';
export { ModelError } from './errors.js';
export { modelManifestSchema, parseManifest, readManifestFile, DECODER_KINDS, type ModelManifest, type ManifestInput, type DecoderSpec, type SegmentationHead } from './manifest.js';
export { ModelRegistry, validateModel, checkInput, modelSha256, modelFiles, type ModelEntry, type ResolvedModel } from './registry.js';
export { COCO_TO_DRIVING, DRIVING_CLASSES, USER_CLASS_MAP_FILE, effectiveClassMap, labelTable, loadUserClassMap, type ClassMap, type DrivingClass } from './classMap.js';
export { createPreprocessor, planResize, type ImageSource, type Preprocessor } from './preprocess.js';
export { nms, boxIoU, topKIndices } from './nms.js';
export { createSession, type EngineSession, type ProviderAttempt, type SessionOptions } from './engines/index.js';
export { inspectModel, type ModelSignature } from './engines/inspect.js';
export { createOutputDecoder, checkOutputShapes, type DecoderOptions, type OutputDecoder } from './decoders/index.js';
export type { TensorMeta } from './decoders/shapes.js';
export { COCO_CLASSES } from './models/cocoClasses.js';
export { BUILTIN_MODELS } from './models/builtins.js';
