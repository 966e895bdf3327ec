// The fast open: @foxglove/rosbag reads the bag header, connections and chunk infos from the index
// at the end of the file; then, per chunk, we read only its record header and the small IndexData
// records that follow it (message times and offsets), never the chunk's data. Anything that does
// not add up yields a reason string, and the caller falls back to scanning the file.
import type { Bag } from '@foxglove/rosbag';
import type { BagFile } from './bagFile.js';
import { implausibleChunkSize } from './decompress.js';
import { addEntry, emptyLayout, type BagLayout, type ProgressCallback } from './layout.js';
import { chunkHead, Op, opName, parseIndexData, parseRecordHead, RecordError, type ConnectionRecord, type IndexEntry } from './records.js';

export interface BagHeaderInfo {
  indexPosition: number;
  connectionCount: number;
  chunkCount: number;
  /** File offset just after the bag header record (where the first chunk may start). */
  end: number;
}

const utf8 = new TextEncoder();
/** Far above any real index (connections plus about 100 bytes per chunk); guards a corrupt index_pos. */
const MAX_INDEX_BYTES = 512 * 1024 * 1024;

/** The layout from the bag's own index, or the reason it cannot be used. */
export async function readIndexedLayout(
  file: BagFile,
  bag: Bag,
  header: BagHeaderInfo,
  onProgress?: ProgressCallback,
): Promise<BagLayout | string> {
  const size = file.size();
  const { indexPosition, connectionCount, chunkCount } = header;
  if (indexPosition === 0) return 'the bag has no index (index_pos is 0: the recording was not closed)';
  if (indexPosition >= size) return `the index position (byte ${indexPosition}) is past the end of the file (${size} bytes): the file is truncated`;
  if (indexPosition < header.end) return `the index position (byte ${indexPosition}) lies inside the bag header`;
  if (size - indexPosition > MAX_INDEX_BYTES) return `the index at byte ${indexPosition} would be ${size - indexPosition} bytes long`;
  if (connectionCount < 0 || chunkCount < 0) return `the bag header counts are negative (${connectionCount} connections, ${chunkCount} chunks)`;
  if (connectionCount === 0 && chunkCount === 0) return emptyLayout();
  if (connectionCount === 0) return `the bag header lists ${chunkCount} chunks but no connections`;

  try {
    // Check that the index starts where the header says before letting the library read it all.
    const first = await file.recordAt(indexPosition);
    if (first.kind === 'truncated') return `the index at byte ${indexPosition} is cut off (${first.why})`;
    if (first.head.op !== Op.connection) return `byte ${indexPosition} holds a ${opName(first.head.op)} record, not the index`;
    await bag.open();
  } catch (error) {
    return `the index at byte ${indexPosition} is unreadable (${(error as Error).message})`;
  }

  const layout = emptyLayout();
  for (const c of bag.connections.values()) {
    const connection: ConnectionRecord = {
      conn: c.conn,
      topic: c.topic,
      type: c.type ?? '',
      md5sum: c.md5sum ?? '',
      messageDefinition: utf8.encode(c.messageDefinition),
    };
    layout.connections.set(c.conn, connection);
  }
  if (layout.connections.size !== connectionCount) {
    return `the index lists ${layout.connections.size} distinct connections, the header ${connectionCount}`;
  }

  const chunkInfos = bag.chunkInfos;
  let previousEnd = header.end;
  for (let k = 0; k < chunkInfos.length; k++) {
    const info = chunkInfos[k]!;
    const at = info.chunkPosition;
    const boundary = k + 1 < chunkInfos.length ? chunkInfos[k + 1]!.chunkPosition : indexPosition;
    if (at < previousEnd || at >= boundary) return `chunk info ${k} points at byte ${at}, outside the space between its neighbours`;
    try {
      const chunk = await file.recordAt(at);
      if (chunk.kind === 'truncated') return `the chunk at byte ${at} is cut off (${chunk.why})`;
      const { compression, uncompressedSize } = chunkHead(chunk.head);
      if (chunk.end > boundary) return `the chunk at byte ${at} overlaps the next chunk or the index`;
      const entries = await readChunkIndex(file, chunk.end, boundary);
      const expected = new Map(info.connections.map((c) => [c.conn, c.count]));
      const implausible = implausibleChunkSize(compression, chunk.head.dataLength, uncompressedSize);
      if (implausible) {
        layout.warnings.push(`the chunk at byte ${at} cannot be read: ${implausible}; its messages are left out`);
      }
      const block = layout.chunks.length;
      layout.chunks.push({ offset: at, dataOffset: chunk.dataOffset, dataLength: chunk.head.dataLength, compression, uncompressedSize });
      for (const [conn, list] of entries) {
        if (!layout.connections.has(conn)) return `the index of the chunk at byte ${at} names connection ${conn}, which the bag does not list`;
        if (expected.get(conn) !== list.length) return `the chunk at byte ${at} indexes ${list.length} messages of connection ${conn}, its chunk info ${expected.get(conn) ?? 0}`;
        expected.delete(conn);
        if (implausible) continue;
        for (const e of list) {
          if (e.offset >= uncompressedSize) return `the index of the chunk at byte ${at} points past the chunk's ${uncompressedSize} bytes`;
          addEntry(layout, conn, e.logTime, block, e.offset);
        }
      }
      if ([...expected.values()].some((n) => n > 0)) return `the chunk at byte ${at} lacks index data for connections its chunk info lists`;
    } catch (error) {
      return `the chunk at byte ${at} is unreadable (${(error as Error).message})`;
    }
    previousEnd = boundary;
    onProgress?.(boundary, size);
  }
  return layout;
}

/** The IndexData records filling [start, end): message times and offsets per connection. */
async function readChunkIndex(file: BagFile, start: number, end: number): Promise<Map<number, IndexEntry[]>> {
  const out = new Map<number, IndexEntry[]>();
  if (end === start) return out;
  const bytes = await file.readSmall(start, end - start);
  let p = 0;
  while (p < bytes.byteLength) {
    const head = parseRecordHead(bytes, p);
    if (!head || head.length > bytes.byteLength - p) throw new RecordError(`index data at byte ${start + p} is cut off`, p);
    const { conn, entries } = parseIndexData(head, bytes.subarray(p + head.dataStart, p + head.length));
    const list = out.get(conn);
    if (list) for (const e of entries) list.push(e);
    else out.set(conn, entries);
    p += head.length;
  }
  return out;
}
