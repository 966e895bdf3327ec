// JSON reading for nuScenes tables and mmdet3d info files. Ordinary tables are parsed whole; a table
// too large for one JS string (v1.0-trainval's sample_data.json is over 1 GB) is scanned record by
// record. Every error names the file, the byte offset and the line.
import { open, readFile, stat } from 'node:fs/promises';
import { LogError } from '../errors.js';

export type JsonRecord = Record<string, unknown>;

/** Tables up to this size are parsed with one JSON.parse (fast); larger ones are streamed. */
export const WHOLE_PARSE_LIMIT = 64 << 20;
const STREAM_CHUNK = 4 << 20;
/** A single info document must fit in one string. */
const DOCUMENT_LIMIT = 256 << 20;

export interface TableReadOptions {
  wholeParseLimit?: number;
  chunkBytes?: number;
}

/**
 * Calls onRecord for each object of a table file (a JSON array of objects) and returns the file size.
 * Throws LogError naming the file, the record's byte offset and line on malformed input.
 */
export async function forEachTableRecord(
  path: string,
  onRecord: (record: JsonRecord, index: number) => void,
  options: TableReadOptions = {},
): Promise<number> {
  const size = (await stat(path)).size;
  if (size <= (options.wholeParseLimit ?? WHOLE_PARSE_LIMIT)) {
    const bytes = await readFile(path);
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      // Re-scan to find the record at fault: Node 20's messages often carry no position.
      const scanner = new TableScanner(path, () => undefined);
      scanner.feed(bytes, 0);
      scanner.finish(size);
      throw jsonError(path, error, bytes.toString('utf8'));
    }
    if (!Array.isArray(parsed)) throw new LogError(`${path}: expected a JSON array of records (a nuScenes table)`, { path, offset: 0, line: 1 });
    parsed.forEach((record, index) => {
      if (!record || typeof record !== 'object' || Array.isArray(record)) {
        throw new LogError(`${path}: record ${index} is not a JSON object`, { path });
      }
      onRecord(record as JsonRecord, index);
    });
    return size;
  }
  const scanner = new TableScanner(path, onRecord);
  const handle = await open(path, 'r');
  try {
    const chunkBytes = options.chunkBytes ?? STREAM_CHUNK;
    for (let offset = 0; offset < size; ) {
      // A fresh buffer per read: pending record parts keep views into earlier chunks.
      const chunk = Buffer.allocUnsafe(Math.min(chunkBytes, size - offset));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset);
      if (bytesRead === 0) break;
      scanner.feed(chunk.subarray(0, bytesRead), offset);
      offset += bytesRead;
    }
  } finally {
    await handle.close();
  }
  scanner.finish(size);
  return size;
}

/** Streaming scanner over a top-level array of objects: finds each record's extent and parses it alone. */
export class TableScanner {
  private state: 'start' | 'afterOpen' | 'afterRecord' | 'afterComma' | 'inRecord' | 'done' = 'start';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private parts: Buffer[] = [];
  private recordStart = 0;
  private recordLine = 1;
  private line = 1;
  private index = 0;

  constructor(
    private readonly path: string,
    private readonly onRecord: (record: JsonRecord, index: number) => void,
  ) {}

  feed(chunk: Buffer, chunkOffset: number): void {
    let partStart = this.state === 'inRecord' ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (c === 0x0a) this.line++;
      if (this.state === 'inRecord') {
        if (this.inString) {
          if (this.escaped) this.escaped = false;
          else if (c === 0x5c) this.escaped = true;
          else if (c === 0x22) this.inString = false;
          continue;
        }
        if (c === 0x22) this.inString = true;
        else if (c === 0x7b || c === 0x5b) this.depth++;
        else if (c === 0x7d || c === 0x5d) {
          this.depth--;
          if (this.depth === 0) {
            this.parts.push(chunk.subarray(partStart, i + 1));
            this.emit();
            partStart = -1;
            this.state = 'afterRecord';
          }
        }
        continue;
      }
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
      const offset = chunkOffset + i;
      if (this.state === 'start') {
        if (offset === 0 && c === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) {
          i += 2; // UTF-8 byte-order mark
          continue;
        }
        if (c !== 0x5b) this.fail(offset, 'expected a JSON array of records (a nuScenes table)');
        this.state = 'afterOpen';
      } else if (this.state === 'afterOpen' || this.state === 'afterComma') {
        if (c === 0x7b) {
          this.state = 'inRecord';
          this.depth = 1;
          this.recordStart = offset;
          this.recordLine = this.line;
          partStart = i;
        } else if (c === 0x5d && this.state === 'afterOpen') {
          this.state = 'done';
        } else {
          this.fail(offset, this.state === 'afterComma' ? `expected record ${this.index} (a JSON object)` : `record ${this.index} is not a JSON object`);
        }
      } else if (this.state === 'afterRecord') {
        if (c === 0x2c) this.state = 'afterComma';
        else if (c === 0x5d) this.state = 'done';
        else this.fail(offset, `expected ',' or ']' after record ${this.index - 1}`);
      } else {
        this.fail(offset, 'unexpected data after the end of the table');
      }
    }
    if (this.state === 'inRecord' && partStart >= 0) this.parts.push(chunk.subarray(partStart));
  }

  finish(size: number): void {
    if (this.state === 'start') this.fail(size, 'empty file: expected a JSON array of records');
    if (this.state !== 'done') this.fail(size, `the table ends before its closing ']' (truncated file?) after ${this.index} records`);
  }

  private emit(): void {
    const text = Buffer.concat(this.parts).toString('utf8');
    this.parts = [];
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch (error) {
      const pos = jsonErrorPosition(error, text);
      const offset = this.recordStart + (pos === undefined ? 0 : Buffer.byteLength(text.slice(0, pos)));
      const line = this.recordLine + (pos === undefined ? 0 : countNewlines(text, pos));
      throw new LogError(`${this.path}: malformed JSON in record ${this.index} at byte ${offset} (line ${line}): ${messageOf(error)}`, {
        path: this.path,
        offset,
        line,
      });
    }
    this.onRecord(record as JsonRecord, this.index++);
  }

  private fail(offset: number, why: string): never {
    throw new LogError(`${this.path}: ${why} at byte ${offset} (line ${this.line})`, { path: this.path, offset, line: this.line });
  }
}

