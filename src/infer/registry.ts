// The model registry: built-in models plus user models added with a manifest. Added models are
// checked against the file (it loads, the input size matches, the classes fit the outputs) and
// recorded with their sha256 in <dataDir>/models/registry.json.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { dataDir } from '../app/paths.js';
import { checkOutputShapes, type TensorMeta } from './decoders/shapes.js';
import { inspectModel } from './engines/inspect.js';
import { readGraphModelFiles } from './engines/tfjsFiles.js';
import { ModelError } from './errors.js';
import { parseJsonText, parseManifest, readManifestFile, type ModelManifest } from './manifest.js';
import { BUILTIN_MODELS } from './models/builtins.js';

export interface ModelEntry {
  id: string;
  name: string;
  task: ModelManifest['task'];
  format: ModelManifest['format'];
  builtin: boolean;
  /** The manifest, with `file` made absolute. */
  manifest: ModelManifest;
  /** Absolute; for tfjs-graph the model.json. */
  modelPath: string;
  manifestPath?: string;
  /** Recorded when the model was added (built-ins: computed by resolve). */
  sha256?: string;
  addedAt?: string;
  /** Why the model cannot be used right now (e.g. its npm package is missing). */
  problem?: string;
}

/** Everything a worker needs to build a session and decoder: plain, transferable data. */
export interface ResolvedModel {
  manifest: ModelManifest;
  modelPath: string;
  sha256: string;
}

interface StoredModel {
  id: string;
  manifest: unknown;
  manifestPath: string;
  modelPath: string;
  sha256: string;
  addedAt: string;
}

const REGISTRY_VERSION = 1;

export class ModelRegistry {
  private constructor(
    /** The data directory; the registry file is models/registry.json inside it. */
    readonly dataDir: string,
    readonly file: string,
    private stored: StoredModel[],
  ) {}

  static open(dir: string = dataDir()): ModelRegistry {
    const file = join(dir, 'models', 'registry.json');
    return new ModelRegistry(dir, file, readRegistryFile(file));
  }

  list(): ModelEntry[] {
    return [...builtinEntries(), ...this.stored.map((s) => this.toEntry(s))];
  }

  info(id: string): ModelEntry {
    const entry = this.list().find((e) => e.id === id);
    if (!entry) {
      throw new ModelError(`Unknown model "${id}" (known: ${this.list().map((e) => e.id).join(', ')}); add one with: sightline models add PATH --manifest FILE`, {
        path: this.file,
      });
    }
    return entry;
  }

  /**
   * Validate the model against its manifest and record it (replacing an earlier model of the same id).
   * An empty modelPath takes the manifest's `file` (relative to the manifest).
   */
  async add(modelPath: string, manifestPath: string): Promise<ModelEntry> {
    const manifestAbs = resolve(manifestPath);
    const parsed = readManifestFile(manifestAbs);
    if (builtinEntries().some((b) => b.id === parsed.id)) {
      throw new ModelError(`${manifestAbs}: id "${parsed.id}" belongs to a built-in model; choose another id`, { path: manifestAbs, field: 'id' });
    }
    const modelAbs = modelPath ? resolve(modelPath) : manifestModelPath(parsed, manifestAbs);
    const manifest = { ...parsed, file: modelAbs };
    await validateModel(manifest, modelAbs, manifestAbs);
    const record: StoredModel = {
      id: manifest.id,
      manifest,
      manifestPath: manifestAbs,
      modelPath: modelAbs,
      sha256: await modelSha256(modelAbs, manifest.format),
      addedAt: new Date().toISOString(),
    };
    this.stored = [...this.stored.filter((s) => s.id !== record.id), record];
    this.save();
    return this.toEntry(record);
  }

  /** Forget an added model (the files stay). */
  remove(id: string): boolean {
    const before = this.stored.length;
    this.stored = this.stored.filter((s) => s.id !== id);
    if (this.stored.length === before) return false;
    this.save();
    return true;
  }

