// FlatBuffers messages (MCAP message encoding 'flatbuffer', schema a .bfbs) decoded by reflection into
// the same plain shape as the protobuf and JSON decoders: field names as in the schema (Foxglove's
// are snake_case), enums as numbers, 64-bit integers as strings, byte vectors as Uint8Array views
// into the message, absent scalars at their schema default, absent strings '' and vectors empty,
// absent tables and structs null. Every read is bounds-checked; a damaged message throws an error
// naming the schema, the topic and the byte.
import { BaseType, CheckedView, FlatbufferError, parseBinarySchema, scalarSize, type FbField, type FbObject, type FbSchema, type FbType, type Table } from './flatbufferSchema.js';

type Plain = Record<string, unknown>;

/** Deeper nesting than this only comes from a recursive schema fed a hostile message. */
const MAX_DEPTH = 64;

class MessageReader {
  /** Objects and elements left to read: a message without shared offsets holds fewer than its bytes. */
  private budget: number;

  constructor(
    private readonly schema: FbSchema,
    private readonly v: CheckedView,
    private readonly sizeCache: Map<number, number[]>,
  ) {
    this.budget = v.length + 64;
  }

  private spend(n: number, what: string): void {
    this.budget -= n;
    if (this.budget < 0) throw new FlatbufferError(`${what}: more objects than a ${this.v.length}-byte message can hold (offsets reuse the same data)`);
  }

  private scalar(baseType: number, at: number, what: string): unknown {
    const v = this.v;
    switch (baseType) {
      case BaseType.Bool:
        return v.u8(at, what) !== 0;
      case BaseType.Byte:
        return v.i8(at, what);
      case BaseType.UType:
      case BaseType.UByte:
        return v.u8(at, what);
      case BaseType.Short:
        return v.i16(at, what);
      case BaseType.UShort:
        return v.u16(at, what);
      case BaseType.Int:
        return v.i32(at, what);
      case BaseType.UInt:
        return v.u32(at, what);
      case BaseType.Long:
        return v.i64(at, what).toString();
      case BaseType.ULong:
        return v.u64(at, what).toString();
      case BaseType.Float:
        return v.f32(at, what);
      case BaseType.Double:
        return v.f64(at, what);
      default:
        throw new FlatbufferError(`${what}: unexpected scalar type ${baseType}`);
    }
  }

  private defaultOf(field: FbField): unknown {
    const t = field.type.baseType;
    // flatc marks every non-required offset field optional too: only a scalar's flag means 'no default'.
    if (field.optional && scalarSize(t) !== undefined) return null;
    if (t === BaseType.Bool) return field.defaultInteger !== 0n;
    if (t === BaseType.Float || t === BaseType.Double) return field.defaultReal;
    if (t === BaseType.Long) return field.defaultInteger.toString();
    if (t === BaseType.ULong) return BigInt.asUintN(64, field.defaultInteger).toString();
    if (scalarSize(t) !== undefined) return Number(field.defaultInteger);
    if (t === BaseType.String) return '';
    if (t === BaseType.Vector || t === BaseType.Vector64) {
      return field.type.element === BaseType.UByte ? new Uint8Array() : field.type.element === BaseType.Byte ? new Int8Array() : [];
    }
    return null;
  }

  table(objectIndex: number, pos: number, depth: number, what: string): Plain {
    const object = this.schema.objects[objectIndex]!;
    if (depth > MAX_DEPTH) throw new FlatbufferError(`${what}: nested deeper than ${MAX_DEPTH} tables`);
    this.spend(1, what);
    const table = this.v.table(pos, object.name);
    const out: Plain = {};
    const sizes = this.inlineSizes(objectIndex);
    for (let f = 0; f < object.fields.length; f++) {
      const field = object.fields[f]!;
      if (field.deprecated) continue;
      const at = this.v.field(table, field.offset, sizes[f]!, field.label);
      out[field.name] = at ? this.value(object, table, field, at, depth, field.label) : this.defaultOf(field);
    }
    return out;
  }

