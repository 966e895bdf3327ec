// The scripted scenario: who is where, when. Everything is a closed-form (or tabulated) function
// of time, so any instant (sweep stamp, camera stamp) can be evaluated exactly.
//
// Timeline (default 20 s): the ego starts at s = 0 in the right lane at 8 m/s and speeds up to
// 11 m/s. A stalled car (the obstacle) stands in the ego lane at s = 85; the lead car, ~50 m
// ahead, swerves around it first, then the ego nudges into the oncoming lane (a smooth lateral
// offset) while no oncoming car is near. Before the left-hand curve the ego slows for a zebra
// crossing that a pedestrian crosses in front of it, then speeds up through the curve.
import type { Vec3 } from '../logs/model.js';
import { createRng } from '../util/rng.js';
import { Material, type Rgb } from './materials.js';
import { EGO_LANE_D, LEFT_KERB_D, ONCOMING_LANE_D, PARKING_LANE_D, RIGHT_KERB_D, Road } from './road.js';

export type DemoClass = 'car' | 'truck' | 'pedestrian' | 'cyclist';
export type AgentRole = 'obstacle' | 'lead' | 'oncoming' | 'parked' | 'pedestrian' | 'crossing-pedestrian' | 'cyclist';

/** A box of an agent's body in the agent frame: x forward from the box centre, z0 above the ground. */
export interface PartSpec {
  x: number;
  y: number;
  z0: number;
  l: number;
  w: number;
  h: number;
  material: number;
  color: Rgb;
}

/** Where an agent is, in road coordinates, as a function of time. */
export type Motion =
  | { kind: 'static'; s: number; d: number; yawOffset: number }
  /** s = s0 + v t (v < 0 drives against the road direction); d may depend on s (swerves). */
  | { kind: 'lane'; s0: number; v: number; d: number | ((s: number) => number) }
  /** Walks a polyline of (s, d) waypoints at constant speed from t = 0, then stands at the end. */
  | { kind: 'path'; points: Array<[number, number]>; speed: number };

export interface AgentDef {
  /** Numeric id used in object-id buffers (1..N); the track id is its decimal string. */
  objectId: number;
  trackId: string;
  label: DemoClass;
  role: AgentRole;
  /** The ground-truth box size [length, width, height]: the envelope of the parts. */
  size: Vec3;
  /** Parts relative to the box centre (x, y) and the ground (z0). */
  parts: PartSpec[];
  motion: Motion;
}

export interface StaticPart {
  center: Vec3;
  size: Vec3;
  yaw: number;
  material: number;
  color: Rgb;
}

/** Unlabelled scenery (street lights, trees, walls, buildings): not part of the ground truth. */
export interface StaticDef {
  /** 1000 + index, so object-id buffers tell scenery from agents. */
  objectId: number;
  kind: 'street-light' | 'tree' | 'wall' | 'building';
  parts: StaticPart[];
}

export const STATIC_ID_BASE = 1000;

export const OBSTACLE_S = 85;
export const OBSTACLE_D = -2.25;
export const CROSSWALK_S = 160;

/** Lateral offset profile of a swerve around the obstacle, as a function of s of the swerving car. */
export function swerveD(s: number): number {
  const rise = smoothstep((s - (OBSTACLE_S - 40)) / 30);
  const fall = smoothstep((s - (OBSTACLE_S + 6)) / 30);
  return EGO_LANE_D + 2.4 * (rise - fall);
}

/** 0 below 0, 1 above 1, C2-continuous in between (smootherstep). */
export function smoothstep(x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  return x * x * x * (x * (x * 6 - 15) + 10);
}

/** Ego speed (m/s): 8 -> 11, slow to 6.5 for the crossing, then 10 through the curve. */
export function egoSpeed(t: number): number {
  return 8 + 3 * smoothstep(t / 5) - 4.5 * smoothstep((t - 9.5) / 4) + 3.5 * smoothstep((t - 15) / 4);
}

const CAR_COLORS: Rgb[] = [
  [168, 170, 174], [222, 222, 218], [38, 39, 44], [32, 52, 112], [86, 88, 94],
  [44, 92, 162], [176, 160, 124], [40, 78, 60], [120, 30, 36],
];
const SHIRT_COLORS: Rgb[] = [
  [170, 40, 50], [40, 110, 160], [200, 160, 40], [60, 130, 70], [120, 60, 140], [225, 225, 220], [230, 120, 60],
];