  /** The model's file and manifest, with the sha256 of the bytes that will run. */
  async resolve(id: string): Promise<ResolvedModel> {
    const entry = this.info(id);
    if (entry.problem) throw new ModelError(`Model "${id}" is not usable: ${entry.problem}`, { path: entry.modelPath });
    if (!existsSync(entry.modelPath)) {
      throw new ModelError(`Model file not found: ${entry.modelPath} (model "${id}"${entry.manifestPath ? `, manifest ${entry.manifestPath}` : ''})`, { path: entry.modelPath });
    }
    const sha256 = await modelSha256(entry.modelPath, entry.format);
    if (entry.sha256 && entry.sha256 !== sha256) {
      throw new ModelError(
        `${entry.modelPath}: model file changed since it was added (sha256 ${sha256.slice(0, 12)}…, recorded ${entry.sha256.slice(0, 12)}…); re-add it with: sightline models add ${entry.modelPath} --manifest ${entry.manifestPath ?? 'FILE'}`,
        { path: entry.modelPath },
      );
    }
    return { manifest: entry.manifest, modelPath: entry.modelPath, sha256 };
  }

  private toEntry(s: StoredModel): ModelEntry {
    const manifest = parseManifest(s.manifest, `${this.file} (model "${s.id}")`);
    return { ...summary(manifest), builtin: false, manifest, modelPath: s.modelPath, manifestPath: s.manifestPath, sha256: s.sha256, addedAt: s.addedAt };
  }

