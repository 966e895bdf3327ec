// IReadable over a file handle: positional reads only, never the whole file. Failures are
// LogErrors naming the file and the offset.
import { open, type FileHandle } from 'node:fs/promises';
import type { McapTypes } from '@mcap/core';
import { LogError } from '../errors.js';

export class FileReadable implements McapTypes.IReadable {
  private constructor(
    private readonly handle: FileHandle,
    readonly knownSize: bigint,
    readonly path: string,
  ) {}

  static async open(path: string): Promise<FileReadable> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw new LogError(`${path}: cannot open (${(error as Error).message})`, { path });
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new LogError(`${path} is not a regular file`, { path });
      return new FileReadable(handle, BigInt(stat.size), path);
    } catch (error) {
      await handle.close().catch(() => undefined);
      if (error instanceof LogError) throw error;
      throw new LogError(`${path}: cannot read (${(error as Error).message})`, { path });
    }
  }

  async size(): Promise<bigint> {
    return this.knownSize;
  }

  async read(offset: bigint, size: bigint): Promise<Uint8Array> {
    if (offset < 0n || size < 0n || offset + size > this.knownSize) {
      throw new LogError(
        `${this.path}: read of ${size} bytes at byte ${offset} is past the end of the file (${this.knownSize} bytes); the file may be truncated`,
        { path: this.path, offset: Number(offset) },
      );
    }
    const buffer = new Uint8Array(Number(size));
    await this.readInto(buffer, Number(offset));
    return buffer;
  }

  /** Fills `target` with the bytes at `position` (lets callers reuse their buffers). */
  async readInto(target: Uint8Array, position: number): Promise<void> {
    if (position < 0 || position + target.byteLength > Number(this.knownSize)) {
      throw new LogError(`${this.path}: read of ${target.byteLength} bytes at byte ${position} is past the end of the file`, {
        path: this.path,
        offset: position,
      });
    }
    let done = 0;
    while (done < target.byteLength) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.handle.read(target, done, target.byteLength - done, position + done));
      } catch (error) {
        throw new LogError(`${this.path}: read failed at byte ${position + done} (${(error as Error).message})`, {
          path: this.path,
          offset: position + done,
        });
      }
      if (bytesRead === 0) {
        throw new LogError(`${this.path}: unexpected end of file at byte ${position + done} (did the file shrink?)`, {
          path: this.path,
          offset: position + done,
        });
      }
      done += bytesRead;
    }
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}
