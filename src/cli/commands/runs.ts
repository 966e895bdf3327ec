// `sightline runs list | show ID`: the runs in a workspace database and their detections.
import { Command, InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApiError } from '../../api/contract.js';
import { defaultDbPath } from '../../app/paths.js';
import { openDatabase, type Db } from '../../store/db.js';
import { listDetections, listRunFrames, type DetectionRecord } from '../../store/detections.js';
import { getRun, listRuns, type RunRecord } from '../../store/runs.js';

const parseRunId = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a run id (a positive integer)');
  return n;
};

/** One detection as `runs show --json` prints it. */
export interface DetectionDump {
  frameId: string;
  frameIndex: number | null;
  /** Frame timestamp, integer nanoseconds as a decimal string. */
  stampNs: string;
  sensorId: string;
  class: string;
  modelClass: string | null;
  score: number;
  /** Pixels of the sensor's image; null for lidar-only detections. */
  box2d: { x1: number; y1: number; x2: number; y2: number } | null;
  /** Ego frame: centre, size [length, width, height], yaw about +z. */
  box3d: { center: [number, number, number]; size: [number, number, number]; yaw: number } | null;
  trackId: string | null;
}

export function detectionDump(d: DetectionRecord): DetectionDump {
  return {
    frameId: d.frameId,
    frameIndex: d.frameIndex,
    stampNs: d.frameStampNs,
    sensorId: d.sensorId,
    class: d.class,
    modelClass: d.modelClass,
    score: d.score,
    box2d: d.box2d ? { x1: d.box2d[0], y1: d.box2d[1], x2: d.box2d[2], y2: d.box2d[3] } : null,
    box3d: d.box3d ? { center: [d.box3d.cx, d.box3d.cy, d.box3d.cz], size: [d.box3d.length, d.box3d.width, d.box3d.height], yaw: d.box3d.yaw } : null,
    trackId: d.trackId,
  };
}

function withDb<T>(path: string, use: (db: Db) => T): T {
  const file = resolve(path);
  if (!existsSync(file)) throw new ApiError('NOT_FOUND', `No workspace database at ${file} (run 'sightline infer' first, or pass --db)`);
  const db = openDatabase(file);
  try {
    return use(db);
  } finally {
    db.close();
  }
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));

function runLine(r: RunRecord): string {
  const fps = r.framesPerS !== null ? `${r.framesPerS.toFixed(2)}/s` : '-';
  const engine = r.engine ? `${r.engine}/${r.executionProvider ?? '?'}` : '-';
  return [pad(String(r.id), 5), pad(r.status, 10), pad(r.modelId ?? '-', 18), pad(`${r.framesDone}/${r.framesTotal ?? '?'}`, 10), pad(fps, 10), pad(engine, 14), r.createdAt].join(' ');
}

export function registerRunsCommand(program: Command): void {
  const runs = program.command('runs').description('inference runs in the workspace database');

  runs
    .command('list')
    .description('list runs, newest first')
    .option('--db <file>', 'workspace database', defaultDbPath())
    .option('--log <id>', 'only runs on this log id')
    .option('--json', 'print JSON')
    .action((opts: { db: string; log?: string; json?: boolean }) => {
      const file = resolve(opts.db);
      const records = existsSync(file) ? withDb(file, (db) => listRuns(db, { logId: opts.log })) : [];
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
        return;
      }
      if (!records.length) {
        process.stdout.write(`No runs in ${file}\n`);
        return;
      }
      process.stdout.write(`${[pad('ID', 5), pad('STATUS', 10), pad('MODEL', 18), pad('FRAMES', 10), pad('RATE', 10), pad('ENGINE', 14), 'CREATED'].join(' ')}\n`);
      for (const r of records) process.stdout.write(`${runLine(r)}\n`);
    });

  runs
    .command('show')
    .description('a run record and every detection it stored')
    .argument('<id>', 'run id', parseRunId)
    .option('--db <file>', 'workspace database', defaultDbPath())
    .option('--json', 'print JSON: {run, frames, detections}')
    .action((id: number, opts: { db: string; json?: boolean }) => {
      withDb(opts.db, (db) => {
        const run = getRun(db, id);
        if (!run) throw new ApiError('NOT_FOUND', `No run with id ${id} in ${resolve(opts.db)}`);
        const frames = listRunFrames(db, id);
        if (opts.json) {
          // Streamed per detection: a long run has hundreds of thousands of them.
          const out = process.stdout;
          out.write(`{\n"run": ${JSON.stringify(run)},\n"frames": ${JSON.stringify(frames)},\n"detections": [`);
          let first = true;
          for (const d of listDetections(db, id)) {
            out.write(`${first ? '\n' : ',\n'}${JSON.stringify(detectionDump(d))}`);
            first = false;
          }
          out.write('\n]\n}\n');
          return;
        }
        const detections = listDetections(db, id);
        const lines = [
          `Run ${run.id}: ${run.name}`,
          `  status      ${run.status}${run.error ? ` (${run.error})` : ''}`,
          `  log         ${run.logId}`,
          `  model       ${run.modelId} sha256 ${run.modelSha256}`,
          `  engine      ${run.engine ?? '-'} / ${run.executionProvider ?? '-'} (device ${run.device})`,
          `  params      ${JSON.stringify(run.params)}`,
          `  software    ${run.softwareVersion}`,
          `  time        ${run.startedAt ?? '-'} → ${run.finishedAt ?? '-'}`,
          `  frames      ${run.framesDone}/${run.framesTotal}${run.framesPerS !== null ? `, ${run.framesPerS.toFixed(2)} frames/s` : ''}`,
          `  detections  ${detections.length}`,
        ];
        for (const d of detections) {
          const box = d.box2d ? d.box2d.map((v) => v.toFixed(1)).join(' ') : d.box3d ? `3D ${[d.box3d.cx, d.box3d.cy, d.box3d.cz].map((v) => v.toFixed(2)).join(' ')}` : '';
          lines.push(`  ${pad(String(d.frameIndex ?? d.frameId), 6)} ${pad(d.sensorId, 14)} ${pad(d.class, 14)} ${d.score.toFixed(3)}  ${box}`);
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      });
    });
}
