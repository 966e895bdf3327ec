// @foxglove/rosbag's Filelike over a node FileHandle: positional reads of exactly the bytes asked
// for, never the whole file. Reads past the end fail (a truncated bag must not parse as zeros).
import { open, type FileHandle } from 'node:fs/promises';
import type { Filelike } from '@foxglove/rosbag';
import { parseRecordHead, headerLengthAt, RECORD_OVERHEAD, type RecordHead } from './records.js';

/** Enough for any real record header in one read. */
const HEADER_READAHEAD = 4096;
/**
 * Small reads (record headers, index data, connections) are served from one window this size: it
 * holds the IndexData records after a chunk and the next chunk's header, so opening costs about
 * one read of this size per chunk, a small fraction of the chunk itself.
 */
const WINDOW_BYTES = 2 * HEADER_READAHEAD;

export type RecordAt =
  | { kind: 'record'; head: RecordHead; offset: number; dataOffset: number; end: number }
  | { kind: 'truncated'; offset: number; why: string; /** Known when only the data is cut off. */ op?: number };

export class BagFile implements Filelike {
  private window?: { offset: number; bytes: Uint8Array };

  private constructor(
    private readonly handle: FileHandle,
    private readonly byteLength: number,
  ) {}

  static async open(path: string): Promise<BagFile> {
    const handle = await open(path, 'r');
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new Error('not a regular file');
      return new BagFile(handle, stat.size);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  }

  size(): number {
    return this.byteLength;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new Error(`invalid read of ${length} bytes at ${offset}`);
    }
    if (length > this.byteLength - offset) {
      throw new Error(`read of ${length} bytes at byte ${offset} is past the end of the file (${this.byteLength} bytes)`);
    }
    const w = this.window;
    if (w && offset >= w.offset && offset + length <= w.offset + w.bytes.byteLength) {
      return w.bytes.slice(offset - w.offset, offset - w.offset + length);
    }
    const buffer = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buffer, done, length - done, offset + done);
      if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${offset + done}`);
      done += bytesRead;
    }
    return buffer;
  }

  /**
   * Like read(), for small pieces read in file order (a scan walks thousands of small records):
   * one read per window instead of one or two per record. The result is a view of the window
   * (windows are replaced, never written to).
   */
  async readSmall(offset: number, length: number): Promise<Uint8Array> {
    if (length > WINDOW_BYTES) return this.read(offset, length);
    let w = this.window;
    if (!w || offset < w.offset || offset + length > w.offset + w.bytes.byteLength) {
      if (length > this.byteLength - offset) return this.read(offset, length); // let read() report it
      w = { offset, bytes: await this.read(offset, Math.min(WINDOW_BYTES, this.byteLength - offset)) };
      this.window = w;
    }
    return w.bytes.subarray(offset - w.offset, offset - w.offset + length);
  }

  /**
   * The record starting at `offset`: its header parsed, its data left on disk. 'truncated' when
   * the record does not fit in the file; a RecordError when its header bytes are invalid.
   */
  async recordAt(offset: number): Promise<RecordAt> {
    const left = this.byteLength - offset;
    if (left < RECORD_OVERHEAD) return { kind: 'truncated', offset, why: `${left} bytes left, too few for a record` };
    let bytes = await this.readSmall(offset, Math.min(HEADER_READAHEAD, left));
    const headerLength = headerLengthAt(bytes, 0)!;
    if (RECORD_OVERHEAD + headerLength > left) {
      return { kind: 'truncated', offset, why: `its ${headerLength}-byte header runs past the end of the file` };
    }
    if (RECORD_OVERHEAD + headerLength > bytes.byteLength) bytes = await this.readSmall(offset, RECORD_OVERHEAD + headerLength);
    const head = parseRecordHead(bytes, 0)!;
    if (head.length > left) {
      return { kind: 'truncated', offset, why: `its ${head.dataLength} bytes of data run past the end of the file`, op: head.op };
    }
    return { kind: 'record', head, offset, dataOffset: offset + head.dataStart, end: offset + head.length };
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}
