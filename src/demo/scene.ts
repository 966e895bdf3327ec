// The demo scene: options, sensors, the ego trajectory and every agent's state at any time.
import type { CameraIntrinsics, Pose, Vec3 } from '../logs/model.js';
import { groundPose, quatFromRotation, type Pose2, type PinholeModel } from './geometry.js';
import { type AgentDef, type AgentRole, type DemoClass, type StaticDef, buildScenario, egoSpeed, swerveD } from './scenario.js';
import type { Road } from './road.js';

export interface DemoOptions {
  /** Length of the drive in seconds (default 20). */
  durationS?: number;
  /** Lidar sweep rate = frame rate (default 10 Hz). */
  rateHz?: number;
  /** Seed for everything that is random (colours, sizes, scenery); default 1. */
  seed?: number;
  imageWidth?: number;
  imageHeight?: number;
  /** Lidar columns per revolution (default 1800). */
  azimuthSteps?: number;
}

export interface DemoProgress {
  done: number;
  total: number;
}

/** An agent's box in the world frame at some instant. */
export interface DemoAgentBox {
  id: string;
  trackId: string;
  objectId: number;
  label: DemoClass;
  role: AgentRole;
  /** World frame; z of the centre is half the height above the ground it stands on. */
  center: Vec3;
  size: Vec3;
  yaw: number;
  moving: boolean;
  speed: number;
}

export interface EgoState extends Pose2 {
  /** Road coordinates of base_link. */
  s: number;
  d: number;
  speed: number;
}

export interface DemoCamera {
  sensorId: string;
  frameId: string;
  intrinsics: CameraIntrinsics;
  pinhole: PinholeModel;
  /** base_link <- camera optical frame (x right, y down, z forward). */
  extrinsic: Pose;
  /** Camera stamp minus the sweep stamp (s). */
  skewS: number;
  horizontalFovDeg: number;
}

export interface DemoLidar {
  sensorId: string;
  frameId: string;
  /** base_link <- lidar_top (x forward, y left, z up). */
  extrinsic: Pose;
  /** Beam elevations (deg), ring 0 first (the top beam). */
  elevationsDeg: number[];
  azimuthSteps: number;
  maxRange: number;
  minRange: number;
}

export interface DemoScene {
  options: Required<DemoOptions>;
  /** Log start, integer nanoseconds since the Unix epoch (fixed, never the wall clock). */
  startNs: bigint;
  frameCount: number;
  /** Sweep stamps, seconds since the log start: k / rateHz. */
  sweepStamps: number[];
  road: Road;
  agents: AgentDef[];
  statics: StaticDef[];
  obstacleTrackId: string;
  camera: DemoCamera;
  lidar: DemoLidar;
  /** Ego dimensions (m) relative to base_link: the body spans x in [rearX, frontX]. */
  egoBody: { rearX: number; frontX: number; width: number; height: number };
  egoStateAt(tS: number): EgoState;
  /** world <- base_link. */
  egoPoseAt(tS: number): Pose;
  agentsAt(tS: number): DemoAgentBox[];
}

export const DEMO_GENERATOR_VERSION = '1.0.0';
/** 2023-11-14T22:13:20Z: a fixed, arbitrary epoch for the log start. */
export const DEMO_START_NS = 1_700_000_000n * 1_000_000_000n;
export const DEFAULT_OPTIONS: Required<DemoOptions> = {
  durationS: 20,
  rateHz: 10,
  seed: 1,
  imageWidth: 1280,
  imageHeight: 720,
  azimuthSteps: 1800,
};

export const CAMERA_SENSOR_ID = 'camera/front';
export const CAMERA_FRAME = 'camera_front';
export const LIDAR_SENSOR_ID = 'lidar';
export const LIDAR_FRAME = 'lidar_top';
export const EGO_FRAME = 'base_link';
export const WORLD_FRAME = 'world';

/** HDL-64E-like elevations: 32 upper beams +2.0 .. -8.33 deg, 32 lower beams -8.83 .. -24.8 deg. */
function hdl64Elevations(): number[] {
  const out: number[] = [];
  for (let i = 0; i < 32; i++) out.push(2 - (i * (2 + 8.33)) / 31);
  for (let i = 0; i < 32; i++) out.push(-8.83 - (i * (24.8 - 8.83)) / 31);
  return out;
}

