// nuScenes-style drive logs: the devkit's v1.0 tables (and Lyft Level 5's v1.01) and mmdet3d's info.json sample layout.
export { detectNuscenesLayout, type InfoLayout, type NuscenesLayout, type TablesLayout } from './layout.js';
export { openNuscenesLog } from './nuscenesLog.js';
export { decodePointFile, NUSCENES_FLOATS_PER_POINT } from './points.js';
export { forEachTableRecord } from './json.js';