function vehicleParts(l: number, w: number, h: number, material: number, color: Rgb): PartSpec[] {
  return [{ x: 0, y: 0, z0: 0, l, w, h, material, color }];
}

function pedestrianParts(h: number, shirt: Rgb): PartSpec[] {
  const head = 0.26;
  return [
    { x: 0, y: 0, z0: 0, l: 0.36, w: 0.56, h: h - head, material: Material.PedestrianBody, color: shirt },
    { x: 0, y: 0, z0: h - head, l: 0.22, w: 0.2, h: head, material: Material.Head, color: [222, 184, 152] },
  ];
}

function cyclistParts(jersey: Rgb): PartSpec[] {
  return [
    { x: 0, y: 0, z0: 0, l: 1.75, w: 0.16, h: 1.0, material: Material.Bike, color: [40, 44, 50] },
    { x: -0.1, y: 0, z0: 0.42, l: 0.4, w: 0.42, h: 0.6, material: Material.PedestrianBody, color: [40, 44, 60] },
    { x: -0.05, y: 0, z0: 1.0, l: 0.55, w: 0.46, h: 0.56, material: Material.RiderBody, color: jersey },
    { x: 0.12, y: 0, z0: 1.54, l: 0.22, w: 0.2, h: 0.26, material: Material.Head, color: [222, 184, 152] },
  ];
}

/** Recentres parts so their envelope is centred on the box centre; returns the envelope size. */
function envelope(parts: PartSpec[]): { parts: PartSpec[]; size: Vec3 } {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity, z1 = 0;
  for (const p of parts) {
    x0 = Math.min(x0, p.x - p.l / 2);
    x1 = Math.max(x1, p.x + p.l / 2);
    y0 = Math.min(y0, p.y - p.w / 2);
    y1 = Math.max(y1, p.y + p.w / 2);
    z1 = Math.max(z1, p.z0 + p.h);
  }
  const mx = (x0 + x1) / 2;
  const my = (y0 + y1) / 2;
  return { parts: parts.map((p) => ({ ...p, x: p.x - mx, y: p.y - my })), size: [x1 - x0, y1 - y0, z1] };
}

export interface Scenario {
  road: Road;
  agents: AgentDef[];
  statics: StaticDef[];
  obstacleTrackId: string;
}