function resolveOptions(options: DemoOptions = {}): Required<DemoOptions> {
  const o = { ...DEFAULT_OPTIONS };
  for (const [k, v] of Object.entries(options) as Array<[keyof DemoOptions, number | undefined]>) if (v !== undefined) o[k] = v;
  if (!(o.durationS > 0) || !(o.rateHz > 0)) throw new RangeError('durationS and rateHz must be positive');
  if (!Number.isInteger(o.imageWidth) || !Number.isInteger(o.imageHeight) || o.imageWidth < 16 || o.imageHeight < 16) {
    throw new RangeError('imageWidth and imageHeight must be integers >= 16');
  }
  if (!Number.isInteger(o.azimuthSteps) || o.azimuthSteps < 8) throw new RangeError('azimuthSteps must be an integer >= 8');
  return o;
}

/** Ego progress s(t), integrated from the speed profile on a fine fixed grid (deterministic). */
class SpeedTable {
  private readonly dt = 0.001;
  private readonly s: Float64Array;
  constructor(private readonly duration: number) {
    const n = Math.ceil((duration + 2) / this.dt) + 2;
    this.s = new Float64Array(n);
    for (let i = 1; i < n; i++) {
      const t0 = (i - 1) * this.dt - 1;
      this.s[i] = this.s[i - 1]! + ((egoSpeed(t0) + egoSpeed(t0 + this.dt)) / 2) * this.dt;
    }
    // Shift so that s(0) = 0 (the table starts at t = -1).
    const s0 = this.s[Math.round(1 / this.dt)]!;
    for (let i = 0; i < n; i++) this.s[i]! -= s0;
  }
  at(t: number): number {
    const f = (t + 1) / this.dt;
    const i = Math.min(Math.max(Math.floor(f), 0), this.s.length - 2);
    const r = f - i;
    return this.s[i]! * (1 - r) + this.s[i + 1]! * r;
  }
}

const HEADING_EPS = 0.05;

class Scene implements DemoScene {
  readonly options: Required<DemoOptions>;
  readonly startNs = DEMO_START_NS;
  readonly frameCount: number;
  readonly sweepStamps: number[];
  readonly road: Road;
  readonly agents: AgentDef[];
  readonly statics: StaticDef[];
  readonly obstacleTrackId: string;
  readonly camera: DemoCamera;
  readonly lidar: DemoLidar;
  readonly egoBody = { rearX: -0.95, frontX: 3.75, width: 1.9, height: 1.55 };
  private readonly speedTable: SpeedTable;

  constructor(options: DemoOptions) {
    this.options = resolveOptions(options);
    const o = this.options;
    this.frameCount = Math.max(1, Math.round(o.durationS * o.rateHz));
    this.sweepStamps = Array.from({ length: this.frameCount }, (_, k) => k / o.rateHz);
    const scenario = buildScenario(o.seed);
    this.road = scenario.road;
    this.agents = scenario.agents;
    this.statics = scenario.statics;
    this.obstacleTrackId = scenario.obstacleTrackId;
    this.speedTable = new SpeedTable(o.durationS);

    const hfov = 90;
    // Rounded so that 90 deg gives exactly width / 2 (tan(pi/4) is 0.9999999999999999 in floats).
    const fx = Math.round(((o.imageWidth / 2) / Math.tan(((hfov / 2) * Math.PI) / 180)) * 1e9) / 1e9;
    const pinhole: PinholeModel = { fx, fy: fx, cx: (o.imageWidth - 1) / 2, cy: (o.imageHeight - 1) / 2, width: o.imageWidth, height: o.imageHeight };
    this.camera = {
      sensorId: CAMERA_SENSOR_ID,
      frameId: CAMERA_FRAME,
      pinhole,
      intrinsics: {
        width: o.imageWidth,
        height: o.imageHeight,
        K: [fx, 0, pinhole.cx, 0, fx, pinhole.cy, 0, 0, 1],
        P: [fx, 0, pinhole.cx, 0, 0, fx, pinhole.cy, 0, 0, 0, 1, 0],
        distortionModel: 'plumb_bob',
        D: [0, 0, 0, 0, 0],
      },
      // Optical axes in base_link: x_opt = -y, y_opt = -z, z_opt = +x (columns of R).
      extrinsic: { translation: [1.5, 0, 1.5], rotation: quatFromRotation([0, 0, 1, -1, 0, 0, 0, -1, 0]) },
      skewS: 0.005,
      horizontalFovDeg: hfov,
    };
    this.lidar = {
      sensorId: LIDAR_SENSOR_ID,
      frameId: LIDAR_FRAME,
      extrinsic: { translation: [1.0, 0, 1.8], rotation: [0, 0, 0, 1] },
      elevationsDeg: hdl64Elevations(),
      azimuthSteps: o.azimuthSteps,
      maxRange: 100,
      minRange: 1.0,
    };
  }

