// `sightline safety`: audit a run's path conflicts on a drive log and print its safety-critical
// misses, most severe first; `sightline safety list | show` read stored audits back.
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApiError } from '../../api/contract.js';
import { defaultActor, defaultDbPath } from '../../app/paths.js';
import { LabelService } from '../../labels/service.js';
import { LogError } from '../../logs/errors.js';
import { detectLog, logIdFromFingerprint, LogNotFoundError, openDriveLog } from '../../logs/open.js';
import { loadSafetyAudit } from '../../safety/handlers.js';
import { runSafetyAudit } from '../../safety/audit.js';
import { SafetyError } from '../../safety/errors.js';
import type { EgoPathKind, SafetyAuditDetail, SafetyMiss } from '../../safety/model.js';
import type { SafetyParamsInput } from '../../safety/api.js';
import { listSafetyAudits } from '../../safety/store.js';
import { openDatabase, type Db } from '../../store/db.js';
import { recordLogOpened } from '../../store/logs.js';
import { getRun, listRuns, type RunRecord } from '../../store/runs.js';

function toCliError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof SafetyError) return new ApiError(error.code, error.message, error.details);
  if (error instanceof LogNotFoundError) return new ApiError('NOT_FOUND', error.message);
  if (error instanceof LogError) return new ApiError('BAD_LOG', error.message, { ...error.where });
  if (error instanceof Error && error.name === 'LabelError') return new ApiError((error as Error & { code: string }).code === 'NOT_FOUND' ? 'NOT_FOUND' : 'BAD_INPUT', error.message);
  return ApiError.from(error);
}

async function withExistingDb<T>(path: string, use: (db: Db) => Promise<T> | T): Promise<T> {
  const file = resolve(path);
  if (!existsSync(file)) throw new ApiError('NOT_FOUND', `No workspace database at ${file} (pass --db)`);
  const db = openDatabase(file);
  try {
    return await use(db);
  } catch (error) {
    throw toCliError(error);
  } finally {
    db.close();
  }
}

/** A run by id, or by name on the log (a name two runs share must be given as an id). */
export function resolveRun(db: Db, ref: string, logId: string): RunRecord {
  if (/^\d+$/.test(ref)) {
    const run = getRun(db, Number(ref));
    if (!run) throw new SafetyError(`No run with id ${ref}`, 'NOT_FOUND');
    return run;
  }
  const named = listRuns(db, { logId, limit: 100_000 }).filter((r) => r.name === ref);
  if (named.length === 0) throw new SafetyError(`No run named '${ref}' on log ${logId}`, 'NOT_FOUND');
  if (named.length > 1) throw new SafetyError(`${named.length} runs are named '${ref}' (ids ${named.map((r) => r.id).join(', ')}); pass the id`, 'BAD_INPUT');
  return named[0]!;
}

const number = (what: string, min = 0) => (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`must be ${what}`);
  return n;
};
const integer = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number of frames');
  return n;
};
const pathList = (value: string): EgoPathKind[] => {
  const kinds = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const k of kinds) if (!['driven', 'planned', 'heading'].includes(k)) throw new InvalidArgumentError('must list driven, planned and/or heading, comma-separated');
  if (!kinds.length) throw new InvalidArgumentError('must name at least one path');
  return kinds as EgoPathKind[];
};

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const fmt = (v: number | null, digits = 1, unit = ''): string => (v === null ? '-' : `${v.toFixed(digits)}${unit}`);

function frameRange(m: SafetyMiss): string {
  const first = m.frames[0]?.frameIndex;
  const last = m.frames[m.frames.length - 1]?.frameIndex;
  return first === undefined ? '-' : first === last ? `${first}` : `${first}-${last}`;
}

