// JSON form of an evaluation: typed arrays become plain arrays and NaN ("undefined") becomes null,
// which JSON.stringify would otherwise turn into index-keyed objects and null without saying so.
import type { EvaluationResult } from './types.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function toJson(value: unknown): Json {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>, (v) => (Number.isFinite(v) ? v : null));
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object') {
    const out: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v);
    return out;
  }
  return null;
}

/** A JSON-safe copy of a result; `objects: false` leaves the per-object records out (they can be large). */
export function evaluationToJson(result: EvaluationResult, options: { objects?: boolean } = {}): Json {
  const { objects, ...rest } = result;
  const json = toJson(rest) as { [key: string]: Json };
  json.objects = options.objects === false ? [] : toJson(objects);
  return json;
}
