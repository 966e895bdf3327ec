// Message decoders keyed by (schema encoding, message encoding). Every decoder yields plain
// objects with snake_case keys, bytes as Uint8Array and 64-bit integers as bigint-safe strings,
// so the adapters downstream see one shape whatever the wire encoding was.
import { protobufFromBinaryDescriptor } from '@mcap/support';
import type { McapTypes } from '@mcap/core';
import { LogError } from '../errors.js';

export type PlainMessage = Record<string, unknown>;
export type MessageDecoder = (data: Uint8Array) => PlainMessage;

// Only lower-to-upper boundaries: CameraCalibration's K, P, D, R must stay as they are.
const camelToSnake = (key: string): string => key.replace(/([a-z0-9])([A-Z])/g, (_m, a: string, b: string) => `${a}_${b.toLowerCase()}`);

function normalize(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map(normalize);
  const out: PlainMessage = {};
  for (const [k, v] of Object.entries(value)) out[camelToSnake(k)] = normalize(v);
  return out;
}

function base64ToBytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** Fields that the Foxglove JSON encoding carries as base64 strings. */
const JSON_BYTES_FIELDS = new Set(['data']);

function jsonBytesReviver(key: string, value: unknown): unknown {
  return JSON_BYTES_FIELDS.has(key) && typeof value === 'string' ? base64ToBytes(value) : value;
}

export function createDecoder(
  schema: McapTypes.Schema | undefined,
  channel: McapTypes.Channel,
  path: string,
): MessageDecoder | undefined {
  const encoding = channel.messageEncoding;
  if (encoding === 'protobuf' && schema?.encoding === 'protobuf') {
    let type: ReturnType<ReturnType<typeof protobufFromBinaryDescriptor>['lookupType']>;
    try {
      type = protobufFromBinaryDescriptor(schema.data).lookupType(schema.name);
    } catch (error) {
      throw new LogError(`${path}: protobuf schema '${schema.name}' is invalid (${(error as Error).message})`, { path });
    }
    return (data) =>
      normalize(type.toObject(type.decode(data), { longs: String, enums: Number, defaults: true })) as PlainMessage;
  }
  if (encoding === 'json') {
    const decoder = new TextDecoder();
    return (data) => normalize(JSON.parse(decoder.decode(data), jsonBytesReviver)) as PlainMessage;
  }
  return undefined;
}