/** The ranked misses as a table. */
export function formatSafetyAudit(audit: SafetyAuditDetail): string {
  const s = audit.summary;
  const against = audit.against === 'log' ? 'log ground truth' : `label set ${audit.labelSetId}`;
  const lines = [
    `Safety audit ${audit.id}: run ${audit.runId} on log ${audit.logId} against ${against}`,
    `  ${s.frames} frames (${s.framesWithSpeed} with ego speed), ${s.groundTruthBoxes} ground-truth boxes, ${s.detections3d} 3D detections; ` +
      `${s.criticalTracks} obstacles critical in ${s.criticalFrames} frames`,
    `  braking horizon v²/(2·${audit.params.brakeDecelMps2}) + v·${audit.params.reactionTimeS} + ${audit.params.horizonMarginM} m; corridor ±${(audit.params.egoWidthM / 2 + audit.params.corridorMarginM).toFixed(2)} m; late after ${audit.params.lateFrames} frames`,
    `  ${s.misses.safetyMiss} safety-critical misses, ${s.misses.lateDetection} late detections; ${s.timings.msPerFrame.toFixed(3)} ms per frame (${s.timings.totalMs.toFixed(0)} ms in all)`,
  ];
  for (const w of s.warnings) lines.push(`  warning: ${w}`);
  if (audit.misses.length) {
    lines.push('', [pad('RANK', 5), pad('KIND', 15), pad('REASON', 15), pad('TRACK', 10), pad('CLASS', 11), pad('FRAMES', 10), pad('ENTRY', 6), pad('1ST DET', 8), pad('TTC', 7), pad('DIST', 7), 'PATH'].join(' '));
    for (const m of audit.misses) {
      lines.push(
        [
          pad(String(m.rank), 5), pad(m.kind, 15), pad(m.reason, 15), pad(m.trackId, 10), pad(m.label, 11), pad(frameRange(m), 10), pad(String(m.entryFrame.frameIndex), 6),
          pad(m.firstDetectedFrame ? String(m.firstDetectedFrame.frameIndex) : '-', 8), pad(fmt(m.minTtcS, 2, 's'), 7), pad(fmt(m.minDistanceM, 1, 'm'), 7), m.path,
        ].join(' '),
      );
    }
  } else {
    lines.push('', 'No safety-critical misses.');
  }
  return lines.join('\n');
}

interface AuditOptions {
  db: string;
  log: string;
  run: string;
  against?: string;
  logGt?: boolean;
  json?: boolean;
  brakeDecel?: number;
  reactionTime?: number;
  margin?: number;
  lateFrames?: number;
  corridorMargin?: number;
  egoWidth?: number;
  egoFront?: number;
  paths?: EgoPathKind[];
  classMatch?: 'group' | 'exact' | 'any';
  minScore?: number;
  reference?: string;
}

