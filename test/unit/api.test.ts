// The contract over its two transports: HTTP/WebSocket (a real server on loopback) and the
// IPC handler table (the same functions Electron's ipcMain calls), against a real demo log.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRoutes, type Events, type LogEntry } from '../../src/api/contract.js';
import { createIpcInvokeHandler, forwardEvents } from '../../src/api/ipc.js';
import { decodeWire, WIRE_CONTENT_TYPE } from '../../src/api/wire.js';
import { SightlineCore } from '../../src/app/core.js';
import type { FrameData, FrameStub, LogInfo } from '../../src/logs/model.js';
import { verifyAuditChain } from '../../src/store/audit.js';
import { demoLogPath } from '../helpers/demo.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let demo: string;
let scratch: string;

async function call<T>(method: string, input: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T; type: string }> {
  const response = await fetch(`${server.url}${httpRoutes.call}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof input === 'string' ? input : JSON.stringify(input),
  });
  const type = response.headers.get('content-type') ?? '';
  const body = type.startsWith(WIRE_CONTENT_TYPE) ? decodeWire<T>(await response.arrayBuffer()) : ((await response.json()) as T);
  return { status: response.status, body, type };
}

beforeAll(async () => {
  demo = await demoLogPath();
  scratch = mkdtempSync(join(tmpdir(), 'sightline-api-'));
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('HTTP + WebSocket transport', () => {
  it('opens a log, announces it on the event socket, and lists it', async () => {
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}${httpRoutes.events}`);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const opened = new Promise<Events['logOpened']>((resolve) =>
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { event: string; payload: Events['logOpened'] };
        if (message.event === 'logOpened') resolve(message.payload);
      }),
    );
    const { status, body: info } = await call<LogInfo>('openLog', { path: demo });
    expect(status).toBe(200);
    expect(info.format).toBe('mcap');
    expect(info.frameCount).toBe(30);
    expect(info.referenceSensor).toBe('lidar');
    expect(info.streams.map((s) => s.kind)).toEqual(expect.arrayContaining(['camera', 'lidar', 'labels3d', 'labels2d', 'transform', 'pose']));
    expect(info.sensors.find((s) => s.kind === 'camera')?.intrinsics?.width).toBeGreaterThan(0);
    expect((await opened).logId).toBe(info.id);
    socket.close();

    const { body: logs } = await call<LogEntry[]>('listLogs', {});
    expect(logs.find((l) => l.logId === info.id)).toMatchObject({ open: true, format: 'mcap' });
  });

  it('serves frames with binary payloads, synchronized around the lidar', async () => {
    const { body: info } = await call<LogInfo>('openLog', { path: demo });
    const { body: frames } = await call<FrameStub[]>('listFrames', { logId: info.id });
    expect(frames).toHaveLength(info.frameCount);
    expect(frames[10]!.timeS).toBeCloseTo(1.0, 6);

    const { type, body: frame } = await call<FrameData>('getFrame', { logId: info.id, index: 10 });
    expect(type).toBe(WIRE_CONTENT_TYPE);
    expect(frame.id).toBe(`${info.id}:${frames[10]!.stampNs}`);
    expect(frame.lidar!.positions).toBeInstanceOf(Float32Array);
    expect(frame.lidar!.positions.length).toBe(frame.lidar!.count * 3);
    expect(frame.lidar!.fields.intensity).toBeInstanceOf(Float32Array);
    expect(frame.lidar!.count).toBeGreaterThan(10_000);
    const camera = frame.cameras[0]!;
    expect(camera.data).toBeInstanceOf(Uint8Array);
    expect([...camera.data.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]); // JPEG
    expect(Math.abs(camera.skewS)).toBeLessThan(0.05);
    expect(frame.labels3d.length).toBeGreaterThan(0);
    expect(frame.labels2d.every((b) => b.sensorId === camera.sensorId)).toBe(true);
    expect(frame.egoPose).toBeDefined();

    const { body: light } = await call<FrameData>('getFrame', { logId: info.id, index: 10, include: { cameras: false, lidar: false } });
    expect(light.cameras).toHaveLength(0);
    expect(light.lidar).toBeUndefined();
    expect(light.labels3d.length).toBe(frame.labels3d.length);
  });

  it('answers bad input with clear errors and keeps serving', async () => {
    const { body: info } = await call<LogInfo>('openLog', { path: demo });

    const missing = await call<{ error: { code: string; message: string } }>('openLog', { path: join(scratch, 'nope.mcap') });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
    expect(missing.body.error.message).toContain('nope.mcap');

    const textFile = join(scratch, 'notes.txt');
    writeFileSync(textFile, 'just some notes, not a log\n');
    const notLog = await call<{ error: { code: string; message: string } }>('openLog', { path: textFile });
    expect(notLog.status).toBe(422);
    expect(notLog.body.error.message).toMatch(/notes\.txt is not a drive log/);

    const truncated = join(scratch, 'truncated.mcap');
    const bytes = readFileSync(demo);
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.byteLength / 2)));
    // A truncated MCAP stays usable: the scan fallback keeps the frames before the cut and says where it stopped.
    const cut = await call<{ frameCount: number; warnings: string[] }>('openLog', { path: truncated });
    expect(cut.status).toBe(200);
    expect(cut.body.frameCount).toBeGreaterThan(5);
    expect(cut.body.frameCount).toBeLessThan(30);
    expect(cut.body.warnings.join('\n')).toMatch(/truncated\.mcap.*(no index|byte \d+)/s);
    const empty = join(scratch, 'empty.mcap');
    writeFileSync(empty, bytes.subarray(0, 4));
    const broken = await call<{ error: { code: string; message: string; details: { path: string } } }>('openLog', { path: empty });
    expect(broken.status).toBe(422);
    expect(broken.body.error.code).toBe('BAD_LOG');
    expect(broken.body.error.message).toContain('empty.mcap');

    const range = await call<{ error: { code: string; message: string } }>('getFrame', { logId: info.id, index: 10_000 });
    expect(range.status).toBe(416);
    expect(range.body.error).toMatchObject({ code: 'OUT_OF_RANGE' });
    expect(range.body.error.message).toMatch(/has 30 frames/);

    const badInput = await call<{ error: { code: string; message: string } }>('getFrame', { logId: info.id, index: -1, extra: 1 });
    expect(badInput.status).toBe(400);
    expect(badInput.body.error.message).toMatch(/index/);

    const badJson = await call<{ error: { code: string } }>('getFrame', '{not json');
    expect(badJson.body.error.code).toBe('BAD_INPUT');

    const unknown = await call<{ error: { code: string } }>('dropDatabase', {});
    expect(unknown.body.error.code).toBe('UNKNOWN_METHOD');

    const unknownLog = await call<{ error: { code: string } }>('getFrame', { logId: 'nope', index: 0 });
    expect(unknownLog.body.error.code).toBe('NOT_FOUND');

    // The server is still healthy.
    expect((await call<LogInfo>('getLogInfo', { logId: info.id })).status).toBe(200);
  });

  it('refuses cross-origin callers (DNS rebinding / CSRF)', async () => {
    const foreign = await call<{ error: { code: string } }>('listLogs', {}, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
  });

  it('accepts a dropped file upload and opens it', async () => {
    const response = await fetch(`${server.url}${httpRoutes.upload}?name=${encodeURIComponent('../../weird name.mcap')}`, {
      method: 'POST',
      body: readFileSync(demo),
    });
    const { path } = (await response.json()) as { path: string };
    expect(path.startsWith(join(server.dir, 'uploads'))).toBe(true);
    const { body: info } = await call<LogInfo>('openLog', { path });
    expect(info.frameCount).toBe(30);
  });
});

