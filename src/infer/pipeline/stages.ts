// What each stage worker does with one job. Built inside the worker from the plain StageSpec:
// the reader opens its own handle on the log, the model stages rebuild their piece of the model.
import type { PreparedInput } from '../types.js';
import { loadModelStageFactory, type PipelineSession } from './factory.js';
import {
  copyOf,
  ownedView,
  transferList,
  type EncodedMask,
  type InferJob,
  type InferResult,
  type LidarJob,
  type PostprocessJob,
  type PostprocessResult,
  type PreprocessJob,
  type ReadJob,
  type ReadResult,
  type StageReady,
  type StageSpec,
} from './protocol.js';

export interface StageHandler {
  info: StageReady;
  handle(job: unknown): Promise<{ result: unknown; transfer: ArrayBuffer[] }>;
  close(): Promise<void>;
}

export async function buildStage(spec: StageSpec, log: (message: string) => void): Promise<StageHandler> {
  switch (spec.kind) {
    case 'read':
      return buildReader(spec);
    case 'preprocess':
      return buildPreprocessor(spec);
    case 'infer':
      return buildInference(spec, log);
    case 'postprocess':
      return buildPostprocessor(spec);
    case 'lidar': {
      const { buildLidarStage } = await import('./lidarStage.js');
      return buildLidarStage(spec);
    }
  }
}

// Each stage imports only what it uses: five workers start faster than five copies of everything.
async function buildReader(spec: Extract<StageSpec, { kind: 'read' }>): Promise<StageHandler> {
  const { detectLog, openDriveLog } = await import('../../logs/open.js');
  const detected = await detectLog(spec.logPath);
  const drive = await openDriveLog(spec.logPath, detected, { logId: spec.logId, referenceSensor: spec.referenceSensor, egoTrajectory: false });
  const cameras = new Set(spec.cameras);
  return {
    info: {},
    async handle(job) {
      const { index } = job as ReadJob;
      const frame = await drive.readFrame(index, { cameras: cameras.size > 0, lidar: spec.lidar });
      // Always copies: the reader may keep (cache, pool, reuse) the buffers it returned, and
      // transferring one would detach it under the reader. The copies then move by transfer.
      const images = frame.cameras
        .filter((c) => cameras.has(c.sensorId))
        .map((c) => ({ sensorId: c.sensorId, format: c.format, width: c.intrinsics.width, height: c.intrinsics.height, data: copyOf(c.data), intrinsics: c.intrinsics, extrinsic: c.extrinsic }));
      const lidar =
        spec.lidar && frame.lidar
          ? { sensorId: frame.lidar.sensorId, count: frame.lidar.count, positions: copyOf(frame.lidar.positions.subarray(0, 3 * frame.lidar.count)), extrinsic: frame.lidar.extrinsic }
          : undefined;
      const result: ReadResult = { index, frameId: frame.id, stampNs: frame.stampNs, images, lidar, warnings: frame.warnings };
      return { result, transfer: transferList([...images.map((i) => i.data), lidar?.positions]) };
    },
    close: () => drive.close(),
  };
}

async function buildPreprocessor(spec: Extract<StageSpec, { kind: 'preprocess' }>): Promise<StageHandler> {
  const factory = await loadModelStageFactory(spec.stagesModule);
  const preprocess = await factory.createPreprocessor(spec.model);
  return {
    info: {},
    async handle(job) {
      const { image } = job as PreprocessJob;
      const input = await preprocess(image);
      // A copy we own (the preprocessor might reuse its buffer); it then moves by transfer.
      const result: PreparedInput = { ...input, tensor: copyOf(input.tensor) };
      return { result, transfer: transferList([result.tensor]) };
    },
    close: async () => undefined,
  };
}

async function buildInference(spec: Extract<StageSpec, { kind: 'infer' }>, log: (message: string) => void): Promise<StageHandler> {
  const factory = await loadModelStageFactory(spec.stagesModule);
  const session = await factory.createSession(spec.model, { device: spec.device, threads: spec.threads, log });
  await warmUp(session);
  return {
    info: {
      engine: session.engine,
      backend: session.backend,
      providerAttempts: session.providerAttempts,
      maxBatch: session.maxBatch,
      inputDims: session.inputDims,
    },
    async handle(job) {
      const { inputs } = job as InferJob;
      const raw = await session.run(inputs);
      // Copies we own: engines may keep or reuse output buffers, and batch outputs are views of one.
      const outputs = raw.map((r) => Object.fromEntries(Object.entries(r).map(([name, t]) => [name, { data: copyOf(t.data), dims: t.dims }])));
      const result: InferResult = { outputs };
      return { result, transfer: transferList(outputs.flatMap((o) => Object.values(o).map((t) => t.data))) };
    },
    close: async () => {
      await session.dispose();
    },
  };
}

/**
 * One inference on zeros while the stage starts: engines compile kernels and size their buffers on
 * the first call (seconds on some backends), which otherwise lands on the first frame and skews the
 * run's rate and ETA. Skipped when the model's input size is not fixed.
 */
async function warmUp(session: PipelineSession): Promise<void> {
  const dims = session.inputDims?.map((d, i) => (i === 0 && d < 0 ? 1 : d));
  if (!dims?.length || dims.some((d) => !(d > 0)) || dims[0] !== 1) return;
  const size = dims.reduce((a, b) => a * b, 1);
  const transform = { srcWidth: 1, srcHeight: 1, scaleX: 1, scaleY: 1, padX: 0, padY: 0 };
  await session.run([{ tensor: new Float32Array(size), dims, transform }]);
}

async function buildPostprocessor(spec: Extract<StageSpec, { kind: 'postprocess' }>): Promise<StageHandler> {
  const factory = await loadModelStageFactory(spec.stagesModule);
  const decode = await factory.createOutputDecoder(spec.model);
  const { default: sharp } = await import('sharp');
  return {
    info: {},
    async handle(job) {
      const { raw, input } = job as PostprocessJob;
      // Decoders need the input's geometry only; the tensor stayed with the inference worker.
      const output = decode(raw, { tensor: new Float32Array(0), dims: input.dims, transform: input.transform });
      const masks: EncodedMask[] = [];
      for (const m of output.masks) {
        const png = await sharp(m.labels, { raw: { width: m.width, height: m.height, channels: 1 } }).toColourspace('b-w').png({ compressionLevel: 6 }).toBuffer();
        masks.push({ head: m.head, classes: m.classes, width: m.width, height: m.height, encoding: 'png-gray8', data: ownedView(new Uint8Array(png.buffer, png.byteOffset, png.byteLength)) });
      }
      const result: PostprocessResult = { detections: output.detections, masks };
      return { result, transfer: transferList(masks.map((m) => m.data)) };
    },
    close: async () => undefined,
  };
}

export type { LidarJob };
