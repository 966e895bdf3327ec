// `sightline import` and `sightline export`: labels in KITTI label_2, COCO detection JSON and the
// nuScenes detection submission format, against a drive log's frames.
import { Command, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { defaultActor, defaultDbPath } from '../../app/paths.js';
import { exportLabels, importLabels, importLogGroundTruth, IO_FORMATS, type IoFormat } from '../../io/index.js';
import { openDatabase } from '../../store/db.js';
import { printJson, toCliError, withExistingDb } from './labels.js';

const parseFormat = (value: string): IoFormat => {
  if (!IO_FORMATS.includes(value as IoFormat)) throw new InvalidArgumentError(`must be one of ${IO_FORMATS.join(', ')}`);
  return value as IoFormat;
};
const parseAs = (value: string): 'labels' | 'run' => {
  if (value !== 'labels' && value !== 'run') throw new InvalidArgumentError('must be labels or run');
  return value;
};

const printWarnings = (warnings: readonly string[]): void => {
  const shown = warnings.slice(0, 20);
  for (const w of shown) process.stderr.write(`warning: ${w}\n`);
  if (warnings.length > shown.length) process.stderr.write(`warning: … ${warnings.length - shown.length} more (see --json)\n`);
};

export function registerIoCommands(program: Command): void {
  program
    .command('import')
    .description('import labels (or predictions, as a run) in KITTI, COCO or nuScenes format against a log')
    .argument('<path>', 'KITTI: a label_2 folder (or one .txt; label_02 tracking files are detected); kitti-tracking: a label_02 <seq>.txt or folder; COCO: a dataset or results JSON; nuScenes: a submission JSON')
    .requiredOption('--log <log>', 'the drive log (file or folder) the labels belong to')
    .requiredOption('--format <format>', IO_FORMATS.join(' | '), parseFormat)
    .option('--db <file>', 'workspace database (created if missing)', defaultDbPath())
    .option('--as <what>', 'labels: an imported ground-truth label set; run: predictions as a model run with detections', parseAs, 'labels')
    .option('--name <name>', 'name of the label set or run')
    .option('--camera <sensor>', 'camera of the 2D boxes (and of KITTI camera coordinates)')
    .option('--coco-dataset <file>', 'COCO results files: the dataset JSON their image and category ids refer to')
    .option('--json', 'print JSON')
    .action(async (path: string, opts: { log: string; format: IoFormat; db: string; as: 'labels' | 'run'; name?: string; camera?: string; cocoDataset?: string; json?: boolean }) => {
      const db = openDatabase(resolve(opts.db));
      try {
        const summary = await importLabels(db, {
          logPath: opts.log, format: opts.format, path, as: opts.as, name: opts.name, camera: opts.camera, cocoDataset: opts.cocoDataset, actor: defaultActor(),
        });
        if (opts.json) return printJson(summary);
        printWarnings(summary.warnings);
        const target = summary.labelSet
          ? `label set ${summary.labelSet.id} '${summary.labelSet.name}'`
          : `run ${summary.run!.id} '${summary.run!.name}'`;
        process.stdout.write(`Imported ${summary.boxes} boxes on ${summary.frames} frames from ${summary.files} file(s) as ${target} (log ${summary.logId}) in ${Math.round(summary.timings.readMs + summary.timings.storeMs)} ms\n`);
      } catch (error) {
        throw toCliError(error);
      } finally {
        db.close();
      }
    });

  program
    .command('export')
    .description('export a label set as KITTI label_2, COCO detection JSON or a nuScenes submission, with a manifest beside it')
    .requiredOption('--labels <set>', 'label set id or name')
    .requiredOption('--format <format>', IO_FORMATS.join(' | '), parseFormat)
    .requiredOption('--out <path>', 'KITTI: a folder for <sample>.txt files; COCO and nuScenes: a .json file')
    .option('--db <file>', 'workspace database', defaultDbPath())
    .option('--log <log>', "the log's path, if it moved since it was registered")
    .option('--camera <sensor>', 'camera for KITTI camera coordinates and image boxes')
    .option('--score', 'KITTI: write the score column (default: for predictions)')
    .option('--no-score', 'KITTI: never write the score column')
    .option('--json', 'print the manifest as JSON')
    .action(async (opts: { labels: string; format: IoFormat; out: string; db: string; log?: string; camera?: string; score?: boolean; json?: boolean }) => {
      await withExistingDb(opts.db, async (db) => {
        const summary = await exportLabels(db, {
          labelSet: opts.labels, format: opts.format, out: opts.out, actor: defaultActor(), logPath: opts.log, camera: opts.camera, withScore: opts.score,
        });
        if (opts.json) return printJson({ manifestPath: summary.manifestPath, ...summary.manifest });
        printWarnings(summary.manifest.warnings);
        const m = summary.manifest;
        process.stdout.write(
          `Exported ${m.counts.written} boxes of label set ${m.labelSet.id} '${m.labelSet.name}' as ${m.format} to ${resolve(opts.out)}` +
            `${m.counts.skipped ? ` (${m.counts.skipped} labels the format cannot hold were skipped)` : ''}\n` +
            `Manifest ${summary.manifestPath} (audit head ${m.audit.headHash.slice(0, 16)}…, Sightline ${m.softwareVersion})\n`,
        );
      });
    });

  program
    .command('import-log-labels')
    .description("import a log's own ground truth (KITTI label_2, nuScenes annotations, label topics) as a label set")
    .requiredOption('--log <log>', 'the drive log')
    .option('--db <file>', 'workspace database (created if missing)', defaultDbPath())
    .option('--name <name>', 'name of the label set')
    .action(async (opts: { log: string; db: string; name?: string }) => {
      const db = openDatabase(resolve(opts.db));
      try {
        const set = await importLogGroundTruth(db, { logPath: opts.log, name: opts.name, actor: defaultActor() });
        process.stdout.write(`Imported ${set.labelCount} labels as label set ${set.id} '${set.name}' (log ${set.logId})\n`);
      } catch (error) {
        throw toCliError(error);
      } finally {
        db.close();
      }
    });
}