describe('IPC transport (the handler table main/ registers, without Electron)', () => {
  it('gives the same results and errors as HTTP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sightline-ipc-'));
    const core = new SightlineCore({ dbPath: join(dir, 'ipc.db'), actor: 'test', hashLogs: false });
    const events: string[] = [];
    const stop = forwardEvents(core, (name) => events.push(name));
    const invoke = createIpcInvokeHandler(core);
    try {
      const opened = await invoke('openLog', { path: demo });
      expect(opened.ok).toBe(true);
      const info = (opened as { value: LogInfo }).value;
      expect(events).toContain('logOpened');
      const viaIpc = await invoke('getFrame', { logId: info.id, index: 5 });
      const { body: viaHttp } = await call<FrameData>('getFrame', { logId: info.id, index: 5 });
      const frame = (viaIpc as { value: FrameData }).value;
      expect(frame.stampNs).toBe(viaHttp.stampNs);
      expect(frame.lidar!.positions).toEqual(viaHttp.lidar!.positions);
      expect(frame.labels3d).toEqual(viaHttp.labels3d);

      expect(await invoke('getFrame', { logId: info.id, index: 99 })).toMatchObject({ ok: false, error: { code: 'OUT_OF_RANGE' } });
      expect(await invoke('openLog', { path: 42 })).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
      expect(await invoke(17, {})).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
      expect(await invoke('closeLog', { logId: info.id })).toEqual({ ok: true, value: { closed: true } });
      expect(events).toContain('logClosed');
      expect(verifyAuditChain(core.db).ok).toBe(true);
    } finally {
      stop();
      await core.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('workspace store integration', () => {
  it('records opened logs in the SQLite file with a verified audit chain', async () => {
    await call<LogInfo>('openLog', { path: demo });
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(server.dbPath, { readonly: true });
    const row = db.prepare('SELECT path, format, fingerprint FROM logs WHERE path = ?').get(demo) as { format: string; fingerprint: string } | undefined;
    expect(row?.format).toBe('mcap');
    expect(row?.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    db.close();
  });
});
