// `sightline infer LOG --model ID`: run a model over a log into the workspace database, with a
// progress bar; Ctrl-C cancels cleanly and the same command later resumes where it stopped.
import { Command, InvalidArgumentError, Option } from 'commander';
import { resolve } from 'node:path';
import { ApiError } from '../../api/contract.js';
import { toApiError } from '../../app/core.js';
import { defaultActor, defaultDbPath } from '../../app/paths.js';
import { parseFrameRange, runInference, type RunSummary } from '../../infer/pipeline/run.js';
import type { RunProgress } from '../../infer/pipeline/progress.js';
import type { DeviceChoice } from '../../infer/types.js';
import { openDatabase } from '../../store/db.js';
import { getRun } from '../../store/runs.js';
import { createProgressBar, type ProgressBar } from '../progress.js';

const parseRunId = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a run id (a positive integer)');
  return n;
};
const parseCount = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('must be an integer 1–64');
  return n;
};

interface InferOptions {
  model: string;
  device: DeviceChoice;
  db: string;
  json?: boolean;
  resume?: number;
  newRun?: boolean;
  frames?: string;
  sensor?: string[];
  lidar?: boolean;
  inferWorkers: number;
  preprocessWorkers: number;
}

export function registerInferCommand(program: Command): void {
  program
    .command('infer')
    .description('run a model over a drive log; results go to the workspace database')
    .argument('<log>', 'log file or folder')
    .requiredOption('--model <id>', "model id (see 'sightline models list'); 'lidar-clusters' runs the built-in lidar obstacle detector alone")
    .addOption(new Option('--device <device>', 'where to run the model').choices(['auto', 'gpu', 'cpu']).default('auto'))
    .option('--db <file>', 'workspace database', defaultDbPath())
    .option('--json', 'print the run summary as JSON')
    .option('--resume <run>', 'continue this run (same log and model) where it stopped', parseRunId)
    .option('--new-run', 'start a new run even when an unfinished one with the same log, model and options exists')
    .option('--frames <A:B>', 'frames A up to (not including) B; either end may be left out')
    .option('--sensor <id...>', 'camera sensor id(s) to run on (default: every camera)')
    .option('--lidar', 'also run lidar ground segmentation + clustering (3D obstacle boxes, point labels)')
    .option('--infer-workers <n>', 'inference worker threads, one engine session each', parseCount, 1)
    .option('--preprocess-workers <n>', 'image decode/resize worker threads', parseCount, 1)
    .addHelpText(
      'after',
      `
Resuming: a run that was killed or cancelled keeps every frame it finished. Running the same
command again (same log, model file and options) continues the latest unfinished run; --resume RUN
names the run explicitly, --new-run starts afresh. Ctrl-C cancels cleanly.`,
    )
    .action(async (log: string, opts: InferOptions) => {
      const summary = await inferCommand(resolve(log), opts).catch(toApiError);
      if (summary.status === 'failed') process.exitCode = 1;
      else if (summary.status === 'cancelled') process.exitCode = 130;
    });
}

async function inferCommand(logPath: string, opts: InferOptions): Promise<RunSummary> {
  if (opts.resume !== undefined && opts.newRun) throw new ApiError('BAD_INPUT', '--resume and --new-run exclude each other');
  const frameRange = opts.frames !== undefined ? parseFrameRange(opts.frames) : undefined;
  const db = openDatabase(resolve(opts.db));
  let bar: ProgressBar | undefined;
  let doneBefore = 0;
  const onProgress = (p: RunProgress): void => {
    if (p.status !== 'running') return;
    if (!bar) {
      bar = createProgressBar(`Run ${p.runId}`);
      doneBefore = p.framesDone;
    }
    const detail = `${p.backend ?? 'starting'}${doneBefore ? ` (resumed after ${doneBefore})` : ''}`;
    // The bar derives its rate from this session's frames, so earlier sessions are left out of the counts.
    bar.update(p.framesDone - doneBefore, p.framesTotal - doneBefore, detail);
  };
  try {
    const handle = await runInference({
      db,
      logPath,
      modelId: opts.model,
      device: opts.device,
      sensors: opts.sensor,
      frameRange,
      lidar: opts.lidar,
      resume: opts.resume ?? (opts.newRun ? 'new' : 'auto'),
      workers: { infer: opts.inferWorkers, preprocess: opts.preprocessWorkers },
      actor: defaultActor(),
      onProgress,
      onLog: (line) => {
        if (!opts.json) process.stderr.write(`${line}\n`);
      },
    });
    if (!opts.json) {
      const what = handle.resumed ? `Resuming run ${handle.runId} (${handle.run.framesDone}/${handle.run.framesTotal} frames done)` : `Run ${handle.runId}`;
      process.stderr.write(`${what}: ${opts.model} on ${logPath}\n`);
    }
    let interrupted = 0;
    const onSignal = (): void => {
      if (++interrupted > 1) process.exit(130);
      process.stderr.write('\nCancelling (Ctrl-C again to quit at once)…\n');
      handle.cancel();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const summary = await handle.done;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const message =
      summary.status === 'done'
        ? `Run ${summary.runId} done: ${summary.framesDone}/${summary.framesTotal} frames (${summary.framesThisSession} now, ${summary.detectionsThisSession} detections), ${summary.framesPerS.toFixed(2)} frames/s on ${summary.engine}/${summary.executionProvider}`
        : summary.status === 'cancelled'
          ? `Run ${summary.runId} cancelled at ${summary.framesDone}/${summary.framesTotal} frames; run the same command again to resume`
          : `Run ${summary.runId} failed at ${summary.framesDone}/${summary.framesTotal} frames: ${summary.error}`;
    if (bar) bar.finish(opts.json ? undefined : message);
    else if (!opts.json) process.stderr.write(`${message}\n`);
    if (opts.json) process.stdout.write(`${JSON.stringify({ summary, run: getRun(db, summary.runId) }, null, 2)}\n`);
    return summary;
  } finally {
    db.close();
  }
}
