// A short demo drive shared by test files: generated once per options set, atomically.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDemoLog, type DemoOptions } from '../../src/demo/index.js';

export const SHORT_DEMO: DemoOptions = { durationS: 3, seed: 1 };

export async function demoLogPath(options: DemoOptions = SHORT_DEMO): Promise<string> {
  const dir = join(tmpdir(), 'sightline-test-demo');
  mkdirSync(dir, { recursive: true });
  const key = Object.entries(options).sort().map(([k, v]) => `${k}-${v}`).join('_') || 'default';
  const path = join(dir, `demo_${key}.mcap`);
  if (!existsSync(path)) {
    const tmp = `${path}.${process.pid}.partial`;
    await writeDemoLog(tmp, options);
    renameSync(tmp, path);
  }
  return path;
}