/**
 * Reads one JSON document (an mmdet3d info file). Python's json writes NaN/Infinity for missing
 * values (e.g. unknown velocities); those become null rather than failing the whole file.
 */
export async function readJsonDocument(path: string): Promise<unknown> {
  const size = (await stat(path)).size;
  if (size > DOCUMENT_LIMIT) throw new LogError(`${path}: ${size} bytes is too large for an info file (limit ${DOCUMENT_LIMIT})`, { path });
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    if (/\bNaN\b|Infinity/.test(text)) {
      try {
        return JSON.parse(replaceNonFiniteLiterals(text));
      } catch {
        // fall through to report the original error, whose position matches the file
      }
    }
    throw jsonError(path, error, text);
  }
}

/** Replaces bare NaN, Infinity and -Infinity tokens (outside strings) with null. */
export function replaceNonFiniteLiterals(text: string): string {
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
      continue;
    }
    let length = 0;
    if (text.startsWith('NaN', i)) length = 3;
    else if (text.startsWith('Infinity', i)) length = 8;
    else if (text.startsWith('-Infinity', i)) length = 9;
    if (length) {
      out += text.slice(last, i) + 'null';
      i += length - 1;
      last = i + 1;
    }
  }
  return out + text.slice(last);
}

function jsonError(path: string, error: unknown, text: string): LogError {
  const pos = jsonErrorPosition(error, text);
  if (pos === undefined) return new LogError(`${path}: malformed JSON: ${messageOf(error)}`, { path });
  const offset = Buffer.byteLength(text.slice(0, pos));
  const line = 1 + countNewlines(text, pos);
  return new LogError(`${path}: malformed JSON at byte ${offset} (line ${line}): ${messageOf(error)}`, { path, offset, line });
}

/** Where JSON.parse failed: V8 says "at position N" for some errors only, so otherwise find it. */
function jsonErrorPosition(error: unknown, text: string): number | undefined {
  const match = /at position (\d+)/.exec(messageOf(error));
  return match ? Number(match[1]) : findJsonSyntaxError(text);
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERALS = ['true', 'false', 'null', 'NaN', 'Infinity', '-Infinity'];

/**
 * Index of the first JSON syntax error in text, or undefined when there is none. A small
 * validator with an explicit stack (no recursion limit); NaN and Infinity are tolerated as in
 * readJsonDocument.
 */
export function findJsonSyntaxError(text: string): number | undefined {
  type State = 'value' | 'valueOrClose' | 'key' | 'keyOrClose' | 'colon' | 'commaOrClose' | 'end';
  const stack: ('array' | 'object')[] = [];
  let state = 'value' as State;
  let i = 0;
  const afterValue = (): State => (stack.length > 0 ? 'commaOrClose' : 'end');
  const skipString = (): boolean => {
    for (let j = i + 1; j < text.length; j++) {
      const c = text.charCodeAt(j);
      if (c === 0x22) {
        i = j + 1;
        return true;
      }
      if (c < 0x20) break;
      if (c === 0x5c) {
        const e = text[j + 1] ?? '';
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(j + 2, j + 6))) break;
          j += 5;
        } else if ('"\\/bfnrt'.includes(e) && e !== '') j++;
        else break;
      }
    }
    return false;
  };
  for (;;) {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
    if (i >= text.length) return state === 'end' ? undefined : i;
    const c = text[i]!;
    switch (state) {
      case 'end':
        return i;
      case 'colon':
        if (c !== ':') return i;
        i++;
        state = 'value';
        break;
      case 'key':
      case 'keyOrClose':
        if (c === '}' && state === 'keyOrClose') {
          stack.pop();
          i++;
          state = afterValue();
        } else if (c === '"') {
          if (!skipString()) return i;
          state = 'colon';
        } else return i;
        break;
      case 'commaOrClose':
        if (c === ',') {
          i++;
          state = stack[stack.length - 1] === 'object' ? 'key' : 'value';
        } else if (c === (stack[stack.length - 1] === 'object' ? '}' : ']')) {
          stack.pop();
          i++;
          state = afterValue();
        } else return i;
        break;
      default: {
        if (c === ']' && state === 'valueOrClose') {
          stack.pop();
          i++;
          state = afterValue();
        } else if (c === '{' || c === '[') {
          stack.push(c === '{' ? 'object' : 'array');
          i++;
          state = c === '{' ? 'keyOrClose' : 'valueOrClose';
        } else if (c === '"') {
          if (!skipString()) return i;
          state = afterValue();
        } else {
          const literal = LITERALS.find((l) => text.startsWith(l, i));
          NUMBER.lastIndex = i;
          const number = literal ? undefined : NUMBER.exec(text);
          const length = literal?.length ?? number?.[0].length ?? 0;
          if (length === 0) return i;
          i += length;
          state = afterValue();
        }
      }
    }
  }
}

function countNewlines(text: string, end: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
