// Label correction and review: label sets, append-only correction events with derived state,
// undo/redo, track interpolation, review status, issues and stage sign-off.
export * from './model.js';
export { LabelError, LabelConflictError, type LabelErrorCode } from './errors.js';
export { LabelService, normalizeValue, applyPatch, labelFromDetection, newSessionId } from './service.js';
export type { LabelServiceOptions, LabelInput, LabelPatch, LabelEdit, EditContext, FrameRef, BulkLabelSetInput } from './service.js';
export { ReviewService } from './review.js';
export { interpolateBox3D, interpolateBox2D, clampBox2D, shortestArc, wrapAngle, GEOMETRY_DERIVED_ATTRIBUTES } from './geometry.js';
export { labelMethods, labelEditSchema, labelInputSchema, labelPatchSchema, type LabelMethodName, type LabelMethodInput, type LabelsChangedEvent } from './api.js';
export { createLabelHandlers, type LabelHandlerDeps } from './handlers.js';
