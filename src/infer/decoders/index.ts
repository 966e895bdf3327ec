// Raw model outputs -> detections and masks in source-image pixels, by the manifest's decoder kind.
import { effectiveClassMap, labelTable, loadUserClassMap, type ClassMap } from '../classMap.js';
import type { ModelManifest } from '../manifest.js';
import type { ModelOutput, PreparedInput, RawOutputs } from '../types.js';
import { centernetCandidates } from './centernet.js';
import { finalizeDetections, type CandidateList } from './common.js';
import { nanodetCandidates } from './nanodet.js';
import { decodeSegmentation } from './segmentation.js';
import { ssdCandidates } from './ssd.js';
import { yolov5Candidates, yolov8Candidates, yoloxCandidates } from './yolo.js';

export type OutputDecoder = (raw: RawOutputs, input: PreparedInput) => ModelOutput;

export interface DecoderOptions {
  /** User overrides of the class map; read from `<dataDir>/class-map.json` when omitted. */
  userClassMap?: ClassMap;
}

export function createOutputDecoder(manifest: ModelManifest, options: DecoderOptions = {}): OutputDecoder {
  const spec = manifest.decoder;
  if (spec.kind === 'segmentation') {
    return (raw, input) => ({ detections: [], masks: decodeSegmentation(spec, manifest, raw, input) });
  }
  const classMap = effectiveClassMap(manifest.classes, manifest.classMap, options.userClassMap ?? loadUserClassMap());
  const labels = labelTable(manifest.classes, classMap);
  let candidates: (raw: RawOutputs, input: PreparedInput) => CandidateList;
  switch (spec.kind) {
    case 'centernet':
      candidates = (raw, input) => centernetCandidates(spec, manifest, raw, input);
      break;
    case 'nanodet':
      candidates = (raw, input) => nanodetCandidates(spec, manifest, raw, input);
      break;
    case 'yolox':
      candidates = (raw, input) => yoloxCandidates(spec, manifest, raw, input);
      break;
    case 'yolov5':
      candidates = (raw, input) => yolov5Candidates(spec, manifest, raw, input);
      break;
    case 'yolov8':
      candidates = (raw, input) => yolov8Candidates(spec, manifest, raw, input);
      break;
    case 'ssd':
      candidates = (raw, input) => ssdCandidates(spec, manifest, raw, input);
      break;
  }
  return (raw, input) => ({
    detections: finalizeDetections(candidates(raw, input), spec, input.transform, manifest.classes, labels),
    masks: [],
  });
}

export { checkOutputShapes } from './shapes.js';
