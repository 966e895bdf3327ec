// Starts the real HTTP/WebSocket server on a free loopback port with a fresh SQLite file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/api/http.js';

export interface TestServer extends RunningServer {
  dir: string;
  dbPath: string;
}

export async function startTestServer(logs: string[] = [], options: { staticDir?: string } = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sightline-server-'));
  const dbPath = join(dir, 'workspace.db');
  const server = await startServer({
    port: 0,
    dbPath,
    logs,
    staticDir: options.staticDir ?? join(import.meta.dirname, '..', '..', 'dist', 'renderer'),
    uploadDir: join(dir, 'uploads'),
    actor: 'test',
    hashLogs: false,
  });
  return {
    ...server,
    dir,
    dbPath,
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
