// Real data lives in ../shared/fixtures (read-only). Tests that need it skip, saying why, where it is absent.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const FIXTURES_DIR = resolve(process.env.SIGHTLINE_FIXTURES ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures'));

export const hasFixtures = existsSync(join(FIXTURES_DIR, 'SOURCES.md'));

export function fixture(...parts: string[]): string {
  return join(FIXTURES_DIR, ...parts);
}

export const fixturesSkipReason = `real-data fixtures not found at ${FIXTURES_DIR} (set SIGHTLINE_FIXTURES)`;
