// Short labels for nuScenes category names. The ten detection classes follow the devkit's
// category_to_detection_name; other categories keep their last name part ('vehicle.emergency.police'
// -> 'police'). Lyft's categories ('car', 'other_vehicle') have no dots and stay as they are.
const DETECTION_CLASS: Record<string, string> = {
  'vehicle.car': 'car',
  'vehicle.truck': 'truck',
  'vehicle.bus.bendy': 'bus',
  'vehicle.bus.rigid': 'bus',
  'vehicle.trailer': 'trailer',
  'vehicle.construction': 'construction_vehicle',
  'vehicle.motorcycle': 'motorcycle',
  'vehicle.bicycle': 'bicycle',
  'human.pedestrian.adult': 'pedestrian',
  'human.pedestrian.child': 'pedestrian',
  'human.pedestrian.construction_worker': 'pedestrian',
  'human.pedestrian.police_officer': 'pedestrian',
  'movable_object.trafficcone': 'traffic_cone',
  'movable_object.barrier': 'barrier',
};

export function shortLabel(category: string): string {
  const known = DETECTION_CLASS[category];
  if (known) return known;
  const parts = category.split('.');
  return parts[parts.length - 1] || 'unknown';
}
