// Worker thread entry: decodes point-cloud messages and transfers the typed arrays back.
import { parentPort } from 'node:worker_threads';
import { decodePointsInPlace, type PointJob, type PointResult } from './pointDecoding.js';

parentPort?.on('message', (job: PointJob) => {
  let result: PointResult;
  const transfer: ArrayBuffer[] = [];
  try {
    const points = decodePointsInPlace(job.channel, job.data, job.path);
    transfer.push(points.positions.buffer as ArrayBuffer, ...Object.values(points.fields).map((f) => f.buffer as ArrayBuffer));
    result = { id: job.id, ok: true, points };
  } catch (error) {
    result = { id: job.id, ok: false, message: (error as Error).message };
  }
  parentPort!.postMessage(result, [...new Set(transfer)]);
});