  struct(objectIndex: number, pos: number, what: string): Plain {
    const object = this.schema.objects[objectIndex]!;
    this.spend(1, what);
    this.v.need(pos, object.byteSize, object.name);
    const out: Plain = {};
    for (const field of object.fields) {
      const at = pos + field.offset;
      const t = field.type;
      if (t.baseType === BaseType.Obj) out[field.name] = this.struct(t.index, at, field.label);
      else if (t.baseType === BaseType.Array) out[field.name] = this.fixedArray(t, at, field.label);
      else out[field.name] = this.scalar(t.baseType, at, field.label);
    }
    return out;
  }

  /** Bytes each field takes inside its table: the scalar, the struct, or a 4-byte offset. */
  private inlineSizes(objectIndex: number): number[] {
    let sizes = this.sizeCache.get(objectIndex);
    if (!sizes) {
      sizes = this.schema.objects[objectIndex]!.fields.map(({ type }) =>
        type.baseType === BaseType.Obj && this.schema.objects[type.index]!.isStruct ? this.schema.objects[type.index]!.byteSize : (scalarSize(type.baseType) ?? 4),
      );
      this.sizeCache.set(objectIndex, sizes);
    }
    return sizes;
  }

  private value(object: FbObject, table: Table, field: FbField, at: number, depth: number, what: string): unknown {
    const t = field.type;
    switch (t.baseType) {
      case BaseType.String:
        this.spend(1, what);
        return this.v.string(at, what);
      case BaseType.Obj:
        return this.schema.objects[t.index]!.isStruct ? this.struct(t.index, at, what) : this.table(t.index, this.v.indirect(at, what), depth + 1, what);
      case BaseType.Vector:
        return this.vector(object, table, field, at, depth, what);
      case BaseType.Union: {
        const unionType = this.unionTypeOf(object, table, field, what);
        return typeof unionType === 'number' ? this.unionMember(t.index, unionType, this.v.indirect(at, what), depth, what) : null;
      }
      case BaseType.Vector64:
        throw new FlatbufferError(`${what}: 64-bit vectors are not supported`);
      default:
        return this.scalar(t.baseType, at, what);
    }
  }

  /** The `<name>_type` companion of a union field: a number, or a vector of them for a union vector. */
  private unionTypeOf(object: FbObject, table: Table, field: FbField, what: string): number | number[] | undefined {
    const companion = object.fields.find((f) => f.name === `${field.name}_type`);
    if (!companion) throw new FlatbufferError(`${what}: union without a ${field.name}_type field`);
    if (companion.type.baseType === BaseType.UType) {
      const at = this.v.field(table, companion.offset, 1, `${what}_type`);
      return at ? this.v.u8(at, `${what}_type`) : 0;
    }
    const at = this.v.field(table, companion.offset, 4, `${what}_type`);
    if (!at) return [];
    const { start, length } = this.v.vector(at, 1, `${what}_type`);
    return Array.from(this.v.bytes.subarray(start, start + length));
  }

  private unionMember(enumIndex: number, typeValue: number, pos: number, depth: number, what: string): Plain | null {
    if (typeValue === 0) return null;
    const member = this.schema.enums[enumIndex]!.values.find((e) => e.value === BigInt(typeValue));
    const index = member?.unionType?.index ?? -1;
    if (index < 0 || index >= this.schema.objects.length) throw new FlatbufferError(`${what}: unknown union member ${typeValue}`);
    // Union members may be tables (the usual case) or, since flatc 2.0, structs.
    return this.schema.objects[index]!.isStruct ? this.struct(index, pos, what) : this.table(index, pos, depth + 1, what);
  }

