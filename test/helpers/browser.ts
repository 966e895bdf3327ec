// Browser end-to-end tests: headless Chromium on software WebGL, a private renderer build, the real
// server's typed API over HTTP. Tests without Chromium skip, saying why.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { decodeWire } from '../../src/api/wire.js';
import { repoRoot } from './build.js';
import type { TestServer } from './server.js';

export const chromiumPath = process.env.SIGHTLINE_CHROMIUM ?? '/usr/bin/chromium';

export const chromiumSkipReason: string | null = existsSync(chromiumPath) ? null : `no Chromium at ${chromiumPath} (apt-get install chromium, or set SIGHTLINE_CHROMIUM)`;

export const screenshotsDir = join(repoRoot, 'test-results');

/** One typed API call (POST /api/call/<method>); a refusal throws with the server's message. */
export async function callApi<T>(server: TestServer, method: string, input: unknown): Promise<T> {
  const response = await fetch(`${server.url}/api/call/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) });
  if (!response.ok) throw new Error(`${method}: HTTP ${response.status} ${await response.text()}`);
  return decodeWire<T>(await response.arrayBuffer());
}

/** A private build of the current renderer sources: never stale, never racing other tests over dist/. */
export async function buildRendererInto(dir: string): Promise<void> {
  await build({ configFile: join(repoRoot, 'vite.config.ts'), logLevel: 'warn', build: { outDir: dir, emptyOutDir: true, sourcemap: false } });
}

/** Software WebGL (SwiftShader): CI machines have no GPU. `extraArgs` add switches some tests need. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-dev-shm-usage', ...extraArgs],
  });
}

export type CollectingPageOptions = NonNullable<Parameters<Browser['newPage']>[0]> & {
  /** Also count "Failed to load resource" errors (by default a test checks refused calls by method, or not at all). */
  failedLoads?: boolean;
  /** Also count Content Security Policy reports, at any console level. */
  csp?: boolean;
};

/** A new page whose uncaught errors and console errors are pushed onto `problems`; not yet navigated. */
export async function newCollectingPage(browser: Browser, problems: string[], options: CollectingPageOptions = {}): Promise<Page> {
  const { failedLoads = false, csp = false, ...pageOptions } = options;
  const page = await browser.newPage(pageOptions);
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    const text = message.text();
    const error = message.type() === 'error' && (failedLoads || !/Failed to load resource/.test(text));
    if (error || (csp && /Content Security Policy/i.test(text))) problems.push(`console.${message.type()}: ${text}`);
  });
  return page;
}

/** Polls a model run until it is done; a failed or cancelled run throws. */
export async function waitForRun(server: TestServer, runId: number): Promise<void> {
  for (;;) {
    const r = await callApi<{ status: string; error: string | null }>(server, 'getRun', { runId });
    if (r.status === 'done') return;
    if (r.status === 'failed' || r.status === 'cancelled') throw new Error(`run ${runId} ${r.status}: ${r.error}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Removes the temporary folders a test made (those it got to make). */
export function removeDirs(...dirs: Array<string | undefined>): void {
  for (const dir of dirs) if (dir) rmSync(dir, { recursive: true, force: true });
}

/** One line of named durations, rounded to the millisecond, if any were taken. */
export function logTimings(tag: string, timings: Record<string, number>): void {
  if (Object.keys(timings).length) console.log(`[${tag}] timings (ms): ${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])))}`);
}
