// Real data lives in ../shared/fixtures (read-only). Tests that need it skip, saying why, where it is absent.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const FIXTURES_DIR = resolve(process.env.SIGHTLINE_FIXTURES ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures'));

export const hasFixtures = existsSync(join(FIXTURES_DIR, 'SOURCES.md'));

export function fixture(...parts: string[]): string {
  return join(FIXTURES_DIR, ...parts);
}

export const fixturesSkipReason = `real-data fixtures not found at ${FIXTURES_DIR} (set SIGHTLINE_FIXTURES)`;

/**
 * A KITTI `label_2` folder written again as detection results (each line with a trailing score,
 * DontCare left out), for importing ground truth as a model run.
 */
export function writeLabelsAsResults(labelDir: string, outDir: string, score: string): void {
  mkdirSync(outDir, { recursive: true });
  for (const file of readdirSync(labelDir)) {
    const lines = readFileSync(join(labelDir, file), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('DontCare'));
    writeFileSync(join(outDir, file), `${lines.map((l) => `${l.trim()} ${score}`).join('\n')}\n`);
  }
}
