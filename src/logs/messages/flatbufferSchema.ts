// FlatBuffers binary schemas (.bfbs, flatc --binary --schema) read through a bounds-checked view.
// The .bfbs is itself a flatbuffer of reflection.fbs, so the same checked reads serve the schema
// and the messages: no offset in either can read outside its buffer.

/** reflection.fbs BaseType. */
export const BaseType = {
  None: 0,
  UType: 1,
  Bool: 2,
  Byte: 3,
  UByte: 4,
  Short: 5,
  UShort: 6,
  Int: 7,
  UInt: 8,
  Long: 9,
  ULong: 10,
  Float: 11,
  Double: 12,
  String: 13,
  Vector: 14,
  Obj: 15,
  Union: 16,
  Array: 17,
  Vector64: 18,
} as const;

const SCALAR_SIZES: Record<number, number> = { 1: 1, 2: 1, 3: 1, 4: 1, 5: 2, 6: 2, 7: 4, 8: 4, 9: 8, 10: 8, 11: 4, 12: 8 };

export const scalarSize = (baseType: number): number | undefined => SCALAR_SIZES[baseType];

export class FlatbufferError extends Error {}

/** Little-endian reads that throw a FlatbufferError, naming the byte, instead of reading past the end. */
export class CheckedView {
  readonly view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.byteLength;
  }

  need(offset: number, size: number, what: string): void {
    if (!Number.isInteger(offset) || offset < 0 || size < 0 || offset + size > this.bytes.byteLength) {
      throw new FlatbufferError(`${what} at byte ${offset} (${size} bytes) lies outside the ${this.bytes.byteLength}-byte buffer`);
    }
  }

  u8(o: number, what: string): number {
    this.need(o, 1, what);
    return this.view.getUint8(o);
  }
  i8(o: number, what: string): number {
    this.need(o, 1, what);
    return this.view.getInt8(o);
  }
  u16(o: number, what: string): number {
    this.need(o, 2, what);
    return this.view.getUint16(o, true);
  }
  i16(o: number, what: string): number {
    this.need(o, 2, what);
    return this.view.getInt16(o, true);
  }
  u32(o: number, what: string): number {
    this.need(o, 4, what);
    return this.view.getUint32(o, true);
  }
  i32(o: number, what: string): number {
    this.need(o, 4, what);
    return this.view.getInt32(o, true);
  }
  i64(o: number, what: string): bigint {
    this.need(o, 8, what);
    return this.view.getBigInt64(o, true);
  }
  u64(o: number, what: string): bigint {
    this.need(o, 8, what);
    return this.view.getBigUint64(o, true);
  }
  f32(o: number, what: string): number {
    this.need(o, 4, what);
    return this.view.getFloat32(o, true);
  }
  f64(o: number, what: string): number {
    this.need(o, 8, what);
    return this.view.getFloat64(o, true);
  }

  /** The position a uoffset at `o` points to (always forward, so offsets cannot loop). */
  indirect(o: number, what: string): number {
    const target = o + this.u32(o, what);
    this.need(target, 0, what);
    return target;
  }

  /** A table at `pos`: where each vtable slot's field lives (0 when absent). */
  table(pos: number, what: string): Table {
    // `what` goes into messages unchanged: building strings per table would cost more than the reads.
    const vtable = pos - this.i32(pos, what);
    const vtableSize = this.u16(vtable, what);
    if (vtableSize < 4 || vtableSize % 2 !== 0) throw new FlatbufferError(`${what}: vtable at byte ${vtable} has an invalid size ${vtableSize}`);
    this.need(vtable, vtableSize, what);
    const tableSize = this.u16(vtable + 2, what);
    this.need(pos, tableSize, what);
    return { pos, vtable, vtableSize, tableSize };
  }

  /** Absolute position of the field in vtable slot `voffset` (4 + 2·id), or 0 when absent. */
  field(table: Table, voffset: number, size: number, what: string): number {
    if (voffset + 2 > table.vtableSize) return 0;
    const rel = this.view.getUint16(table.vtable + voffset, true);
    if (rel === 0) return 0;
    if (rel + size > table.tableSize) {
      throw new FlatbufferError(`${what} at byte ${table.pos + rel} lies outside its ${table.tableSize}-byte table at byte ${table.pos}`);
    }
    return table.pos + rel;
  }

  /** Element count and start of the vector a uoffset at `o` points to, checked against the buffer. */
  vector(o: number, elementSize: number, what: string): { start: number; length: number } {
    const at = this.indirect(o, what);
    const length = this.u32(at, what);
    this.need(at + 4, length * elementSize, what);
    return { start: at + 4, length };
  }

  string(o: number, what: string): string {
    const { start, length } = this.vector(o, 1, what);
    return textDecoder.decode(this.bytes.subarray(start, start + length));
  }
}

