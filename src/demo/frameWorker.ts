// Worker thread: renders demo frames (camera JPEG + packed lidar sweep) for writeDemoLog.
import { parentPort, workerData } from 'node:worker_threads';
import { renderFrame } from './frames.js';
import { createDemoScene, type DemoOptions } from './scene.js';

const scene = createDemoScene((workerData as { options: DemoOptions }).options);
const port = parentPort!;
// Frames are rendered one at a time, in the order requested (renders reuse scene-owned buffers).
let queue: Promise<void> = Promise.resolve();
port.on('message', (index: number) => {
  queue = queue.then(async () => {
    const frame = await renderFrame(scene, index);
    port.postMessage(frame, [frame.jpeg.buffer as ArrayBuffer, frame.points.buffer as ArrayBuffer]);
  });
  queue.catch((error: unknown) => {
    throw error; // surfaces as the worker's 'error' event
  });
});
