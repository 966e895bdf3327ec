// What opening a bag yields, whether from its index or from a scan: the connections, where each
// chunk's compressed records lie, and per connection every message's time and place.
import type { ConnectionRecord } from './records.js';

export interface ChunkLocation {
  /** File offset of the Chunk record (for error messages). */
  offset: number;
  dataOffset: number;
  dataLength: number;
  compression: string;
  uncompressedSize: number;
}

export interface MessageEntries {
  times: bigint[];
  block: number[]; // chunk number
  locator: number[]; // offset of the MessageData record inside the uncompressed chunk
}

export interface BagLayout {
  connections: Map<number, ConnectionRecord>;
  chunks: ChunkLocation[];
  entries: Map<number, MessageEntries>;
  warnings: string[];
}

export function emptyLayout(): BagLayout {
  return { connections: new Map(), chunks: [], entries: new Map(), warnings: [] };
}

export function addEntry(layout: BagLayout, conn: number, logTime: bigint, block: number, locator: number): void {
  let e = layout.entries.get(conn);
  if (!e) {
    e = { times: [], block: [], locator: [] };
    layout.entries.set(conn, e);
  }
  e.times.push(logTime);
  e.block.push(block);
  e.locator.push(locator);
}

export function messageCount(layout: BagLayout): number {
  let n = 0;
  for (const e of layout.entries.values()) n += e.times.length;
  return n;
}

export type ProgressCallback = (doneBytes: number, totalBytes: number) => void;