const textDecoder = new TextDecoder();

export interface Table {
  pos: number;
  vtable: number;
  vtableSize: number;
  tableSize: number;
}

export interface FbType {
  baseType: number;
  element: number;
  /** Object or enum index for Obj, Union, UType and enum-typed scalars; -1 otherwise. */
  index: number;
  fixedLength: number;
}

export interface FbField {
  name: string;
  /** 'foxglove.PointCloud.data', for errors. */
  label: string;
  type: FbType;
  id: number;
  /** Vtable slot in a table, byte offset in a struct. */
  offset: number;
  defaultInteger: bigint;
  defaultReal: number;
  deprecated: boolean;
  optional: boolean;
}

export interface FbObject {
  name: string;
  fields: FbField[];
  isStruct: boolean;
  byteSize: number;
}

export interface FbEnumValue {
  name: string;
  value: bigint;
  unionType?: FbType;
}

export interface FbEnum {
  name: string;
  values: FbEnumValue[];
  isUnion: boolean;
}

export interface FbSchema {
  objects: FbObject[];
  enums: FbEnum[];
  rootTable?: string;
}

const slot = (id: number) => 4 + 2 * id;

/** Reflection tables as plain data; the reflection.fbs field ids are fixed by that schema. */
class SchemaReader {
  constructor(private readonly v: CheckedView) {}

  private tableAt(o: number, what: string): Table {
    return this.v.table(this.v.indirect(o, what), what);
  }

  private str(t: Table, id: number, what: string): string {
    const at = this.v.field(t, slot(id), 4, what);
    return at ? this.v.string(at, what) : '';
  }

  private scalar(t: Table, id: number, size: 1 | 2 | 4 | 8, what: string, fallback: number): number {
    const at = this.v.field(t, slot(id), size, what);
    if (!at) return fallback;
    return size === 1 ? this.v.i8(at, what) : size === 2 ? this.v.u16(at, what) : size === 4 ? this.v.i32(at, what) : this.v.f64(at, what);
  }

  private tables(t: Table, id: number, what: string): Table[] {
    const at = this.v.field(t, slot(id), 4, what);
    if (!at) return [];
    const { start, length } = this.v.vector(at, 4, what);
    return Array.from({ length }, (_, i) => this.tableAt(start + i * 4, what));
  }

  type(t: Table, what: string): FbType {
    return {
      baseType: this.scalar(t, 0, 1, `${what} base_type`, 0),
      element: this.scalar(t, 1, 1, `${what} element`, 0),
      index: this.scalar(t, 2, 4, `${what} index`, -1),
      fixedLength: this.scalar(t, 3, 2, `${what} fixed_length`, 0),
    };
  }

