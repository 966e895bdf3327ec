// `npm run bench:seek`: frame seek latency on the demo drive, in-process and over HTTP.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpRoutes } from '../api/contract.js';
import { startServer } from '../api/http.js';
import { decodeWire } from '../api/wire.js';
import { ensureDemoLog } from '../cli/demoLog.js';
import { createRng } from '../util/rng.js';

function percentiles(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(1);
  return `p50 ${at(0.5)} ms  p95 ${at(0.95)} ms  max ${at(1)} ms  (n=${s.length})`;
}

const demo = await ensureDemoLog();
const dir = mkdtempSync(join(tmpdir(), 'sightline-bench-'));
const server = await startServer({ port: 0, dbPath: join(dir, 'bench.db'), hashLogs: false });
try {
  const t0 = performance.now();
  const info = await server.core.openLog(demo);
  console.log(`open ${info.name}: ${(performance.now() - t0).toFixed(1)} ms (${info.frameCount} frames, ${(info.sizeBytes / 1e6).toFixed(0)} MB)`);
  const rng = createRng(7);
  const order = Array.from({ length: 60 }, () => Math.floor(rng() * info.frameCount));

  // Fresh core per mode so caches do not carry over between measurements.
  const inProcess: number[] = [];
  for (const index of order) {
    await server.core.closeLog(info.id);
    await server.core.openLog(demo);
    const start = performance.now();
    await server.core.getFrame(info.id, index);
    inProcess.push(performance.now() - start);
  }
  console.log(`random seek, cold caches, in-process:   ${percentiles(inProcess)}`);

  const http = async (index: number) => {
    const response = await fetch(`${server.url}${httpRoutes.call}getFrame`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ logId: info.id, index }) });
    decodeWire(await response.arrayBuffer());
  };
  const overHttp: number[] = [];
  for (const index of order) {
    await server.core.closeLog(info.id);
    await server.core.openLog(demo);
    const start = performance.now();
    await http(index);
    overHttp.push(performance.now() - start);
  }
  console.log(`random seek, cold caches, over HTTP:    ${percentiles(overHttp)}`);

  await server.core.closeLog(info.id);
  await server.core.openLog(demo);
  const stepping: number[] = [];
  for (let index = 0; index < info.frameCount; index++) {
    const start = performance.now();
    await http(index);
    stepping.push(performance.now() - start);
  }
  console.log(`sequential step (play), over HTTP:      ${percentiles(stepping)}`);
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
