// `sightline models list | info ID | add PATH --manifest FILE`: the model registry.
import { Command } from 'commander';
import { toApiError } from '../../app/core.js';
import { LIDAR_CLASSES, LIDAR_MODEL_ID, lidarModel } from '../../infer/pipeline/lidarModel.js';
import { ModelRegistry, type ModelEntry } from '../../infer/registry.js';

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));

/** What `models list --json` prints per model. */
function listing(m: ModelEntry): Record<string, unknown> {
  return { id: m.id, name: m.name, task: m.task, format: m.format, builtin: m.builtin, modelPath: m.modelPath, sha256: m.sha256 ?? null, classes: m.manifest.classes.length, problem: m.problem ?? null };
}

function lidarListing(): Record<string, unknown> {
  const model = lidarModel();
  return { id: LIDAR_MODEL_ID, name: model.manifest.name, task: 'segment3d', format: 'builtin', builtin: true, modelPath: null, sha256: model.sha256, classes: LIDAR_CLASSES.length, problem: null };
}

export function registerModelsCommand(program: Command): void {
  const models = program.command('models').description('the model registry: built-in detectors and models you add');

  models
    .command('list')
    .description('list the models inference can use')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const rows = [...ModelRegistry.open().list().map(listing), lidarListing()];
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${[pad('ID', 20), pad('TASK', 10), pad('FORMAT', 11), pad('SOURCE', 8), 'NAME'].join(' ')}\n`);
      for (const r of rows) {
        const problem = r.problem ? `  [unusable: ${String(r.problem)}]` : '';
        process.stdout.write(`${[pad(String(r.id), 20), pad(String(r.task), 10), pad(String(r.format), 11), pad(r.builtin ? 'built-in' : 'added', 8), String(r.name)].join(' ')}${problem}\n`);
      }
    });

  models
    .command('info')
    .description("a model's manifest, file and sha256")
    .argument('<id>', 'model id')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      if (id === LIDAR_MODEL_ID) {
        const info = { ...lidarListing(), classes: LIDAR_CLASSES, description: 'Ground segmentation, Euclidean clustering of the non-ground points and oriented box fitting, per lidar sweep.' };
        process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
        return;
      }
      const registry = ModelRegistry.open();
      const entry = (() => {
        try {
          return registry.info(id);
        } catch (error) {
          return toApiError(error);
        }
      })();
      // Built-ins record no hash; resolving computes it from the bytes that would run.
      const sha256 = entry.sha256 ?? (entry.problem ? null : (await registry.resolve(id).catch(toApiError)).sha256);
      const info = { ...listing(entry), sha256, manifestPath: entry.manifestPath ?? null, addedAt: entry.addedAt ?? null, manifest: entry.manifest };
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
        return;
      }
      const m = entry.manifest;
      const lines = [
        `${entry.id}: ${entry.name}${entry.builtin ? ' (built-in)' : ''}`,
        `  task      ${m.task}`,
        `  format    ${m.format}`,
        `  file      ${entry.modelPath}`,
        `  sha256    ${sha256 ?? '-'}`,
        `  input     ${m.input.width}x${m.input.height} ${m.input.layout} ${m.input.colorOrder} mean [${m.input.mean.join(', ')}] std [${m.input.std.join(', ')}] ${m.input.resize}`,
        `  decoder   ${m.decoder.kind}`,
        `  classes   ${m.classes.length}: ${m.classes.slice(0, 12).join(', ')}${m.classes.length > 12 ? ', …' : ''}`,
      ];
      if (entry.problem) lines.push(`  problem   ${entry.problem}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  models
    .command('add')
    .description('check a model file against its manifest and add it to the registry')
    .argument('<path>', 'model file (.onnx, or a TF.js model.json)')
    .requiredOption('--manifest <file>', 'model manifest (JSON): task, format, input, decoder, classes')
    .option('--json', 'print JSON')
    .action(async (path: string, opts: { manifest: string; json?: boolean }) => {
      const entry = await ModelRegistry.open().add(path, opts.manifest).catch(toApiError);
      if (opts.json) process.stdout.write(`${JSON.stringify(listing(entry), null, 2)}\n`);
      else process.stdout.write(`Added ${entry.id} (${entry.task}, ${entry.format}) sha256 ${entry.sha256}\n`);
    });
}