  egoStateAt(tS: number): EgoState {
    const s = this.speedTable.at(tS);
    const d = swerveD(s);
    const a = this.road.toWorld(s - HEADING_EPS, swerveD(s - HEADING_EPS), [0, 0]);
    const b = this.road.toWorld(s + HEADING_EPS, swerveD(s + HEADING_EPS), [0, 0]);
    const p = this.road.toWorld(s, d, [0, 0]);
    return { x: p[0]!, y: p[1]!, yaw: Math.atan2(b[1]! - a[1]!, b[0]! - a[0]!), s, d, speed: egoSpeed(tS) };
  }

  egoPoseAt(tS: number): Pose {
    return groundPose(this.egoStateAt(tS));
  }

  /** Road position of an agent at t (writes s, d into out). */
  private roadPos(agent: AgentDef, t: number, out: number[]): void {
    const m = agent.motion;
    if (m.kind === 'static') {
      out[0] = m.s;
      out[1] = m.d;
    } else if (m.kind === 'lane') {
      const s = m.s0 + m.v * t;
      out[0] = s;
      out[1] = typeof m.d === 'number' ? m.d : m.d(s);
    } else {
      let remaining = Math.max(0, m.speed * t);
      const pts = m.points;
      for (let i = 1; i < pts.length; i++) {
        const [s0, d0] = pts[i - 1]!;
        const [s1, d1] = pts[i]!;
        const len = Math.hypot(s1 - s0, d1 - d0);
        if (remaining <= len || i === pts.length - 1) {
          const f = len > 0 ? Math.min(1, remaining / len) : 1;
          out[0] = s0 + f * (s1 - s0);
          out[1] = d0 + f * (d1 - d0);
          return;
        }
        remaining -= len;
      }
      out[0] = pts[0]![0];
      out[1] = pts[0]![1];
    }
  }

  agentsAt(tS: number): DemoAgentBox[] {
    const rp = [0, 0];
    const w0 = [0, 0];
    const w1 = [0, 0];
    return this.agents.map((agent) => {
      this.roadPos(agent, tS, rp);
      const [s, d] = rp as [number, number];
      const p = this.road.toWorld(s, d, [0, 0]);
      let yaw: number;
      let speed = 0;
      if (agent.motion.kind === 'static') {
        yaw = this.road.heading(s) + agent.motion.yawOffset;
      } else {
        // Heading and speed from the motion itself (central difference in world coordinates).
        this.roadPos(agent, tS - HEADING_EPS, rp);
        this.road.toWorld(rp[0]!, rp[1]!, w0);
        this.roadPos(agent, tS + HEADING_EPS, rp);
        this.road.toWorld(rp[0]!, rp[1]!, w1);
        const dx = w1[0]! - w0[0]!;
        const dy = w1[1]! - w0[1]!;
        speed = Math.hypot(dx, dy) / (2 * HEADING_EPS);
        yaw = speed > 1e-6 ? Math.atan2(dy, dx) : this.road.heading(s);
      }
      const z0 = this.road.heightAtD(d);
      return {
        id: agent.trackId,
        trackId: agent.trackId,
        objectId: agent.objectId,
        label: agent.label,
        role: agent.role,
        center: [p[0]!, p[1]!, z0 + agent.size[2] / 2],
        size: agent.size,
        yaw,
        moving: speed > 0.05,
        speed,
      };
    });
  }
}

export function createDemoScene(options: DemoOptions = {}): DemoScene {
  return new Scene(options);
}
