// Foxglove schemas as protobuf: a protobufjs Root built from the proto3 text that
// @foxglove/schemas generates, and per-message binary FileDescriptorSets for MCAP schema records.
//
// The descriptor sets are laid out the way protoc --include_imports writes them (one file per
// .proto, e.g. "foxglove/PointCloud.proto", with its dependencies declared and listed first, and
// fully-qualified type names), so strict consumers (C++/Python descriptor pools) accept them as
// well as protobufjs-based ones.
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
// '.js': the package has no exports map, so Node's ESM resolver needs the file name.
import { foxgloveEnumSchemas, foxgloveMessageSchemas, generateProto } from '@foxglove/schemas/internal.js';

// protobufjs ships these as JSON only; the text keeps every file going through the same parser.
const GOOGLE_PROTOS: Record<string, string> = {
  'google/protobuf/timestamp.proto':
    'syntax = "proto3";\npackage google.protobuf;\nmessage Timestamp {\n  int64 seconds = 1;\n  int32 nanos = 2;\n}\n',
  'google/protobuf/duration.proto':
    'syntax = "proto3";\npackage google.protobuf;\nmessage Duration {\n  int64 seconds = 1;\n  int32 nanos = 2;\n}\n',
};

interface ProtoFile {
  /** e.g. "foxglove/PointCloud.proto" */
  path: string;
  /** Full type name without a leading dot, e.g. "foxglove.PointCloud". */
  typeName: string;
  source: string;
  imports: string[];
}

let filesMemo: Map<string, ProtoFile> | undefined;

/** Every Foxglove schema (and the google.protobuf types they use) as proto text, keyed by file path. */
function protoFiles(): Map<string, ProtoFile> {
  if (filesMemo) return filesMemo;
  const files = new Map<string, ProtoFile>();
  const enums = Object.values(foxgloveEnumSchemas);
  for (const schema of Object.values(foxgloveMessageSchemas)) {
    if (schema.protoEquivalent !== undefined) continue; // Timestamp/Duration map to google.protobuf.*
    const source = generateProto(
      schema,
      enums.filter((e) => e.parentSchemaName === schema.name),
    );
    const imports = [...source.matchAll(/^import "([^"]+)";$/gm)].map((m) => m[1]!);
    const path = `foxglove/${schema.name}.proto`;
    files.set(path, { path, typeName: `foxglove.${schema.name}`, source, imports });
  }
  for (const [path, source] of Object.entries(GOOGLE_PROTOS)) {
    const name = /message (\w+)/.exec(source)![1]!;
    files.set(path, { path, typeName: `google.protobuf.${name}`, source, imports: [] });
  }
  filesMemo = files;
  return files;
}

function fileOfType(name: string): ProtoFile {
  const clean = name.replace(/^\./, '');
  for (const f of protoFiles().values()) if (f.typeName === clean) return f;
  throw new Error(`unknown Foxglove schema '${name}'`);
}

let rootMemo: protobuf.Root | undefined;

/** A protobufjs Root holding every Foxglove message type (field names kept snake_case, as on the wire). */
export function foxgloveProtoRoot(): protobuf.Root {
  if (rootMemo) return rootMemo;
  const root = new protobuf.Root();
  for (const f of protoFiles().values()) protobuf.parse(f.source, root, { keepCase: true });
  root.resolveAll();
  rootMemo = root;
  return root;
}

/** Dependency-first closure of the files a type needs (the order protoc uses). */
function fileClosure(file: ProtoFile): ProtoFile[] {
  const out: ProtoFile[] = [];
  const seen = new Set<string>();
  const visit = (f: ProtoFile): void => {
    if (seen.has(f.path)) return;
    seen.add(f.path);
    for (const dep of f.imports) {
      const d = protoFiles().get(dep);
      if (!d) throw new Error(`${f.path} imports unknown ${dep}`);
      visit(d);
    }
    out.push(f);
  };
  visit(file);
  return out;
}

type DescriptorObject = Record<string, unknown> & { field?: Array<Record<string, unknown>> };

/** protobufjs writes type references relative to the referencing scope; descriptors want '.pkg.Name'. */
function qualifyTypeNames(type: protobuf.Type, desc: DescriptorObject): void {
  for (const fd of desc.field ?? []) {
    const field = type.fields[fd.name as string];
    if (field?.resolvedType) fd.typeName = field.resolvedType.fullName; // fullName starts with '.'
    // protobufjs sets this under a snake_case key its own descriptor type does not encode.
    if (field?.options?.proto3_optional) fd.proto3Optional = true;
  }
}

const descriptorMemo = new Map<string, Uint8Array>();

/** Binary google.protobuf.FileDescriptorSet for one message type, e.g. 'foxglove.PointCloud'. */
export function foxgloveDescriptorSet(name: string): Uint8Array {
  const cached = descriptorMemo.get(name);
  if (cached) return cached;
  const root = foxgloveProtoRoot();
  const files = fileClosure(fileOfType(name)).map((f) => {
    const type = root.lookupType(f.typeName);
    const messageType = type.toDescriptor('proto3') as unknown as DescriptorObject;
    qualifyTypeNames(type, messageType);
    return {
      name: f.path,
      package: f.typeName.slice(0, f.typeName.lastIndexOf('.')),
      dependency: f.imports,
      messageType: [messageType],
      syntax: 'proto3',
    };
  });
  const set = descriptor.FileDescriptorSet.fromObject({ file: files });
  const bytes = descriptor.FileDescriptorSet.encode(set).finish();
  descriptorMemo.set(name, bytes);
  return bytes;
}

/** Encodes a plain object (snake_case keys, Timestamps as {seconds, nanos}) as a Foxglove message. */
export function encodeFoxglove(name: string, obj: Record<string, unknown>): Uint8Array {
  const type = foxgloveProtoRoot().lookupType(name);
  return type.encode(type.fromObject(obj)).finish();
}
