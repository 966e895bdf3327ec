// The built-in demo drive, generated once into the cache and reused.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../app/paths.js';
import { writeDemoLog, type DemoOptions } from '../demo/index.js';
import { createProgressBar } from './progress.js';

/** Bump when the generator's output changes, so cached demos are regenerated. */
export const DEMO_REVISION = 1;

export async function writeDemoWithProgress(outPath: string, options: DemoOptions = {}): Promise<{ path: string; frames: number; bytes: number }> {
  const bar = createProgressBar('Generating demo drive');
  const tmp = `${outPath}.partial`;
  const result = await writeDemoLog(tmp, options, ({ done, total }) => bar.update(done, total));
  renameSync(tmp, outPath); // atomic: a killed generation never leaves a half-written demo behind
  bar.finish(`Demo drive: ${outPath} (${result.frames} frames, ${(result.bytes / 1e6).toFixed(1)} MB)`);
  return { ...result, path: outPath };
}

export async function ensureDemoLog(): Promise<string> {
  const dir = join(cacheDir(), 'demo');
  const path = join(dir, `sightline-demo-r${DEMO_REVISION}.mcap`);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  await writeDemoWithProgress(path);
  return path;
}
