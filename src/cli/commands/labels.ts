// `sightline labels …`: label sets, their labels and history, working sets, review status, issues and
// stage sign-off, from the command line. Also the helpers the audit and import/export commands share.
import { Command, InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApiError, type ErrorCode } from '../../api/contract.js';
import { defaultDbPath } from '../../app/paths.js';
import { LabelError } from '../../labels/errors.js';
import { ReviewService } from '../../labels/review.js';
import { LabelService } from '../../labels/service.js';
import { LogError } from '../../logs/errors.js';
import { openDatabase, type Db } from '../../store/db.js';
import type { LabelRecord } from '../../store/labelEvents.js';
import { REVIEW_STAGES, REVIEW_STATUSES, type IssueStatus, type ReviewStage, type ReviewStatus } from '../../store/reviews.js';

// ---- shared by the label, audit and import/export commands ----

const CODES: Record<LabelError['code'], ErrorCode> = { BAD_INPUT: 'BAD_INPUT', NOT_FOUND: 'NOT_FOUND', READ_ONLY: 'BAD_INPUT', CONFLICT: 'INTERNAL' };

/** Workflow errors as the API's error type, which bin.ts prints and maps to an exit code. */
export function toCliError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof LabelError) return new ApiError(CODES[error.code], error.message, error.details);
  if (error instanceof LogError) return new ApiError('BAD_LOG', error.message, { ...error.where });
  return ApiError.from(error);
}

/** Opens an existing database (never creates one by accident), runs `use`, closes it. */
export async function withExistingDb<T>(path: string, use: (db: Db) => T | Promise<T>): Promise<T> {
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

export const parsePositiveInt =
  (what: string) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`must be ${what} (a positive integer)`);
    return n;
  };

const parseChoice =
  <T extends string>(choices: readonly T[]) =>
  (value: string): T => {
    if (!choices.includes(value as T)) throw new InvalidArgumentError(`must be one of ${choices.join(', ')}`);
    return value as T;
  };

export const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));

export const printJson = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

const dbOption = (c: Command): Command => c.option('--db <file>', 'workspace database', defaultDbPath());

function labelLine(l: LabelRecord): string {
  const b2 = l.box2d ? `2D ${l.box2d.sensorId} [${[l.box2d.x1, l.box2d.y1, l.box2d.x2, l.box2d.y2].map((v) => v.toFixed(1)).join(' ')}]` : '';
  const b3 = l.box3d ? `3D c[${l.box3d.center.map((v) => v.toFixed(2)).join(' ')}] s[${l.box3d.size.map((v) => v.toFixed(2)).join(' ')}] yaw ${l.box3d.yaw.toFixed(3)}` : '';
  const flags = [l.trackId !== null ? `track ${l.trackId}` : '', l.score !== null ? `score ${l.score.toFixed(3)}` : '', l.interpolated ? 'interpolated' : '', l.deleted ? 'DELETED' : '']
    .filter(Boolean)
    .join(', ');
  return `${pad(String(l.id), 7)} r${pad(String(l.revision), 4)} ${pad(l.frameId, 34)} ${pad(l.class, 14)} ${[b2, b3].filter(Boolean).join('  ')}${flags ? `  (${flags})` : ''}`;
}