  field(t: Table): FbField {
    const name = this.str(t, 0, 'field name');
    const what = `field '${name}'`;
    const typeAt = this.v.field(t, slot(1), 4, `${what} type`);
    if (!typeAt) throw new FlatbufferError(`${what} has no type`);
    const defaultIntegerAt = this.v.field(t, slot(4), 8, `${what} default`);
    return {
      name,
      label: name,
      type: this.type(this.tableAt(typeAt, `${what} type`), `${what} type`),
      id: this.scalar(t, 2, 2, `${what} id`, 0),
      offset: this.scalar(t, 3, 2, `${what} offset`, 0),
      defaultInteger: defaultIntegerAt ? this.v.i64(defaultIntegerAt, `${what} default`) : 0n,
      defaultReal: this.scalar(t, 5, 8, `${what} default`, 0),
      deprecated: this.scalar(t, 6, 1, `${what} deprecated`, 0) !== 0,
      optional: this.scalar(t, 11, 1, `${what} optional`, 0) !== 0,
    };
  }

  object(t: Table): FbObject {
    const name = this.str(t, 0, 'object name');
    return {
      name,
      fields: this.tables(t, 1, `${name} fields`).map((f) => {
        const field = this.field(f);
        return { ...field, label: `${name}.${field.name}` };
      }),
      isStruct: this.scalar(t, 2, 1, `${name} is_struct`, 0) !== 0,
      byteSize: this.scalar(t, 4, 4, `${name} bytesize`, 0),
    };
  }

  enumeration(t: Table): FbEnum {
    const name = this.str(t, 0, 'enum name');
    const values = this.tables(t, 1, `${name} values`).map((vt) => {
      const valueAt = this.v.field(vt, slot(1), 8, `${name} value`);
      const unionTypeAt = this.v.field(vt, slot(3), 4, `${name} union type`);
      return {
        name: this.str(vt, 0, `${name} value name`),
        value: valueAt ? this.v.i64(valueAt, `${name} value`) : 0n,
        unionType: unionTypeAt ? this.type(this.tableAt(unionTypeAt, `${name} union type`), `${name} union type`) : undefined,
      };
    });
    return { name, values, isUnion: this.scalar(t, 2, 1, `${name} is_union`, 0) !== 0 };
  }

  schema(): FbSchema {
    const root = this.tableAt(0, 'schema');
    const rootAt = this.v.field(root, slot(4), 4, 'root_table');
    return {
      objects: this.tables(root, 0, 'objects').map((t) => this.object(t)),
      enums: this.tables(root, 1, 'enums').map((t) => this.enumeration(t)),
      rootTable: rootAt ? this.str(this.tableAt(rootAt, 'root_table'), 0, 'root_table name') : undefined,
    };
  }
}

/** Parses a .bfbs; throws a FlatbufferError when it is not one or is damaged. */
export function parseBinarySchema(bfbs: Uint8Array): FbSchema {
  const view = new CheckedView(bfbs);
  if (bfbs.byteLength < 8 || textDecoder.decode(bfbs.subarray(4, 8)) !== 'BFBS') {
    throw new FlatbufferError('not a binary FlatBuffers schema (no BFBS identifier)');
  }
  const schema = new SchemaReader(view).schema();
  for (const o of schema.objects) {
    for (const f of o.fields) {
      const refersToObject = f.type.baseType === BaseType.Obj || ((f.type.baseType === BaseType.Vector || f.type.baseType === BaseType.Array) && f.type.element === BaseType.Obj);
      if (refersToObject && (f.type.index < 0 || f.type.index >= schema.objects.length)) {
        throw new FlatbufferError(`${o.name}.${f.name} refers to object ${f.type.index} of ${schema.objects.length}`);
      }
      const refersToEnum = f.type.baseType === BaseType.Union || f.type.baseType === BaseType.UType || f.type.element === BaseType.Union;
      if (refersToEnum && (f.type.index < 0 || f.type.index >= schema.enums.length)) {
        throw new FlatbufferError(`${o.name}.${f.name} refers to enum ${f.type.index} of ${schema.enums.length}`);
      }
    }
    if (o.isStruct && o.byteSize <= 0) throw new FlatbufferError(`struct ${o.name} has size ${o.byteSize}`);
  }
  return schema;
}