  private vector(object: FbObject, table: Table, field: FbField, at: number, depth: number, what: string): unknown {
    const t = field.type;
    const element = t.element;
    if (element === BaseType.UByte || element === BaseType.Byte) {
      const { start, length } = this.v.vector(at, 1, what);
      this.spend(1, what);
      const bytes = this.v.bytes;
      return element === BaseType.UByte ? bytes.subarray(start, start + length) : new Int8Array(bytes.buffer, bytes.byteOffset + start, length);
    }
    const scalar = scalarSize(element);
    if (scalar !== undefined) {
      const { start, length } = this.v.vector(at, scalar, what);
      this.spend(length, what);
      return Array.from({ length }, (_, i) => this.scalar(element, start + i * scalar, what));
    }
    if (element === BaseType.String) {
      const { start, length } = this.v.vector(at, 4, what);
      this.spend(length, what);
      return Array.from({ length }, (_, i) => this.v.string(start + i * 4, what));
    }
    if (element === BaseType.Obj) {
      const target = this.schema.objects[t.index]!;
      if (target.isStruct) {
        const { start, length } = this.v.vector(at, target.byteSize, what);
        return Array.from({ length }, (_, i) => this.struct(t.index, start + i * target.byteSize, what));
      }
      const { start, length } = this.v.vector(at, 4, what);
      return Array.from({ length }, (_, i) => this.table(t.index, this.v.indirect(start + i * 4, what), depth + 1, what));
    }
    if (element === BaseType.Union) {
      const types = this.unionTypeOf(object, table, field, what);
      const { start, length } = this.v.vector(at, 4, what);
      if (!Array.isArray(types) || types.length !== length) throw new FlatbufferError(`${what}: ${length} union values but ${Array.isArray(types) ? types.length : 'no'} types`);
      return types.map((typeValue, i) => this.unionMember(t.index, typeValue, this.v.indirect(start + i * 4, what), depth, what));
    }
    throw new FlatbufferError(`${what}: vectors of type ${element} are not supported`);
  }

  private fixedArray(t: FbType, at: number, what: string): unknown[] {
    const length = t.fixedLength;
    if (t.element === BaseType.Obj) {
      const size = this.schema.objects[t.index]!.byteSize;
      this.v.need(at, size * length, what);
      return Array.from({ length }, (_, i) => this.struct(t.index, at + i * size, what));
    }
    const size = scalarSize(t.element);
    if (size === undefined) throw new FlatbufferError(`${what}: arrays of type ${t.element} are not supported`);
    this.v.need(at, size * length, what);
    this.spend(length, what);
    return Array.from({ length }, (_, i) => this.scalar(t.element, at + i * size, what));
  }
}

/**
 * A decoder for messages whose root table is `schemaName` (or the schema's root_type) in the
 * .bfbs `schemaData`. Throws a FlatbufferError when the schema is unusable.
 */
export function createFlatbufferDecoder(schemaData: Uint8Array, schemaName: string, topic: string): (data: Uint8Array) => Plain {
  const schema = parseBinarySchema(schemaData);
  let rootIndex = schema.objects.findIndex((o) => o.name === schemaName);
  if (rootIndex < 0 && schema.rootTable) rootIndex = schema.objects.findIndex((o) => o.name === schema.rootTable);
  if (rootIndex < 0) throw new FlatbufferError(`no table '${schemaName}' in the schema${schema.rootTable ? ` (its root is '${schema.rootTable}')` : ''}`);
  const root = schema.objects[rootIndex]!;
  if (root.isStruct) throw new FlatbufferError(`'${root.name}' is a struct, not a table`);
  const sizeCache = new Map<number, number[]>();
  return (data) => {
    const view = new CheckedView(data);
    try {
      return new MessageReader(schema, view, sizeCache).table(rootIndex, view.indirect(0, 'root offset'), 0, root.name);
    } catch (error) {
      if (!(error instanceof FlatbufferError)) throw error;
      throw new FlatbufferError(`malformed flatbuffer ${root.name} on ${topic}: ${error.message}`);
    }
  };
}
