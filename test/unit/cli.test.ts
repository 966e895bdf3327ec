// The real `sightline` binary (built JS), run as a user would.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogInfo } from '../../src/logs/model.js';
import { demoLogPath } from '../helpers/demo.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'dist', 'src', 'cli', 'bin.js');
let dir: string;

async function sightline(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, SIGHTLINE_HOME: dir } });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

beforeAll(async () => {
  if (!existsSync(bin)) await run('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root });
  dir = mkdtempSync(join(tmpdir(), 'sightline-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sightline CLI', () => {
  it('has --help on every command', async () => {
    const top = await sightline('--help');
    expect(top.code).toBe(0);
    for (const command of ['demo', 'inspect', 'serve', 'start']) {
      expect(top.stdout).toContain(command);
      const help = await sightline(command, '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/^Usage: sightline /);
    }
  });

  it('writes the demo log and inspects it as JSON and text', async () => {
    const out = join(dir, 'demo-out');
    const demo = await sightline('demo', '--out', out, '--duration', '1');
    expect(demo.code).toBe(0);
    const path = join(out, 'sightline-demo.mcap');
    expect(existsSync(path)).toBe(true);
    const json = await sightline('inspect', path, '--json');
    expect(json.code).toBe(0);
    const info = JSON.parse(json.stdout) as LogInfo;
    expect(info.format).toBe('mcap');
    expect(info.frameCount).toBe(10);
    expect(info.streams.find((s) => s.topic === '/lidar/points')?.messageCount).toBe(10);
    const text = await sightline('inspect', await demoLogPath());
    expect(text.stdout).toMatch(/frames 30 \(reference: lidar\)/);
    expect(text.stdout).toContain('/camera/front/image');
  });

  it('fails cleanly, with the file named, on bad input', async () => {
    const missing = await sightline('inspect', join(dir, 'missing.mcap'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^sightline: No such file or directory: .*missing\.mcap/);
    const badPort = await sightline('serve', '--port', 'eighty');
    expect(badPort.code).not.toBe(0);
    expect(badPort.stderr).toMatch(/must be an integer/);
  });
});
