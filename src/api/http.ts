// The HTTP + WebSocket transport of the contract (`sightline serve`). Loopback by default;
// calls are POST /api/call/<method> with a JSON body and a wire-encoded (binary) reply.
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, extname, join, normalize, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import { SightlineCore } from '../app/core.js';
import { cacheDir } from '../app/paths.js';
import { ApiError, eventNames, httpRoutes, httpStatusOf } from './contract.js';
import { createHandlers, dispatch } from './handlers.js';
import { encodeWire, WIRE_CONTENT_TYPE } from './wire.js';

export interface ServerOptions {
  host?: string;
  port?: number;
  dbPath: string;
  /** Logs opened at start (registered logs in web mode). */
  logs?: string[];
  /** Built renderer to serve (dist/renderer); the API alone when absent. */
  staticDir?: string;
  /** Where dropped files are uploaded in web mode. */
  uploadDir?: string;
  actor?: string;
  hashLogs?: boolean;
}

export interface RunningServer {
  url: string;
  port: number;
  core: SightlineCore;
  close(): Promise<void>;
}

const MAX_JSON_BODY = 1 << 20;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const core = new SightlineCore({ dbPath: options.dbPath, actor: options.actor, hashLogs: options.hashLogs });
  try {
    for (const log of options.logs ?? []) await core.openLog(log);
  } catch (error) {
    await core.close();
    throw error;
  }
  const handlers = createHandlers(core, { transport: 'http', nativeDialogs: false });
  const uploadDir = options.uploadDir ?? join(cacheDir(), 'uploads');
  const staticRoot = options.staticDir && existsSync(options.staticDir) ? resolve(options.staticDir) : undefined;
  const bindsLoopback = LOOPBACK.has(host);

  // DNS rebinding and cross-site requests: a loopback server only answers its own origin.
  const allowed = (req: IncomingMessage): boolean => {
    if (!bindsLoopback) return true;
    const hostHeader = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (!LOOPBACK.has(hostHeader)) return false;
    const origin = req.headers.origin;
    if (!origin) return true;
    try {
      return LOOPBACK.has(new URL(origin).hostname) || LOOPBACK.has(`[${new URL(origin).hostname}]`);
    } catch {
      return false;
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendError(res, ApiError.from(error)));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!allowed(req)) return sendError(res, new ApiError('BAD_INPUT', 'Request refused: origin or host is not this server'), 403);
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith(httpRoutes.call)) {
      if (req.method !== 'POST') return sendError(res, new ApiError('BAD_INPUT', 'Use POST for API calls'), 405);
      const method = decodeURIComponent(url.pathname.slice(httpRoutes.call.length));
      const body = await readJsonBody(req);
      const value = await dispatch(handlers, method, body);
      const bytes = encodeWire(value);
      res.writeHead(200, { 'content-type': WIRE_CONTENT_TYPE, 'content-length': bytes.byteLength, 'cache-control': 'no-store' });
      res.end(bytes);
      return;
    }
    if (url.pathname === httpRoutes.upload) {
      if (req.method !== 'POST') return sendError(res, new ApiError('BAD_INPUT', 'Use POST for uploads'), 405);
      const name = basename(url.searchParams.get('name') ?? 'upload.bin').replace(/[^\w.-]/g, '_') || 'upload.bin';
      mkdirSync(uploadDir, { recursive: true });
      const target = join(uploadDir, `${Date.now()}-${name}`);
      await pipeline(req, createWriteStream(target));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path: target }));
      return;
    }
    if (req.method === 'GET' || req.method === 'HEAD') return serveStatic(url.pathname, res);
    sendError(res, new ApiError('NOT_FOUND', `No route ${req.method} ${url.pathname}`));
  }

  function serveStatic(pathname: string, res: ServerResponse): void {
    if (!staticRoot) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('The renderer is not built. Run `npm run build`.');
      return;
    }
    const relative = normalize(decodeURIComponent(pathname)).replace(/^([/\\])+/, '');
    let file = resolve(staticRoot, relative);
    if (file !== staticRoot && !file.startsWith(staticRoot + sep)) {
      return sendError(res, new ApiError('NOT_FOUND', 'Not found'));
    }
    if (!existsSync(file) || statSync(file).isDirectory()) file = join(staticRoot, 'index.html');
    res.writeHead(200, {
      'content-type': MIME[extname(file)] ?? 'application/octet-stream',
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': file.endsWith('index.html') ? 'no-cache' : 'public, max-age=3600',
    });
    createReadStream(file).pipe(res);
  }

  const wss = new WebSocketServer({ noServer: true });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== httpRoutes.events || !allowed(req)) {
      socket.write('HTTP/1.1 403 Forbidden\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('message', () => ws.close(1003, 'The event socket is one-way'));
    });
  });
  const offs = eventNames.map((event) =>
    core.on(event, (payload) => {
      const message = JSON.stringify({ event, payload });
      for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(message);
    }),
  );

  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8808, host, () => resolvePromise());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    core,
    async close() {
      offs.forEach((off) => off());
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await core.close();
    },
  };
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_JSON_BODY) throw new ApiError('BAD_INPUT', `Request body over ${MAX_JSON_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ApiError('BAD_INPUT', 'Request body is not valid JSON');
  }
}

function sendError(res: ServerResponse, error: ApiError, status?: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: error.toJSON() });
  res.writeHead(status ?? httpStatusOf[error.code], { 'content-type': 'application/json' });
  res.end(body);
}