/** Builds the cast. The timeline is fixed; the seed varies looks (colours, sizes, scenery, jitter). */
export function buildScenario(seed: number): Scenario {
  const rng = createRng(seed);
  const uniform = (a: number, b: number): number => a + (b - a) * rng();
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rng() * list.length) % list.length]!;
  const road = new Road({ s: CROSSWALK_S, halfLength: 2 });
  const agents: AgentDef[] = [];
  const add = (label: DemoClass, role: AgentRole, rawParts: PartSpec[], motion: Motion): AgentDef => {
    const { parts, size } = envelope(rawParts);
    const objectId = agents.length + 1;
    const agent: AgentDef = { objectId, trackId: String(objectId), label, role, size, parts, motion };
    agents.push(agent);
    return agent;
  };
  const car = (material: number = Material.CarBody, color: Rgb = pick(CAR_COLORS)): PartSpec[] =>
    vehicleParts(uniform(4.2, 4.75), uniform(1.76, 1.9), uniform(1.44, 1.6), material, color);

  // The obstacle: a stalled car, slightly askew, mostly in the ego lane.
  const obstacleTrackId = add('car', 'obstacle', vehicleParts(4.5, 1.82, 1.5, Material.ObstacleCar, [150, 26, 30]), {
    kind: 'static',
    s: OBSTACLE_S,
    d: OBSTACLE_D,
    yawOffset: 0.07,
  }).trackId;

  // The lead car, ~50 m ahead at a similar speed; it swerves around the obstacle first.
  add('car', 'lead', car(), { kind: 'lane', s0: 50, v: 10, d: swerveD });

  // Oncoming traffic, timed to leave the swerves and the crossing clear.
  add('car', 'oncoming', car(), { kind: 'lane', s0: 60, v: -11, d: ONCOMING_LANE_D });
  add('car', 'oncoming', car(), { kind: 'lane', s0: 305, v: -10.5, d: ONCOMING_LANE_D });
  add('truck', 'oncoming', vehicleParts(7.4, 2.4, 3.2, Material.TruckBody, [214, 118, 40]), {
    kind: 'lane',
    s0: 345,
    v: -10,
    d: ONCOMING_LANE_D,
  });
  add('car', 'oncoming', car(), { kind: 'lane', s0: 410, v: -11, d: ONCOMING_LANE_D });
  add('car', 'oncoming', car(), { kind: 'lane', s0: 470, v: -10.5, d: ONCOMING_LANE_D });

  // Parked cars along the right kerb (none between s = 50 and 185, where the cyclist rides).
  for (const s of [-31, -24.5, 6, 12.5, 19, 33, 39.5, 196, 202.5, 215, 221.5, 228, 250, 256.5, 276, 297, 303.5]) {
    add('car', 'parked', car(), {
      kind: 'static',
      s: s + uniform(-0.4, 0.4),
      d: PARKING_LANE_D + uniform(-0.12, 0.12),
      yawOffset: uniform(-0.03, 0.03),
    });
  }

  // The cyclist rides along the right edge (the empty parking lane).
  add('cyclist', 'cyclist', cyclistParts([236, 198, 24]), { kind: 'lane', s0: 55, v: 5, d: -4.4 });

  // Pedestrians on the sidewalks, one standing, and one crossing the zebra in front of the ego.
  const ped = (): PartSpec[] => pedestrianParts(uniform(1.62, 1.86), pick(SHIRT_COLORS));
  const walk = (s0: number, d: number, v: number): Motion => ({
    kind: 'path',
    points: [
      [s0, d],
      [s0 + Math.sign(v) * 1000, d],
    ],
    speed: Math.abs(v),
  });
  add('pedestrian', 'pedestrian', ped(), walk(18, -6.75, 1.3));
  add('pedestrian', 'pedestrian', ped(), walk(72, -7.6, -1.4));
  add('pedestrian', 'pedestrian', ped(), walk(42, 5.0, -1.2));
  add('pedestrian', 'pedestrian', ped(), walk(108, 5.55, 1.1));
  add('pedestrian', 'pedestrian', ped(), { kind: 'static', s: 147, d: -7.3, yawOffset: Math.PI / 2 });
  add('pedestrian', 'pedestrian', ped(), walk(182, 5.2, -1.3));
  add('pedestrian', 'pedestrian', ped(), walk(236, -7.2, -1.25));
  add('pedestrian', 'crossing-pedestrian', ped(), {
    kind: 'path',
    points: [
      [CROSSWALK_S - 12.6, 5.6],
      [CROSSWALK_S, 5.6],
      [CROSSWALK_S, -7.2],
      [CROSSWALK_S + 30, -7.2],
    ],
    speed: 1.45,
  });

  return { road, agents, statics: buildStatics(road, rng), obstacleTrackId };
}