export function registerLabelCommands(program: Command): void {
  const labels = program.command('labels').description('label sets: ground truth, predictions and working sets; review and sign-off');

  dbOption(labels.command('list').description('list label sets'))
    .option('--log <id>', 'only sets on this log id')
    .option('--json', 'print JSON')
    .action(async (opts: { db: string; log?: string; json?: boolean }) => {
      await withExistingDb(opts.db, (db) => {
        const sets = new LabelService(db).listSets({ logId: opts.log });
        if (opts.json) return printJson(sets);
        if (!sets.length) return void process.stdout.write('No label sets\n');
        process.stdout.write(`${[pad('ID', 5), pad('KIND', 13), pad('LABELS', 8), pad('LOG', 18), pad('CREATED BY', 12), 'NAME'].join(' ')}\n`);
        for (const s of sets) process.stdout.write(`${[pad(String(s.id), 5), pad(s.kind, 13), pad(String(s.labelCount), 8), pad(s.logId, 18), pad(s.createdBy, 12), s.name].join(' ')}\n`);
      });
    });

  dbOption(labels.command('show').description("a set's current labels"))
    .requiredOption('--set <set>', 'label set id or name')
    .option('--frame <frameId>', 'only this frame')
    .option('--track <id>', 'only this track')
    .option('--deleted', 'include deleted labels')
    .option('--json', 'print JSON')
    .action(async (opts: { db: string; set: string; frame?: string; track?: string; deleted?: boolean; json?: boolean }) => {
      await withExistingDb(opts.db, (db) => {
        const service = new LabelService(db);
        const set = service.resolveSet(opts.set);
        const list = service.listLabels(set.id, { frameId: opts.frame, trackId: opts.track, includeDeleted: opts.deleted });
        if (opts.json) return printJson(list);
        process.stdout.write(`Label set ${set.id} '${set.name}' (${set.kind}, log ${set.logId}): ${list.length} labels\n`);
        for (const l of list) process.stdout.write(`${labelLine(l)}\n`);
      });
    });

  dbOption(labels.command('history').description('the correction events of a set, a label or a frame, oldest first'))
    .requiredOption('--set <set>', 'label set id or name')
    .option('--label <id>', 'only this label', parsePositiveInt('a label id'))
    .option('--frame <frameId>', 'only this frame')
    .option('--json', 'print JSON')
    .action(async (opts: { db: string; set: string; label?: number; frame?: string; json?: boolean }) => {
      await withExistingDb(opts.db, (db) => {
        const service = new LabelService(db);
        const set = service.resolveSet(opts.set);
        const events = service.history({ setId: set.id, labelId: opts.label, frameId: opts.frame });
        if (opts.json) return printJson(events);
        for (const e of events) {
          const target = e.labelId !== null ? `label ${e.labelId}` : `detection ${e.detectionId}`;
          const change = e.kind === 'update' ? ` ${JSON.stringify(diff(e.before, e.after))}` : '';
          process.stdout.write(`${pad(`#${e.id}`, 8)} ${e.at}  ${pad(e.author, 12)} ${pad(e.kind, 9)} ${pad(target, 16)} r${e.baseRevision}→${e.revision}${e.interpolated ? ' interpolated' : ''}${e.reason ? ` "${e.reason}"` : ''}${change}\n`);
        }
      });
    });

  dbOption(labels.command('create-working').description('create a working set (an editable copy) from a ground-truth or predictions set'))
    .requiredOption('--from <set>', 'source label set id or name')
    .requiredOption('--name <name>', 'name of the new working set')
    .option('--reason <text>', 'why (recorded in the audit trail)')
    .action(async (opts: { db: string; from: string; name: string; reason?: string }) => {
      await withExistingDb(opts.db, (db) => {
        const service = new LabelService(db);
        const from = service.resolveSet(opts.from);
        const set = service.createWorkingSet({ fromSetId: from.id, name: opts.name, reason: opts.reason });
        process.stdout.write(`Created working set ${set.id} '${set.name}' from '${from.name}' (${set.labelCount} labels)\n`);
      });
    });

  dbOption(labels.command('from-run').description("create a predictions set from a run's detections"))
    .requiredOption('--run <id>', 'run id', parsePositiveInt('a run id'))
    .option('--name <name>', 'name of the set')
    .action(async (opts: { db: string; run: number; name?: string }) => {
      await withExistingDb(opts.db, (db) => {
        const set = new LabelService(db).createSetFromRun({ runId: opts.run, name: opts.name });
        process.stdout.write(`Created predictions set ${set.id} '${set.name}' (${set.labelCount} labels)\n`);
      });
    });

  dbOption(labels.command('verify').description("prove a set's materialised labels equal a replay of its events, and that the audit trail matches them"))
    .requiredOption('--set <set>', 'label set id or name')
    .option('--json', 'print JSON')
    .action(async (opts: { db: string; set: string; json?: boolean }) => {
      await withExistingDb(opts.db, (db) => {
        const service = new LabelService(db);
        const set = service.resolveSet(opts.set);
        const check = service.verify(set.id);
        if (opts.json) printJson(check);
        else if (check.ok) process.stdout.write(`Label set ${set.id} '${set.name}': materialised state equals the replay of ${check.materialisation.events} events; every event matches its audit record\n`);
        else {
          const m = check.materialisation;
          process.stdout.write(
            `Label set ${set.id} '${set.name}' FAILS:\n` +
              m.mismatches.map((x) => `  label ${x.labelId}: stored ${x.stored ?? '(absent)'}\n    replay ${x.replayed ?? '(absent)'}\n`).join('') +
              (m.rejectionMismatches.length ? `  rejections differ for detections ${m.rejectionMismatches.join(', ')}\n` : '') +
              (check.audit.mismatched.length ? `  events no longer matching their audit record: ${check.audit.mismatched.join(', ')}\n` : '') +
              (check.audit.missing.length ? `  events without an audit record: ${check.audit.missing.join(', ')}\n` : ''),
          );
        }
        if (!check.ok) process.exitCode = 1;
      });
    });

  dbOption(labels.command('review').description("show frames' review status, or set one frame's"))
    .requiredOption('--set <set>', 'label set id or name')
    .option('--frame <frameId>', 'the frame to set')
    .option('--status <status>', `new status: ${REVIEW_STATUSES.join(', ')}`, parseChoice(REVIEW_STATUSES))
    .option('--note <text>', 'note')
    .option('--json', 'print JSON')
    .action(async (opts: { db: string; set: string; frame?: string; status?: ReviewStatus; note?: string; json?: boolean }) => {
      await withExistingDb(opts.db, (db) => {
        const set = new LabelService(db).resolveSet(opts.set);
        const review = new ReviewService(db);
        if (opts.status) {
          if (!opts.frame) throw new ApiError('BAD_INPUT', '--status needs --frame');
          const r = review.setFrameStatus({ setId: set.id, frameId: opts.frame, status: opts.status, note: opts.note });
          return opts.json ? printJson(r) : void process.stdout.write(`${r.frameId}: ${r.status} (revision ${r.revision})\n`);
        }
        const summary = review.summary(set.id);
        if (opts.json) return printJson(summary);
        for (const s of summary) process.stdout.write(`${pad(s.frameId, 34)} ${pad(s.status, 16)} issues ${s.openIssues} open / ${s.resolvedIssues} resolved${s.signedStages.length ? `  signed: ${s.signedStages.join(', ')}` : ''}\n`);
      });
    });

  dbOption(labels.command('issues').description('list frame issues with their comments'))
    .requiredOption('--set <set>', 'label set id or name')
    .option('--frame <frameId>', 'only this frame')
    .option('--status <status>', 'open or resolved', parseChoice<IssueStatus>(['open', 'resolved']))
    .option('--json', 'print JSON')
    .action(async (opts: { db: string; set: string; frame?: string; status?: IssueStatus; json?: boolean }) => {
      await withExistingDb(opts.db, (db) => {
        const set = new LabelService(db).resolveSet(opts.set);
        const issues = new ReviewService(db).listIssues(set.id, { frameId: opts.frame, status: opts.status });
        if (opts.json) return printJson(issues);
        for (const i of issues) {
          process.stdout.write(`#${i.id} [${i.status}] ${i.frameId}: ${i.title} (${i.createdBy}, ${i.createdAt})\n`);
          for (const c of i.comments) process.stdout.write(`    ${c.author} ${c.at}: ${c.body}\n`);
        }
      });
    });

  dbOption(labels.command('issue').description('open an issue on a frame'))
    .requiredOption('--set <set>', 'label set id or name')
    .requiredOption('--frame <frameId>', 'the frame')
    .requiredOption('--title <text>', 'what is wrong')
    .option('--comment <text>', 'first comment')
    .option('--label <id>', 'the label it is about', parsePositiveInt('a label id'))
    .action(async (opts: { db: string; set: string; frame: string; title: string; comment?: string; label?: number }) => {
      await withExistingDb(opts.db, (db) => {
        const set = new LabelService(db).resolveSet(opts.set);
        const issue = new ReviewService(db).openIssue({ setId: set.id, frameId: opts.frame, title: opts.title, comment: opts.comment, labelId: opts.label });
        process.stdout.write(`Opened issue ${issue.id} on ${issue.frameId}\n`);
      });
    });

  dbOption(labels.command('comment').description('comment on an issue, optionally resolving or reopening it'))
    .requiredOption('--issue <id>', 'issue id', parsePositiveInt('an issue id'))
    .requiredOption('--body <text>', 'the comment')
    .option('--resolve', 'and mark the issue resolved')
    .option('--reopen', 'and reopen the issue')
    .action(async (opts: { db: string; issue: number; body: string; resolve?: boolean; reopen?: boolean }) => {
      await withExistingDb(opts.db, (db) => {
        const review = new ReviewService(db);
        const issue = opts.resolve
          ? review.resolveIssue({ issueId: opts.issue, comment: opts.body })
          : opts.reopen
            ? review.reopenIssue({ issueId: opts.issue, comment: opts.body })
            : review.comment({ issueId: opts.issue, body: opts.body });
        process.stdout.write(`Issue ${issue.id} [${issue.status}]: ${issue.comments.length} comments\n`);
      });
    });

  dbOption(labels.command('signoff').description('sign off a review stage over a frame range (inclusive)'))
    .requiredOption('--set <set>', 'label set id or name')
    .requiredOption('--stage <stage>', REVIEW_STAGES.join(', '), parseChoice(REVIEW_STAGES))
    .requiredOption('--from <frameId>', 'first frame')
    .requiredOption('--to <frameId>', 'last frame')
    .option('--note <text>', 'note')
    .option('--force', 'sign off even where frames need attention or have open issues (recorded in the audit event)')
    .action(async (opts: { db: string; set: string; stage: ReviewStage; from: string; to: string; note?: string; force?: boolean }) => {
      await withExistingDb(opts.db, (db) => {
        const set = new LabelService(db).resolveSet(opts.set);
        const s = new ReviewService(db).signOff({ setId: set.id, stage: opts.stage, fromFrameId: opts.from, toFrameId: opts.to, note: opts.note, force: opts.force });
        process.stdout.write(`Signed off ${s.stage} for ${s.fromFrameId} .. ${s.toFrameId} as ${s.signedBy} (audit event #${s.auditSeq})\n`);
      });
    });

  dbOption(labels.command('signoffs').description("a set's stage sign-offs"))
    .requiredOption('--set <set>', 'label set id or name')
    .option('--json', 'print JSON')
    .action(async (opts: { db: string; set: string; json?: boolean }) => {
      await withExistingDb(opts.db, (db) => {
        const set = new LabelService(db).resolveSet(opts.set);
        const list = new ReviewService(db).listSignOffs(set.id);
        if (opts.json) return printJson(list);
        for (const s of list) process.stdout.write(`${s.signedAt} ${pad(s.signedBy, 12)} ${pad(s.stage, 11)} ${s.fromFrameId} .. ${s.toFrameId}${s.note ? `  "${s.note}"` : ''}\n`);
      });
    });
}

function diff(before: object | null, after: object | null): Record<string, [unknown, unknown]> {
  const out: Record<string, [unknown, unknown]> = {};
  const a = (before ?? {}) as Record<string, unknown>;
  const b = (after ?? {}) as Record<string, unknown>;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) out[key] = [a[key], b[key]];
  }
  return out;
}
