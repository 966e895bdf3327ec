// Worker threads and the CLI run compiled JS (dist/): tests that need it rebuild when a source is
// newer than its output, one build at a time across test files (a lock directory).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

export const repoRoot = join(import.meta.dirname, '..', '..');
export const cliBin = join(repoRoot, 'dist', 'src', 'cli', 'bin.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function ensureDist(): Promise<void> {
  const lock = join(repoRoot, 'dist', '.test-build.lock');
  mkdirSync(join(repoRoot, 'dist'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? 0) > 120_000) rmSync(lock, { recursive: true, force: true });
      await sleep(200);
    }
  }
  try {
    const stale = (dir: string): boolean =>
      readdirSync(dir, { withFileTypes: true }).some((e) => {
        const path = join(dir, e.name);
        if (e.isDirectory()) return stale(path);
        if (!e.name.endsWith('.ts')) return false;
        const out = join(repoRoot, 'dist', relative(repoRoot, path).replace(/\.ts$/, '.js'));
        return !existsSync(out) || statSync(path).mtimeMs > statSync(out).mtimeMs;
      });
    // tsc exits non-zero on type errors elsewhere in the tree but still emits.
    if (stale(join(repoRoot, 'src'))) await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: repoRoot }).catch(() => undefined);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