/** Street lights, trees, low walls and building blocks beside the road, none on it. */
function buildStatics(road: Road, rng: () => number): StaticDef[] {
  const uniform = (a: number, b: number): number => a + (b - a) * rng();
  const statics: StaticDef[] = [];
  const footprints: Array<{ corners: Array<[number, number]> }> = [];
  const xy = [0, 0];
  const boxAt = (s: number, d: number, z0: number, l: number, w: number, h: number, material: number, color: Rgb, yawOffset = 0): StaticPart => {
    road.toWorld(s, d, xy);
    return { center: [xy[0]!, xy[1]!, z0 + h / 2], size: [l, w, h], yaw: road.heading(s) + yawOffset, material, color };
  };
  const corners = (p: StaticPart): Array<[number, number]> => {
    const c = Math.cos(p.yaw);
    const s = Math.sin(p.yaw);
    const [l, w] = p.size;
    return [
      [l / 2, w / 2], [-l / 2, w / 2], [-l / 2, -w / 2], [l / 2, -w / 2],
    ].map(([a, b]) => [p.center[0] + c * a! - s * b!, p.center[1] + s * a! + c * b!] as [number, number]);
  };
  /** Adds scenery unless its footprint overlaps earlier scenery. */
  const place = (kind: StaticDef['kind'], parts: StaticPart[]): boolean => {
    const fp = parts.map((p) => ({ corners: corners(p) }));
    for (const a of fp) for (const b of footprints) if (polygonsOverlap(a.corners, b.corners)) return false;
    footprints.push(...fp);
    statics.push({ objectId: STATIC_ID_BASE + statics.length, kind, parts });
    return true;
  };

  // Street lights on the outer edge of both sidewalks, the lamp arm reaching over the kerb.
  for (let s = -100; s <= 340; s += 32) {
    for (const side of [-1, 1] as const) {
      const ss = side < 0 ? s : s + 16;
      const d = side < 0 ? RIGHT_KERB_D - 2.25 : LEFT_KERB_D + 2.3;
      place('street-light', [
        boxAt(ss, d, 0, 0.22, 0.22, 7.0, Material.Pole, [118, 120, 126]),
        boxAt(ss, d - side * 0.75, 6.82, 0.45, 1.3, 0.18, Material.Lamp, [140, 142, 148]),
      ]);
    }
  }
  // Trees on the grass strips.
  for (let s = -110; s <= 350; s += 22) {
    for (const side of [-1, 1] as const) {
      const ss = s + uniform(-4, 4) + (side > 0 ? 11 : 0);
      const d = side < 0 ? -10.4 + uniform(-0.4, 0.4) : 8.6 + uniform(-0.2, 0.3);
      const crown = uniform(2.2, 3.0);
      const trunkH = uniform(2.0, 2.6);
      place('tree', [
        boxAt(ss, d, 0, 0.3, 0.3, trunkH + 0.3, Material.Trunk, [96, 70, 46]),
        boxAt(ss, d, trunkH, crown, crown, uniform(2.2, 3.2), Material.Crown, [56, 102, 46], uniform(-0.5, 0.5)),
      ]);
    }
  }
  // Low garden walls, in short straight pieces so they follow the curve.
  for (const [s0, s1, d] of [
    [-70, -30, -12.2],
    [24, 64, -12.2],
    [112, 152, 10.6],
    [200, 240, 10.6],
  ] as const) {
    for (let s = s0; s < s1; s += 8) place('wall', [boxAt(s + 4, d, 0, 7.9, 0.3, uniform(0.9, 1.3), Material.Wall, [164, 160, 150])]);
  }
  // Building blocks set back from the road on both sides.
  const facades: Rgb[] = [
    [186, 168, 142], [150, 96, 76], [170, 172, 170], [204, 196, 178], [128, 118, 106], [176, 140, 112],
  ];
  for (const side of [-1, 1] as const) {
    let s = -140 + uniform(0, 10);
    while (s < 400) {
      const length = uniform(14, 26);
      const depth = uniform(9, 14);
      const setback = side < 0 ? 13.5 + uniform(0, 3) : 12.5 + uniform(0, 3);
      const d = side * (setback + depth / 2);
      const height = uniform(5, 16);
      place('building', [
        boxAt(s + length / 2, d, 0, length, depth, height, Material.Building, facades[Math.floor(rng() * facades.length) % facades.length]!),
      ]);
      s += length + uniform(4, 11);
    }
  }
  return statics;
}

/** Separating-axis test for two convex polygons (counter-clockwise or clockwise). */
export function polygonsOverlap(a: Array<[number, number]>, b: Array<[number, number]>): boolean {
  for (const poly of [a, b]) {
    for (let i = 0; i < poly.length; i++) {
      const [x0, y0] = poly[i]!;
      const [x1, y1] = poly[(i + 1) % poly.length]!;
      const nx = y0 - y1;
      const ny = x1 - x0;
      let amin = Infinity, amax = -Infinity, bmin = Infinity, bmax = -Infinity;
      for (const [x, y] of a) {
        const p = nx * x + ny * y;
        amin = Math.min(amin, p);
        amax = Math.max(amax, p);
      }
      for (const [x, y] of b) {
        const p = nx * x + ny * y;
        bmin = Math.min(bmin, p);
        bmax = Math.max(bmax, p);
      }
      if (amax < bmin || bmax < amin) return false;
    }
  }
  return true;
}