export function registerSafetyCommands(program: Command): void {
  const safety = program
    .command('safety')
    .description("audit a run's path conflicts: ground-truth obstacles in the ego corridor within the braking horizon that the run missed or saw late, ranked")
    .option('--db <file>', 'workspace database', defaultDbPath())
    .option('--log <log>', 'the drive log (file or folder) the run was made on')
    .option('--run <run>', 'run id or name')
    .option('--against <set>', 'ground truth from this label set (id or name)')
    .option('--log-gt', "ground truth from the log itself (the default)")
    .option('--json', 'print the audit as JSON')
    .option('--brake-decel <mps2>', 'braking deceleration, m/s² (default 6)', number('a positive number', Number.MIN_VALUE))
    .option('--reaction-time <s>', 'reaction time, s (default 1)', number('a number ≥ 0'))
    .option('--margin <m>', 'braking horizon margin, m (default 5)', number('a number ≥ 0'))
    .option('--late-frames <n>', 'a first detection more than N frames after entry is late (default 3)', integer)
    .option('--corridor-margin <m>', 'corridor margin beside the ego, m (default 0.3)', number('a number ≥ 0'))
    .option('--ego-width <m>', 'ego width, m (default 1.9)', number('a positive number', Number.MIN_VALUE))
    .option('--ego-front <m>', 'ego origin to front bumper, m (default 3.7)', number('a number ≥ 0'))
    .option('--paths <list>', 'ego paths: driven,planned,heading (default driven,planned)', pathList)
    .addOption(new Option('--class-match <mode>', 'detection class must be in the same group (default), the same class, or any').choices(['group', 'exact', 'any']))
    .option('--min-score <s>', 'ignore detections scoring below this', number('a number in 0..1'))
    .option('--reference <sensor>', 'reference sensor for frames')
    .action(async (opts: AuditOptions) => {
      if (!opts.log || !opts.run) throw new ApiError('BAD_INPUT', 'sightline safety needs --log LOG and --run RUN (or a subcommand: list, show)');
      if (opts.against && opts.logGt) throw new ApiError('BAD_INPUT', 'pass --against SET or --log-gt, not both');
      const params: SafetyParamsInput = {};
      if (opts.brakeDecel !== undefined) params.brakeDecelMps2 = opts.brakeDecel;
      if (opts.reactionTime !== undefined) params.reactionTimeS = opts.reactionTime;
      if (opts.margin !== undefined) params.horizonMarginM = opts.margin;
      if (opts.lateFrames !== undefined) params.lateFrames = opts.lateFrames;
      if (opts.corridorMargin !== undefined) params.corridorMarginM = opts.corridorMargin;
      if (opts.egoWidth !== undefined) params.egoWidthM = opts.egoWidth;
      if (opts.egoFront !== undefined) params.egoFrontM = opts.egoFront;
      if (opts.paths) params.paths = opts.paths;
      if (opts.classMatch) params.classMatch = opts.classMatch;
      if (opts.minScore !== undefined) params.minScore = opts.minScore;
      const actor = defaultActor();
      const audit = await withExistingDb(opts.db, async (db) => {
        const path = resolve(opts.log!);
        const detected = await detectLog(path);
        const logId = logIdFromFingerprint(detected.fingerprint);
        const drive = await openDriveLog(path, detected, { logId, referenceSensor: opts.reference });
        try {
          recordLogOpened(db, { ...drive.info, sizeBytes: detected.sizeBytes }, actor);
          const run = resolveRun(db, opts.run!, logId);
          const labelSetId = opts.against ? new LabelService(db, { actor }).resolveSet(opts.against, logId).id : undefined;
          let lastShown = 0;
          return await runSafetyAudit(db, drive, {
            runId: run.id,
            labelSetId,
            params,
            actor,
            onProgress: (done, total) => {
              if (opts.json || !process.stderr.isTTY || (Date.now() - lastShown < 250 && done < total)) return;
              lastShown = Date.now();
              process.stderr.write(`\rAuditing frame ${done}/${total}${done === total ? '\n' : ''}`);
            },
          });
        } finally {
          await drive.close();
        }
      });
      process.stdout.write(opts.json ? `${JSON.stringify(audit, null, 2)}\n` : `${formatSafetyAudit(audit)}\n`);
    });

  // Options given after a subcommand name are parsed by `safety` itself (commander reads a parent's
  // known options anywhere), so the subcommands take --db, --log, --run and --json from it.
  safety
    .command('list')
    .description('stored safety audits, newest first (filtered by --log, a log file or id, and --run, a run id)')
    .action(async (_opts: unknown, command: Command) => {
      const parent = command.parent!.opts<AuditOptions>();
      await withExistingDb(parent.db, async (db) => {
        let logId = parent.log;
        if (logId && existsSync(resolve(logId))) logId = logIdFromFingerprint((await detectLog(resolve(logId))).fingerprint);
        if (parent.run !== undefined && !/^\d+$/.test(parent.run)) throw new SafetyError(`--run must be a run id for 'safety list', got '${parent.run}'`);
        const audits = listSafetyAudits(db, { logId, runId: parent.run === undefined ? undefined : Number(parent.run) });
        if (parent.json) return void process.stdout.write(`${JSON.stringify(audits, null, 2)}\n`);
        if (!audits.length) return void process.stdout.write('No safety audits\n');
        process.stdout.write(`${[pad('ID', 5), pad('RUN', 5), pad('LOG', 18), pad('AGAINST', 14), pad('MISSES', 7), pad('LATE', 5), pad('BY', 12), 'CREATED'].join(' ')}\n`);
        for (const a of audits) {
          const against = a.against === 'log' ? 'log' : `set ${a.labelSetId}`;
          process.stdout.write(
            `${[pad(String(a.id), 5), pad(String(a.runId), 5), pad(a.logId, 18), pad(against, 14), pad(String(a.summary.misses.safetyMiss), 7), pad(String(a.summary.misses.lateDetection), 5), pad(a.createdBy, 12), a.createdAt].join(' ')}\n`,
          );
        }
      });
    });

  safety
    .command('show')
    .description('a stored audit and its ranked misses')
    .argument('<id>', 'audit id', (v) => {
      const n = integer(v);
      if (n === 0) throw new InvalidArgumentError('must be an audit id');
      return n;
    })
    .option('--conflicts', 'with every path conflict (with --json)')
    .action(async (id: number, opts: { conflicts?: boolean }, command: Command) => {
      const parent = command.parent!.opts<AuditOptions>();
      await withExistingDb(parent.db, (db) => {
        const audit = loadSafetyAudit(db, id, { includeConflicts: opts.conflicts && parent.json });
        process.stdout.write(parent.json ? `${JSON.stringify(audit, null, 2)}\n` : `${formatSafetyAudit(audit)}\n`);
      });
    });
}
