// Worker thread entry: plans one frame at a time, off the API server's event loop.
import { parentPort } from 'node:worker_threads';
import { planFrame } from './frame.js';
import type { PlanJob, PlanReply } from './offThread.js';

parentPort?.on('message', (job: PlanJob) => {
  let reply: PlanReply;
  try {
    reply = { id: job.id, ok: true, plan: planFrame(job.frame, job.options) };
  } catch (error) {
    reply = { id: job.id, ok: false, message: (error as Error).message };
  }
  parentPort!.postMessage(reply);
});
