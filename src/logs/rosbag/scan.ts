// The fallback open for bags whose index is missing or damaged (recording killed, file cut short):
// one pass over the top-level records from the bag header on. Each chunk is indexed from the
// IndexData records the writer puts right after it. A chunk whose index names connections not
// seen yet waits for the end of the pass (an unclosed bag may still hold its connection records
// at the end); only then, and for chunks without usable index data, are the chunk's own records
// decompressed and walked, one chunk at a time. The pass stops at the first record that is cut off
// or unreadable: that offset is where the good data ends.
import type { BagFile, RecordAt } from './bagFile.js';
import { decompressChunk, implausibleChunkSize } from './decompress.js';
import { addEntry, emptyLayout, type BagLayout, type ChunkLocation, type ProgressCallback } from './layout.js';
import {
  chunkHead,
  messageHead,
  Op,
  opName,
  parseConnection,
  parseIndexData,
  walkChunkRecords,
  type ChunkHead,
  type ConnectionRecord,
  type IndexEntry,
} from './records.js';

/** Connection definitions and IndexData are small; a larger claim is a corrupt length. */
const MAX_SMALL_RECORD_DATA = 64 * 1024 * 1024;

export interface ScanResult {
  layout: BagLayout;
  /** File offset just after the last complete, readable record. */
  goodEnd: number;
  /** Why the scan stopped before the end of the file. */
  stop?: string;
}

export async function scanLayout(file: BagFile, start: number, onProgress?: ProgressCallback): Promise<ScanResult> {
  const size = file.size();
  const layout = emptyLayout();
  let pos = start;
  let stop: string | undefined;
  let outsideChunks = 0;
  const deferred: PendingChunk[] = [];
  while (pos < size) {
    let rec: RecordAt;
    try {
      rec = await file.recordAt(pos);
    } catch (error) {
      stop = `the record at byte ${pos} is unreadable (${(error as Error).message})`;
      break;
    }
    if (rec.kind === 'truncated') {
      stop = `the record at byte ${pos} is cut off (${rec.why})`;
      break;
    }
    const { head } = rec;
    if (head.op === Op.chunk) {
      const { end, pending } = await scanChunk(file, rec, layout);
      if (pending) deferred.push(pending);
      pos = end;
    } else if (head.op === Op.connection) {
      try {
        if (head.dataLength > MAX_SMALL_RECORD_DATA) throw new Error(`${head.dataLength} bytes of data`);
        addConnection(layout, parseConnection(head, await file.readSmall(rec.dataOffset, head.dataLength)));
      } catch (error) {
        stop = `the Connection record at byte ${pos} is unreadable (${(error as Error).message})`;
        break;
      }
      pos = rec.end;
    } else if (head.op === Op.messageData || head.op === Op.indexData || head.op === Op.chunkInfo || head.op === Op.bagHeader) {
      if (head.op === Op.messageData) outsideChunks++;
      pos = rec.end;
    } else {
      stop = `byte ${pos} holds an unknown ${opName(head.op)}`;
      break;
    }
    onProgress?.(pos, size);
  }

  for (const pending of deferred) {
    if ([...pending.index.keys()].every((conn) => layout.connections.has(conn))) useIndex(layout, pending);
    else await walkChunk(file, layout, pending.location);
  }
  if (outsideChunks > 0) layout.warnings.push(`${outsideChunks} messages outside chunks are left out (not written by rosbag 1.x)`);
  for (const [conn, e] of layout.entries) {
    if (layout.connections.has(conn)) continue;
    layout.warnings.push(`${e.times.length} messages of connection ${conn} are left out: its Connection record was not found`);
    layout.entries.delete(conn);
  }
  return { layout, goodEnd: pos, ...(stop === undefined ? {} : { stop }) };
}

function addConnection(layout: BagLayout, connection: ConnectionRecord): void {
  // The same connection is written inside a chunk and again in the index: keep the first.
  if (!layout.connections.has(connection.conn)) layout.connections.set(connection.conn, connection);
}

interface PendingChunk {
  location: ChunkLocation;
  index: Map<number, IndexEntry[]>;
}

