// Greedy non-maximum suppression on typed arrays: boxes as x1, y1, x2, y2 rows.

/** Intersection over union of boxes i and j of a packed [n * 4] array. */
export function boxIoU(boxes: ArrayLike<number>, i: number, j: number): number {
  const ax1 = boxes[i * 4]!, ay1 = boxes[i * 4 + 1]!, ax2 = boxes[i * 4 + 2]!, ay2 = boxes[i * 4 + 3]!;
  const bx1 = boxes[j * 4]!, by1 = boxes[j * 4 + 1]!, bx2 = boxes[j * 4 + 2]!, by2 = boxes[j * 4 + 3]!;
  const iw = Math.min(ax2, bx2) - Math.max(ax1, bx1);
  const ih = Math.min(ay2, by2) - Math.max(ay1, by1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
  return union > 0 ? inter / union : 0;
}

/** Indices of the k highest scores, best first. */
export function topKIndices(scores: ArrayLike<number>, count: number, k: number): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  order.sort((a, b) => scores[b]! - scores[a]!);
  return k < count ? order.slice(0, k) : order;
}

/**
 * Keep the best box of each overlapping group, per class (classes given) or over all boxes
 * (classes null). Returns the kept indices, best first, at most maxKeep.
 */
export function nms(
  boxes: ArrayLike<number>,
  scores: ArrayLike<number>,
  classes: ArrayLike<number> | null,
  count: number,
  iouThreshold: number,
  maxKeep = Infinity,
): Int32Array {
  const order = topKIndices(scores, count, count);
  const kept = new Int32Array(Math.min(count, Number.isFinite(maxKeep) ? maxKeep : count));
  let nKept = 0;
  // Kept indices per class, so each candidate is compared only with its own class.
  const keptByClass = new Map<number, number[]>();
  for (let o = 0; o < order.length && nKept < kept.length; o++) {
    const i = order[o]!;
    const cls = classes ? classes[i]! : 0;
    let group = keptByClass.get(cls);
    if (!group) keptByClass.set(cls, (group = []));
    let suppressed = false;
    for (const j of group) {
      if (boxIoU(boxes, i, j) > iouThreshold) {
        suppressed = true;
        break;
      }
    }
    if (suppressed) continue;
    group.push(i);
    kept[nKept++] = i;
  }
  return kept.slice(0, nKept);
}
