// The built-in lidar obstacle detector as a pipeline "model": no file, no engine. Its identity for
// provenance and resume is the algorithm version, which changes when its results would.
import { createHash } from 'node:crypto';
import { softwareVersion } from '../../version.js';
import type { PipelineModel } from './protocol.js';

export const LIDAR_MODEL_ID = 'lidar-clusters';
/** Point label values: index into this list. */
export const LIDAR_CLASSES = ['other', 'ground', 'obstacle'];

export function lidarModel(): PipelineModel {
  const sha256 = createHash('sha256').update(`${LIDAR_MODEL_ID}@${softwareVersion}:${LIDAR_CLASSES.join(',')}`).digest('hex');
  return {
    manifest: { id: LIDAR_MODEL_ID, name: 'Lidar ground segmentation + Euclidean clustering + oriented boxes', task: 'segment3d' },
    modelPath: '',
    sha256,
  };
}
