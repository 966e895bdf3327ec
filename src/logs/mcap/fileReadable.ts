// IReadable over a file handle: positional reads only, never the whole file.
import { open, type FileHandle } from 'node:fs/promises';
import type { McapTypes } from '@mcap/core';

export class FileReadable implements McapTypes.IReadable {
  private constructor(
    private readonly handle: FileHandle,
    readonly knownSize: bigint,
  ) {}

  static async open(path: string): Promise<FileReadable> {
    const handle = await open(path, 'r');
    const stat = await handle.stat();
    return new FileReadable(handle, BigInt(stat.size));
  }

  async size(): Promise<bigint> {
    return this.knownSize;
  }

  async read(offset: bigint, size: bigint): Promise<Uint8Array> {
    if (offset + size > this.knownSize) {
      throw new Error(`read of ${size} bytes at ${offset} is past the end of the file (${this.knownSize} bytes)`);
    }
    const buffer = new Uint8Array(Number(size));
    let done = 0;
    while (done < buffer.byteLength) {
      const { bytesRead } = await this.handle.read(buffer, done, buffer.byteLength - done, Number(offset) + done);
      if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${Number(offset) + done}`);
      done += bytesRead;
    }
    return buffer;
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}
