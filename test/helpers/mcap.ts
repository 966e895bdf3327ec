// MCAP files written in memory by tests (McapWriter's IWritable).
import type { IWritable } from '@mcap/core';

export class MemoryWritable implements IWritable {
  private readonly parts: Uint8Array[] = [];
  private length = 0n;
  position(): bigint {
    return this.length;
  }
  async write(buffer: Uint8Array): Promise<void> {
    // A copy: the writer may reuse its buffer (and a Buffer's slice() would be a view).
    const copy = new Uint8Array(buffer.byteLength);
    copy.set(buffer);
    this.parts.push(copy);
    this.length += BigInt(buffer.byteLength);
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}
