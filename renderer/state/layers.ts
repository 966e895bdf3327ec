// The one table of overlay layers: the sidebar toggles, the 1–9 shortcuts and the help overlay all
// read it, so every layer has exactly one key and one name.

export type LayerId = 'gt2d' | 'gt3d' | 'detections' | 'lidarProjection' | 'masks' | 'paths' | 'frusta' | 'grid' | 'wireframes';

export interface LayerDefinition {
  id: LayerId;
  /** The digit that toggles it. */
  key: string;
  label: string;
  description: string;
}

export const LAYERS: readonly LayerDefinition[] = [
  { id: 'gt2d', key: '1', label: 'GT 2D', description: 'Ground-truth image boxes (dashed) and ignore regions' },
  { id: 'gt3d', key: '2', label: 'GT 3D', description: 'Ground-truth 3D boxes' },
  { id: 'detections', key: '3', label: 'Detections', description: 'Detections of the visible runs' },
  { id: 'lidarProjection', key: '4', label: 'Lidar in camera', description: 'Lidar points projected into the images, coloured by depth' },
  { id: 'masks', key: '5', label: 'Masks', description: 'Segmentation masks' },
  { id: 'paths', key: '6', label: 'Paths', description: 'Driven, planned and reference paths with their corridors' },
  { id: 'frusta', key: '7', label: 'Frusta', description: 'Camera frusta in 3D' },
  { id: 'grid', key: '8', label: 'Grid', description: 'Ground grid and range rings in 3D' },
  { id: 'wireframes', key: '9', label: '3D in camera', description: '3D boxes projected into the images as wireframes' },
];

export type LayerSettings = Record<LayerId, boolean>;

export function defaultLayers(): LayerSettings {
  return { gt2d: true, gt3d: true, detections: true, lidarProjection: false, masks: true, paths: true, frusta: true, grid: true, wireframes: true };
}

export function parseLayers(value: unknown): LayerSettings {
  const out = defaultLayers();
  if (typeof value !== 'object' || value === null) return out;
  for (const layer of LAYERS) {
    const v = (value as Record<string, unknown>)[layer.id];
    if (typeof v === 'boolean') out[layer.id] = v;
  }
  return out;
}
