// `sightline report`: the audit report of a run (metrics, PR curves, confusion matrix, safety-critical
// misses with thumbnails, run comparison, provenance, reviewer sign-off) as self-contained HTML or PDF.
import { Command } from 'commander';
import { defaultDbPath } from '../../app/paths.js';
import type { MetricName } from '../../eval/types.js';
import { exportReport } from '../../report/index.js';
import { parseMetric, parsePositive, withEvalDb, type CliOutput } from './eval.js';

const stdout: CliOutput = { write: (text) => void process.stdout.write(text) };

export function registerReportCommands(program: Command, out: CliOutput = stdout): void {
  program
    .command('report')
    .description('write the audit report of a run: self-contained HTML, or PDF printed by Chromium (by the name of --out)')
    .option('--db <file>', 'workspace database', defaultDbPath())
    .requiredOption('--run <run>', 'run id or name')
    .option('--against <set>', "label set (ground truth) id or name (default: the set of the run's newest evaluation)")
    .option('--metric <name>', 'coco | kitti | nuscenes (default: that of the newest evaluation, else coco)', parseMetric)
    .option('--eval <id>', 'report this stored evaluation', parsePositive)
    .option('--compare <run>', 'add a comparison with this run (deltas are --run minus --compare)')
    .requiredOption('--out <file>', 'report.html or report.pdf')
    .option('--log <path>', 'where the log is now, if it moved (for thumbnails)')
    .option('--misses <n>', 'largest missed objects shown with thumbnails', parsePositive, 8)
    .option('--reviewer <name>', 'sign the report off as this reviewer (shown in it and recorded in the audit trail)')
    .option('--json', 'print the export summary as JSON')
    .action(async (opts: { db: string; run: string; against?: string; metric?: MetricName; eval?: number; compare?: string; out: string; log?: string; misses: number; reviewer?: string; json?: boolean }) => {
      await withEvalDb(opts.db, async (db) => {
        const result = await exportReport(db, {
          run: opts.run, against: opts.against, metric: opts.metric, evaluationId: opts.eval, compareRun: opts.compare, out: opts.out, logPath: opts.log, misses: opts.misses, reviewer: opts.reviewer,
        });
        if (opts.json) return out.write(`${JSON.stringify(result, null, 2)}\n`);
        out.write(
          `Wrote ${result.format.toUpperCase()} report ${result.path} (${result.bytes} bytes${result.pages !== null ? `, ${result.pages} pages` : ''}) for evaluation ${result.evaluationId}; sha256 ${result.sha256}; audit event ${result.auditSeq}\n`,
        );
        for (const w of result.warnings) out.write(`warning: ${w}\n`);
      });
    });
}
