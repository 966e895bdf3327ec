// The `sightline` command line. Each command lives in its own function; all share the core.
import { Command, InvalidArgumentError } from 'commander';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { toApiError } from '../app/core.js';
import { defaultDbPath } from '../app/paths.js';
import { formatSummary, inspectLog } from '../logs/inspect.js';
import { packageRoot, softwareVersion } from '../version.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerEvalCommands } from './commands/eval.js';
import { registerInferCommand } from './commands/infer.js';
import { registerReportCommands } from './commands/report.js';
import { registerIoCommands } from './commands/io.js';
import { registerLabelCommands } from './commands/labels.js';
import { registerModelsCommand } from './commands/models.js';
import { registerRunsCommand } from './commands/runs.js';
import { registerSafetyCommands } from './commands/safety.js';
import { ensureDemoLog, writeDemoWithProgress } from './demoLog.js';
import { launchApp } from './start.js';

const parsePort = (value: string): number => {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('must be an integer 0–65535');
  return port;
};
const parsePositive = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
};

export function buildCli(): Command {
  const program = new Command('sightline')
    .description('Sightline: review drive logs, run perception models, audit their decisions')
    .version(softwareVersion)
    .showHelpAfterError();

  program
    .command('demo')
    .description('write the built-in demo drive log (MCAP, Foxglove schemas)')
    .requiredOption('--out <dir>', 'output directory')
    .option('--duration <seconds>', 'drive length in seconds', parsePositive, 20)
    .option('--seed <n>', 'random seed', (v) => Number.parseInt(v, 10), 1)
    .action(async (opts: { out: string; duration: number; seed: number }) => {
      mkdirSync(opts.out, { recursive: true });
      await writeDemoWithProgress(join(resolve(opts.out), 'sightline-demo.mcap'), { durationS: opts.duration, seed: opts.seed });
    });

  program
    .command('inspect')
    .description('print a drive log summary: format, duration, streams, frames, sensors, labels, warnings')
    .argument('<log>', 'log file or folder')
    .option('--json', 'print JSON')
    .option('--reference <sensor>', 'reference sensor id for frames')
    .action(async (log: string, opts: { json?: boolean; reference?: string }) => {
      const summary = await inspectLog(resolve(log), opts.reference).catch(toApiError);
      process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatSummary(summary)}\n`);
    });

  program
    .command('serve')
    .description('serve the API and the web UI over HTTP/WebSocket (loopback by default)')
    .argument('[logs...]', 'logs to open at start')
    .option('--port <n>', 'port (0 picks a free one)', parsePort, 8808)
    .option('--host <host>', 'interface to bind; anything but loopback exposes your logs to the network', '127.0.0.1')
    .option('--db <file>', 'workspace database', defaultDbPath())
    .option('--demo', 'also open the built-in demo drive')
    .action(async (logs: string[], opts: { port: number; host: string; db: string; demo?: boolean }) => {
      const all = [...logs.map((l) => resolve(l))];
      if (opts.demo) all.unshift(await ensureDemoLog());
      await serveUntilSignal({ ...opts, logs: all });
    });

  program
    .command('start')
    .description('start the desktop app (Electron), or the web UI when Electron is not installed')
    .option('--port <n>', 'port for web mode', parsePort, 8808)
    .option('--db <file>', 'workspace database', defaultDbPath())
    .action(async (opts: { port: number; db: string }) => {
      await launchApp(opts, serveUntilSignal);
    });

  registerInferCommand(program);
  registerRunsCommand(program);
  registerModelsCommand(program);
  registerLabelCommands(program);
  registerIoCommands(program);
  registerAuditCommands(program);
  registerSafetyCommands(program);
  registerEvalCommands(program);
  registerReportCommands(program);

  return program;
}

export async function serveUntilSignal(opts: { port: number; host?: string; db: string; logs: string[] }): Promise<void> {
  const { startServer } = await import('../api/http.js');
  const staticDir = join(packageRoot, 'dist', 'renderer');
  if (!existsSync(join(staticDir, 'index.html'))) process.stderr.write('Note: the web UI is not built (npm run build); serving the API only.\n');
  const server = await startServer({ host: opts.host ?? '127.0.0.1', port: opts.port, dbPath: opts.db, logs: opts.logs, staticDir });
  process.stdout.write(`Sightline is serving ${opts.logs.length} log(s) at ${server.url}\n`);
  await new Promise<void>((done) => {
    const stop = () => {
      process.stdout.write('Stopping…\n');
      void server.close().then(done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
