// Built-in path planning for review overlays: occupancy grid, reference planner, corridor analysis.
export {
  buildOccupancyGrid,
  cellIndexAt,
  clearanceAt,
  distanceAt,
  groundHeightAt,
  isOccupied,
  CELL_BOX,
  CELL_POINTS,
  DEFAULT_OCCUPANCY,
  type GridExtent,
  type OccupancyGrid,
  type OccupancyInput,
  type OccupancyOptions,
} from './occupancy.js';
export {
  planReferencePath,
  footprintCircles,
  DEFAULT_VEHICLE,
  DEFAULT_WEIGHTS,
  type PlannedPath,
  type PlanOptions,
  type PlanWeights,
  type VehicleShape,
} from './planner.js';
export {
  clearanceAlongPath,
  corridorIntrusions,
  minDistanceAlongPath,
  timeToCollision,
  type CorridorIntrusion,
  type CorridorOptions,
  type CorridorPoints,
  type TtcOptions,
} from './corridor.js';
export {
  drivenPathFromPoses,
  pathAhead,
  polylineLength,
  polylineStations,
  projectOntoPolyline,
  referenceLine,
  resamplePolyline,
  wrapAngle,
  EGO_START,
  type PlanarPose,
  type ReferenceChoice,
  type ReferenceLine,
} from './paths.js';
export { PlanCache, hashPlanInputs } from './cache.js';
export { isMovingBox, lidarToEgo, planFrame, planFrameCached, type PlanFrameOptions, type PlannedFrame } from './frame.js';
export { planFrameOffThread } from './offThread.js';
export { footprintCorners } from './geometry2d.js';
