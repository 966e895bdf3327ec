// Message decoders keyed by (schema encoding, message encoding). Every decoder yields plain
// objects with snake_case keys, bytes as Uint8Array and 64-bit integers as strings, so the
// adapters downstream see one shape whatever the wire encoding was.
import { protobufFromBinaryDescriptor } from '@mcap/support';
import { parse as parseRosDefinition } from '@foxglove/rosmsg';
import { MessageReader as Ros2Reader } from '@foxglove/rosmsg2-serialization';
import { MessageReader as Ros1Reader } from '@foxglove/rosmsg-serialization';
import { LogError } from '../errors.js';
import { createFlatbufferDecoder } from './flatbuffer.js';
import type { SourceChannel } from './source.js';

export type PlainMessage = Record<string, unknown>;
export type MessageDecoder = (data: Uint8Array) => PlainMessage;

// Only lower-to-upper boundaries: CameraCalibration's K, P, D, R must stay as they are.
const camelToSnake = (key: string): string => key.replace(/([a-z0-9])([A-Z])/g, (_m, a: string, b: string) => `${a}_${b.toLowerCase()}`);

function normalize(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'bigint' ? value.toString() : value;
  if (ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map(normalize);
  const out: PlainMessage = {};
  for (const [k, v] of Object.entries(value)) out[camelToSnake(k)] = normalize(v);
  return out;
}

/** Fields that the Foxglove JSON encoding carries as base64 strings. */
const JSON_BYTES_FIELDS = new Set(['data']);
function jsonBytesReviver(key: string, value: unknown): unknown {
  if (!JSON_BYTES_FIELDS.has(key) || typeof value !== 'string') return value;
  // A plain Uint8Array view of the decoded bytes: no second copy.
  const bytes = Buffer.from(value, 'base64');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const textDecoder = new TextDecoder();

export function createDecoder(channel: SourceChannel, path: string): MessageDecoder | undefined {
  const { messageEncoding, schemaEncoding, schemaName, schemaData } = channel;
  const invalid = (error: unknown): never => {
    throw new LogError(`${path}: schema '${schemaName}' of ${channel.topic} is invalid (${(error as Error).message})`, { path });
  };
  if (messageEncoding === 'protobuf' && schemaEncoding === 'protobuf') {
    let type: ReturnType<ReturnType<typeof protobufFromBinaryDescriptor>['lookupType']> | undefined;
    try {
      type = protobufFromBinaryDescriptor(schemaData).lookupType(schemaName);
    } catch (error) {
      invalid(error);
    }
    const t = type!;
    return (data) => normalize(t.toObject(t.decode(data), { longs: String, enums: Number, defaults: true })) as PlainMessage;
  }
  if (messageEncoding === 'flatbuffer' && schemaEncoding === 'flatbuffer') {
    try {
      return createFlatbufferDecoder(schemaData, schemaName, channel.topic);
    } catch (error) {
      invalid(error);
    }
  }
  if (messageEncoding === 'json') {
    return (data) => normalize(JSON.parse(textDecoder.decode(data), jsonBytesReviver)) as PlainMessage;
  }
  if (messageEncoding === 'cdr' && schemaEncoding === 'ros2msg') {
    let reader: Ros2Reader | undefined;
    try {
      reader = new Ros2Reader(parseRosDefinition(textDecoder.decode(schemaData), { ros2: true }), { timeType: 'sec,nanosec' });
    } catch (error) {
      invalid(error);
    }
    return (data) => normalize(reader!.readMessage(data)) as PlainMessage;
  }
  if (messageEncoding === 'ros1' && schemaEncoding === 'ros1msg') {
    let reader: Ros1Reader | undefined;
    try {
      reader = new Ros1Reader(parseRosDefinition(textDecoder.decode(schemaData)));
    } catch (error) {
      invalid(error);
    }
    return (data) => normalize(reader!.readMessage(data)) as PlainMessage;
  }
  return undefined;
}
