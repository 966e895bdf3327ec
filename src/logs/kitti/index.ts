// KITTI folders (object benchmark, raw drives, tracking sequences) as drive logs.
export { detectKittiLayout } from './layout.js';
export type { KittiLayout, KittiObjectLayout, KittiRawLayout, KittiTrackingLayout, KittiCameraDir } from './layout.js';
export { openKittiLog } from './kittiLog.js';
export { parseKittiTimestamp } from './sources.js';
