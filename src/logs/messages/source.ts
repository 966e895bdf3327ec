// A time-indexed message container (indexed MCAP, scanned MCAP, ROS bag): per-channel sorted
// log times, nearest/range lookups, and reading one message's bytes on demand.
export interface SourceChannel {
  id: number;
  topic: string;
  schemaName: string;
  schemaEncoding: string;
  /** Raw schema bytes (protobuf FileDescriptorSet, ros2msg/ros1msg text, JSON schema). */
  schemaData: Uint8Array;
  messageEncoding: string;
}

export interface MessageRef {
  channelId: number;
  logTime: bigint;
  /** Position of the message, opaque to everything but its source. */
  locator: number;
  block: number;
}

export interface MessageSource {
  readonly path: string;
  readonly sizeBytes: number;
  readonly channels: readonly SourceChannel[];
  /** Sorted log times of a channel's messages. */
  times(channelId: number): BigInt64Array;
  refAt(channelId: number, index: number): MessageRef;
  readMessage(ref: MessageRef): Promise<Uint8Array>;
  /** Problems found while indexing (recovered truncation, bad CRCs), listed in the log's warnings. */
  readonly warnings: readonly string[];
  close(): Promise<void>;
}

/** First index whose time is >= `timeNs`. */
export function lowerBound(times: BigInt64Array, timeNs: bigint): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! < timeNs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the message nearest to `timeNs` within `toleranceNs`, or -1. */
export function nearestIndex(times: BigInt64Array, timeNs: bigint, toleranceNs: bigint): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! < timeNs) lo = mid + 1;
    else hi = mid;
  }
  let best = -1;
  let bestGap = 0n;
  for (const i of [lo - 1, lo]) {
    if (i < 0 || i >= times.length) continue;
    const gap = times[i]! > timeNs ? times[i]! - timeNs : timeNs - times[i]!;
    if (best < 0 || gap < bestGap) {
      best = i;
      bestGap = gap;
    }
  }
  return best >= 0 && bestGap <= toleranceNs ? best : -1;
}

export function nearest(source: MessageSource, channelId: number, timeNs: bigint, toleranceNs: bigint): MessageRef | undefined {
  const i = nearestIndex(source.times(channelId), timeNs, toleranceNs);
  return i < 0 ? undefined : source.refAt(channelId, i);
}

export function range(source: MessageSource, channelId: number, startNs: bigint, endNs: bigint): MessageRef[] {
  const times = source.times(channelId);
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! < startNs) lo = mid + 1;
    else hi = mid;
  }
  const out: MessageRef[] = [];
  for (let i = lo; i < times.length && times[i]! <= endNs; i++) out.push(source.refAt(channelId, i));
  return out;
}

/** Builds sorted parallel arrays from unsorted (time, block, locator) triples. */
export function buildChannelIndex(entries: { times: bigint[]; block: number[]; locator: number[] }): {
  times: BigInt64Array;
  block: Uint32Array;
  locator: Float64Array;
} {
  const order = entries.times.map((_, i) => i);
  let sorted = true;
  for (let i = 1; i < entries.times.length; i++) if (entries.times[i]! < entries.times[i - 1]!) sorted = false;
  if (!sorted) order.sort((a, b) => (entries.times[a]! < entries.times[b]! ? -1 : entries.times[a]! > entries.times[b]! ? 1 : a - b));
  return {
    times: BigInt64Array.from(order, (i) => entries.times[i]!),
    block: Uint32Array.from(order, (i) => entries.block[i]!),
    locator: Float64Array.from(order, (i) => entries.locator[i]!),
  };
}
