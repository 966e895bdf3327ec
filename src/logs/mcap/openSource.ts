// Opens any MCAP file as a MessageSource: through its index when it has a usable one, otherwise
// with one full scan (McapScannedSource). The returned source says which (`indexed`).
//
// Falls back to the scan when: there is no readable summary (unindexed, truncated, bad summary
// CRC); the summary has messages but no chunk index; it has neither chunk indexes nor statistics
// (nothing tells whether messages exist); a message index is corrupt; the indexed message count
// disagrees with the statistics (messages outside chunks); channels are defined nowhere in the
// summary or chunks. Chunks that have a chunk index but no message index are indexed inside
// McapIndexedSource by decompressing them once, without a full scan.
// Not fallen back on: unsupported compression (a LogError either way) and I/O errors.
import type { MessageSource } from '../messages/source.js';
import { McapIndexUnusableError, McapIndexedSource } from './indexedSource.js';
import { McapScannedSource, type ScanOptions } from './scannedSource.js';

export type McapSource = MessageSource & {
  /** True when read through the file's own index, false when built by a full scan. */
  readonly indexed: boolean;
  readonly messageCount: number;
};

export interface McapOpenOptions extends ScanOptions {
  chunkCacheBytes?: number;
}

export async function openMcapSource(path: string, options: McapOpenOptions = {}): Promise<McapSource> {
  let reason: string;
  try {
    const source = await McapIndexedSource.open(path, options);
    const { chunkIndexes, statistics } = source.reader;
    if (chunkIndexes.length > 0 || statistics) return source;
    reason = 'its summary has neither chunk indexes nor statistics';
    await source.close();
  } catch (error) {
    if (!(error instanceof McapIndexUnusableError)) throw error;
    reason = error.reason;
  }
  const started = performance.now();
  const scanned = await McapScannedSource.open(path, options);
  const ms = Math.round(performance.now() - started);
  // A clean file with nothing in it needs no index; saying so would only be noise.
  if (scanned.messageCount > 0 || scanned.warnings.length > 0) {
    scanned.warnings.unshift(`${path} has no index (${reason}); built one with a full scan in ${ms} ms`);
  }
  return scanned;
}
