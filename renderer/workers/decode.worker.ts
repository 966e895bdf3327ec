// Decode worker: camera images, masks and thumbnails leave the UI thread as ImageBitmaps.
import { decodeImageTask, decodeMaskTask, type DecodeTask } from './decodeCore.js';

interface WorkerScope {
  onmessage: ((event: MessageEvent<{ id: number; task: DecodeTask }>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;

scope.onmessage = async ({ data: { id, task } }) => {
  try {
    const result = task.kind === 'image' ? await decodeImageTask(task) : await decodeMaskTask(task);
    scope.postMessage({ id, ok: true, result }, [result.bitmap]);
  } catch (error) {
    scope.postMessage({ id, ok: false, message: error instanceof Error ? error.message : String(error) }, []);
  }
};