  private save(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ version: REGISTRY_VERSION, models: this.stored }, null, 2)}\n`);
    renameSync(tmp, this.file);
  }
}

function summary(m: ModelManifest): Pick<ModelEntry, 'id' | 'name' | 'task' | 'format'> {
  return { id: m.id, name: m.name, task: m.task, format: m.format };
}

function readRegistryFile(file: string): StoredModel[] {
  if (!existsSync(file)) return [];
  const json = parseJsonText(readFileSync(file, 'utf8'), file, 'model registry') as { version?: unknown; models?: unknown };
  if (json === null || typeof json !== 'object' || !Array.isArray(json.models)) {
    throw new ModelError(`${file}: not a Sightline model registry (expected {"version": 1, "models": [...]})`, { path: file });
  }
  if (typeof json.version === 'number' && json.version > REGISTRY_VERSION) {
    throw new ModelError(`${file}: registry version ${json.version} is newer than this Sightline understands (${REGISTRY_VERSION})`, { path: file });
  }
  return (json.models as StoredModel[]).map((m, i) => {
    if (!m || typeof m.id !== 'string' || typeof m.modelPath !== 'string' || typeof m.sha256 !== 'string') {
      throw new ModelError(`${file}: models[${i}] is missing id, modelPath or sha256`, { path: file, field: `models[${i}]` });
    }
    return m;
  });
}

let builtinCache: ModelEntry[] | undefined;

function builtinEntries(): ModelEntry[] {
  builtinCache ??= BUILTIN_MODELS.map((b) => {
    const parsed = parseManifest(b.manifest, `built-in model ${String(b.manifest.id)}`);
    let modelPath = '';
    let problem: string | undefined;
    try {
      const root = dirname(createRequire(import.meta.url).resolve(`${b.package}/package.json`));
      modelPath = join(root, parsed.file);
    } catch {
      problem = `the npm package ${b.package} is not installed (npm install ${b.package})`;
    }
    const manifest = { ...parsed, file: modelPath };
    return { ...summary(manifest), builtin: true, manifest, modelPath, ...(problem ? { problem } : {}) };
  });
  return builtinCache;
}

/** Check the manifest against what the model file declares; throws one error listing every problem. */
export async function validateModel(manifest: ModelManifest, modelPath: string, manifestPath: string): Promise<void> {
  if (!existsSync(modelPath)) throw new ModelError(`Model file not found: ${modelPath} (manifest ${manifestPath})`, { path: modelPath });
  if (!statSync(modelPath).isFile()) throw new ModelError(`${modelPath} is not a file (for tfjs-graph give the model.json)`, { path: modelPath });
  const signature = await inspectModel(modelPath, manifest.format);
  const problems = [...checkInput(manifest, signature.inputs), ...(signature.outputs.length > 0 ? checkOutputShapes(manifest, signature.outputs) : [])];
  if (problems.length > 0) {
    throw new ModelError(`${manifestPath}: does not fit model ${modelPath}: ${problems.join('; ')}`, { path: manifestPath });
  }
}

/** The manifest's input spec against the model's declared input (unknown dimensions pass). */
export function checkInput(manifest: ModelManifest, inputs: readonly TensorMeta[]): string[] {
  if (inputs.length === 0) return [];
  const want = manifest.input.name;
  const input = want === undefined ? inputs[0]! : inputs.find((i) => i.name === want || i.name === `${want}:0` || `${i.name}:0` === want);
  if (!input) return [`input.name: the model has no input "${want}" (inputs: ${inputs.map((i) => i.name).join(', ')})`];
  const dims = input.dims;
  const shape = `[${dims.map((d) => (d < 0 ? '?' : d)).join(', ')}]`;
  if (dims.length !== 4) return dims.length === 0 ? [] : [`input "${input.name}" ${shape} is not a 4-D image batch`];
  const nchw = manifest.input.layout === 'NCHW';
  const [c, h, w] = nchw ? [dims[1]!, dims[2]!, dims[3]!] : [dims[3]!, dims[1]!, dims[2]!];
  const problems: string[] = [];
  if (c >= 0 && c !== 3) problems.push(`input.layout: ${manifest.input.layout} puts ${c} channels on the channel axis of "${input.name}" ${shape}; expected 3 (wrong layout?)`);
  if ((h >= 0 && h !== manifest.input.height) || (w >= 0 && w !== manifest.input.width)) {
    problems.push(
      `input.width/height: the manifest says ${manifest.input.width}x${manifest.input.height} but the model's input "${input.name}" is ${shape} (${w < 0 ? '?' : w}x${h < 0 ? '?' : h})`,
    );
  }
  // ONNX says float32/int32; TF signatures say float/int (DT_FLOAT, DT_INT32).
  const dtype = input.dtype === 'float' ? 'float32' : input.dtype === 'int' ? 'int32' : input.dtype;
  if (dtype === 'float32' || dtype === 'int32') {
    if (dtype !== manifest.input.dtype) problems.push(`input.dtype: the manifest says ${manifest.input.dtype} but the model takes ${dtype}`);
  } else if (dtype) {
    problems.push(`input "${input.name}" takes ${dtype}; only float32 and int32 inputs are supported`);
  }
  return problems;
}

/** Files whose bytes make up the model: the .onnx, or model.json followed by its weight shards. */
export function modelFiles(modelPath: string, format: ModelManifest['format']): string[] {
  if (format === 'onnx') return [modelPath];
  return [modelPath, ...readGraphModelFiles(modelPath).weightPaths];
}

const shaCache = new Map<string, string>();

/** sha256 over the model's files in order, streamed (models can be large). Cached per size and mtime. */
export async function modelSha256(modelPath: string, format: ModelManifest['format']): Promise<string> {
  const files = modelFiles(modelPath, format);
  const key = files.map((f) => `${f}:${statSync(f).size}:${statSync(f).mtimeMs}`).join('|');
  const cached = shaCache.get(key);
  if (cached) return cached;
  const hash = createHash('sha256');
  for (const f of files) {
    await new Promise<void>((done, fail) => {
      createReadStream(f)
        .on('data', (chunk) => hash.update(chunk))
        .on('end', done)
        .on('error', fail);
    });
  }
  const digest = hash.digest('hex');
  shaCache.set(key, digest);
  return digest;
}

/** Resolve a manifest's `file` against the manifest's folder. */
export function manifestModelPath(manifest: ModelManifest, manifestPath: string): string {
  return isAbsolute(manifest.file) ? manifest.file : resolve(dirname(manifestPath), manifest.file);
}