/** Indexes one chunk (or leaves it pending) and returns the offset after it and its IndexData. */
async function scanChunk(
  file: BagFile,
  rec: RecordAt & { kind: 'record' },
  layout: BagLayout,
): Promise<{ end: number; pending?: PendingChunk }> {
  const at = rec.offset;
  const { index, complete, end } = await readFollowingIndex(file, rec.end);
  let chunk: ChunkHead;
  try {
    chunk = chunkHead(rec.head);
  } catch (error) {
    layout.warnings.push(`the chunk at byte ${at} is unreadable (${(error as Error).message}); its messages are left out`);
    return { end };
  }
  const implausible = implausibleChunkSize(chunk.compression, rec.head.dataLength, chunk.uncompressedSize);
  if (implausible) {
    layout.warnings.push(`the chunk at byte ${at} cannot be read: ${implausible}; its messages are left out`);
    return { end };
  }
  const location: ChunkLocation = {
    offset: at,
    dataOffset: rec.dataOffset,
    dataLength: rec.head.dataLength,
    compression: chunk.compression,
    uncompressedSize: chunk.uncompressedSize,
  };
  const indexUsable = complete && index.size > 0 && [...index.values()].every((list) => list.every((e) => e.offset < chunk.uncompressedSize));
  if (!indexUsable) await walkChunk(file, layout, location);
  else if (![...index.keys()].every((conn) => layout.connections.has(conn))) return { end, pending: { location, index } };
  else useIndex(layout, { location, index });
  return { end };
}

function useIndex(layout: BagLayout, { location, index }: PendingChunk): void {
  const block = layout.chunks.length;
  layout.chunks.push(location);
  for (const [conn, list] of index) for (const e of list) addEntry(layout, conn, e.logTime, block, e.offset);
}

/** Indexes a chunk from its own records (connections and messages), decompressing it. */
async function walkChunk(file: BagFile, layout: BagLayout, location: ChunkLocation): Promise<void> {
  const at = location.offset;
  let records: Uint8Array;
  try {
    records = await decompressChunk(location.compression, await file.read(location.dataOffset, location.dataLength), location.uncompressedSize);
  } catch (error) {
    layout.warnings.push(`the chunk at byte ${at} cannot be decompressed (${(error as Error).message}); its messages are left out`);
    return;
  }
  const block = layout.chunks.length;
  layout.chunks.push(location);
  let kept = 0;
  const damage = walkChunkRecords(records, (head, offset) => {
    if (head.op === Op.connection) {
      addConnection(layout, parseConnection(head, records.subarray(offset + head.dataStart, offset + head.length)));
    } else if (head.op === Op.messageData) {
      const { conn, logTime } = messageHead(head);
      addEntry(layout, conn, logTime, block, offset);
      kept++;
    }
  });
  if (damage.damagedAt !== undefined) {
    layout.warnings.push(
      `the chunk at byte ${at} is damaged at offset ${damage.damagedAt} of its ${records.byteLength} uncompressed bytes (${damage.why}); kept the ${kept} messages before it`,
    );
  }
}

/** The IndexData records right after a chunk; `complete` is false when one is cut off or unreadable. */
async function readFollowingIndex(
  file: BagFile,
  start: number,
): Promise<{ index: Map<number, IndexEntry[]>; complete: boolean; end: number }> {
  const index = new Map<number, IndexEntry[]>();
  let p = start;
  while (p < file.size()) {
    try {
      const rec = await file.recordAt(p);
      // A cut-off record after the IndexData (the next chunk) leaves this chunk's index whole.
      if (rec.kind === 'truncated') return { index, complete: rec.op !== undefined && rec.op !== Op.indexData, end: p };
      if (rec.head.op !== Op.indexData) break;
      if (rec.head.dataLength > MAX_SMALL_RECORD_DATA) return { index, complete: false, end: p };
      const { conn, entries } = parseIndexData(rec.head, await file.readSmall(rec.dataOffset, rec.head.dataLength));
      const list = index.get(conn);
      if (list) for (const e of entries) list.push(e);
      else index.set(conn, entries);
      p = rec.end;
    } catch {
      return { index, complete: false, end: p };
    }
  }
  return { index, complete: true, end: p };
}
