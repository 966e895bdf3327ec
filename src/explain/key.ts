// Cache keys for saliency maps: sha256 over canonical JSON (sorted keys, no whitespace) of what
// determines the map. Speed-only settings (batch, device) and the target's score (not used by the
// scan) are left out, so the same map is found whichever machine computed it.
import { createHash } from 'node:crypto';
import type { SaliencyParams, SaliencyTarget } from './params.js';

/** Bump when the algorithm changes what a map holds, so old cache entries stop matching. */
export const SALIENCY_VERSION = 1;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** JSON with object keys sorted at every level; throws on values JSON cannot hold exactly. */
export function canonicalJson(value: Json): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`canonicalJson: ${value} is not a finite number`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k]!)}`).join(',')}}`;
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The image part of a key: sha256 of the encoded bytes. */
export function imageSha256(bytes: Uint8Array): string {
  return sha256Hex(bytes);
}

/** Box coordinates to 1/1000 px, so float noise from a database round trip keeps the key. */
const px = (v: number) => Math.round(v * 1000) / 1000;

export function saliencyKey(modelSha256: string, imageHash: string, target: Omit<SaliencyTarget, 'score'> & { score?: number }, params: SaliencyParams): string {
  const { batch: _batch, device: _device, ...keyed } = params;
  return sha256Hex(
    canonicalJson({
      version: SALIENCY_VERSION,
      model: modelSha256,
      image: imageHash,
      target: { label: target.label, x1: px(target.x1), y1: px(target.y1), x2: px(target.x2), y2: px(target.y2) },
      params: { ...keyed },
    }),
  );
}
