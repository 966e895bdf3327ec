// Worker threads run compiled JavaScript. Built (dist/), a module's sibling .js is right here;
// run from TypeScript sources (tests), the compiled copy under dist/ is used instead.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { packageRoot } from '../../version.js';

export class NotBuiltError extends Error {}

/** URL of a compiled module of this folder (e.g. 'stageWorker'), for a worker or a dynamic import inside one. */
export function compiledPipelineModule(name: string): URL {
  const sibling = new URL(`./${name}.js`, import.meta.url);
  if (sibling.protocol === 'file:' && existsSync(fileURLToPath(sibling))) return sibling;
  const dist = join(packageRoot, 'dist', 'src', 'infer', 'pipeline', `${name}.js`);
  if (existsSync(dist)) return pathToFileURL(dist);
  throw new NotBuiltError(`The inference pipeline's worker code (${name}.js) is not built: run 'npm run build:core' first`);
}
