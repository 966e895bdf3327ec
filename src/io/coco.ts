// COCO detection JSON: `images` (one per frame and camera), `categories`, `annotations` with
// bbox [x, y, width, height] in pixels. Images carry Sightline's frame id, frame index and camera as
// extra fields, so a file exported here maps back exactly; files from elsewhere map their images to
// frames by file name, else by image id as the frame index. DontCare/ignore boxes are written as
// iscrowd=1 (the COCO way to say "do not count"). Predictions are also written as a results file:
// [{image_id, category_id, bbox, score}].
import { readFile, writeFile, mkdir, stat } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import { LogError } from '../logs/errors.js';
import type { AttributeValue, LabelRecord, LabelValue } from '../store/labelEvents.js';
import type { IoLog } from './logAccess.js';
import { WarningList, type ImportedBox, type ReadResult, type WriteResult } from './types.js';

export interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
  frame_id?: string;
  frame_index?: number;
  sensor_id?: string;
  stamp_ns?: string;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: [number, number, number, number];
  area: number;
  iscrowd: 0 | 1;
  score?: number;
  track_id?: string;
  attributes?: Record<string, AttributeValue>;
  sightline_label_id?: number;
}

export interface CocoDataset {
  info?: Record<string, unknown>;
  images: CocoImage[];
  categories: CocoCategory[];
  annotations: CocoAnnotation[];
}

export interface CocoResult {
  image_id: number;
  category_id: number;
  bbox: [number, number, number, number];
  score: number;
}

const MAX_JSON_BYTES = 1 << 30;

async function readJson(path: string): Promise<unknown> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new LogError(`No such file: ${path}`, { path });
  if (info.size > MAX_JSON_BYTES) throw new LogError(`${path} is ${(info.size / 2 ** 30).toFixed(1)} GiB; COCO JSON over 1 GiB is not supported (split it)`, { path });
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const m = /position (\d+)/.exec((error as Error).message);
    throw new LogError(`${path} is not valid JSON: ${(error as Error).message}`, { path, offset: m ? Number(m[1]) : undefined });
  }
}

/** The results file written beside a dataset export: `x.json` -> `x.results.json`. */
export const cocoResultsPath = (out: string): string => (extname(out) === '.json' ? `${out.slice(0, -5)}.results.json` : `${out}.results.json`);

/** Writes the dataset JSON (and the results JSON when the labels carry scores). */
export async function writeCoco(log: IoLog, labels: readonly LabelRecord[], out: string, options: { results: boolean; labelSet: { id: number; name: string } }): Promise<WriteResult> {
  const warnings = new WarningList();
  const frameIndex = new Map(log.frames.map((f) => [f.id, f.index]));
  const sensors = [...new Set(labels.flatMap((l) => (l.box2d ? [l.box2d.sensorId] : [])))].sort();
  if (!sensors.length && log.cameras()[0]) sensors.push(log.cameras()[0]!);
  const imageId = (index: number, slot: number): number => (sensors.length === 1 ? index : index * sensors.length + slot);
  const images: CocoImage[] = [];
  let sizeless = 0;
  for (const frame of log.frames) {
    for (let slot = 0; slot < sensors.length; slot++) {
      const sensorId = sensors[slot]!;
      const image = await log.image(frame.index, sensorId);
      if (!image) sizeless++;
      images.push({
        id: imageId(frame.index, slot),
        file_name: image?.fileName ?? `${sensorId.replace(/[^\w.-]+/g, '_')}_${String(frame.index).padStart(6, '0')}.png`,
        width: image?.width ?? 0,
        height: image?.height ?? 0,
        frame_id: frame.id,
        frame_index: frame.index,
        sensor_id: sensorId,
        stamp_ns: frame.stampNs,
      });
    }
  }
  if (sizeless) warnings.add(`${sizeless} images have no known size (no image for that camera and frame): width and height are 0`);
  const classes = [...new Set(labels.filter((l) => l.box2d).map((l) => l.class))].sort();
  const categories: CocoCategory[] = classes.map((name, i) => ({ id: i + 1, name, supercategory: '' }));
  const categoryId = new Map(classes.map((name, i) => [name, i + 1]));
  const annotations: CocoAnnotation[] = [];
  const results: CocoResult[] = [];
  let skipped = 0;
  for (const label of labels) {
    const index = frameIndex.get(label.frameId);
    if (!label.box2d || index === undefined) {
      skipped++;
      warnings.add(`label ${label.id} (${label.class}) not written: ${label.box2d ? `frame ${label.frameId} is not a frame of ${log.info.name}` : 'it has no 2D box (COCO holds image boxes only)'}`);
      continue;
    }
    const b = label.box2d;
    const bbox: [number, number, number, number] = [b.x1, b.y1, b.x2 - b.x1, b.y2 - b.y1];
    const ann: CocoAnnotation = {
      id: annotations.length + 1,
      image_id: imageId(index, sensors.indexOf(b.sensorId)),
      category_id: categoryId.get(label.class)!,
      bbox,
      area: bbox[2] * bbox[3],
      iscrowd: label.attributes.ignore === true || label.class === 'DontCare' ? 1 : 0,
      sightline_label_id: label.id,
    };
    if (label.score !== null) ann.score = label.score;
    if (label.trackId !== null) ann.track_id = label.trackId;
    if (Object.keys(label.attributes).length) ann.attributes = label.attributes;
    annotations.push(ann);
    if (options.results && label.score !== null && !ann.iscrowd) results.push({ image_id: ann.image_id, category_id: ann.category_id, bbox, score: label.score });
  }
  const dataset: CocoDataset = {
    info: { description: `Sightline label set ${options.labelSet.id} '${options.labelSet.name}' on ${log.info.name}`, sightline: { labelSetId: options.labelSet.id, logId: log.logId }, date_created: new Date().toISOString() },
    images,
    categories,
    annotations,
  };
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(dataset));
  const files = [out];
  if (options.results) {
    await writeFile(cocoResultsPath(out), JSON.stringify(results));
    files.push(cocoResultsPath(out));
  }
  return { files, written: annotations.length, skipped, warnings: warnings.list() };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Reads a COCO dataset JSON, or a results JSON (an array). A results file names images and
 * categories by id only: pass `dataset` (the COCO dataset it refers to) to map them, else image ids
 * are frame indices and categories are named `category_<id>`.
 */
export async function readCoco(log: IoLog, path: string, options: { dataset?: string; camera?: string } = {}): Promise<ReadResult> {
  const raw = await readJson(path);
  const warnings = new WarningList();
  let images: unknown[];
  let categories: unknown[];
  let annotations: unknown[];
  const files = [path];
  if (Array.isArray(raw)) {
    annotations = raw;
    if (options.dataset) {
      const ds = await readJson(options.dataset);
      if (!isObject(ds)) throw new LogError(`${options.dataset} is not a COCO dataset (an object with images and categories)`, { path: options.dataset });
      images = Array.isArray(ds.images) ? ds.images : [];
      categories = Array.isArray(ds.categories) ? ds.categories : [];
      files.push(options.dataset);
    } else {
      images = [];
      categories = [];
    }
  } else if (isObject(raw) && Array.isArray(raw.annotations)) {
    images = Array.isArray(raw.images) ? raw.images : [];
    categories = Array.isArray(raw.categories) ? raw.categories : [];
    annotations = raw.annotations;
  } else {
    throw new LogError(`${path} is neither a COCO dataset (an object with images, categories, annotations) nor a results array`, { path, offset: 0 });
  }

  const categoryName = new Map<number, string>();
  categories.forEach((c, i) => {
    if (isObject(c) && finite(c.id) && typeof c.name === 'string') categoryName.set(c.id, c.name);
    else warnings.add(`${path}: categories[${i}] has no numeric id and name; skipped`);
  });

  const defaultCamera = options.camera ?? log.cameras()[0] ?? 'camera';
  const frameById = new Map(log.frames.map((f) => [f.id, f.index]));
  let byFileName: Map<string, { index: number; sensorId: string }> | undefined;
  const fileNameIndex = async () => {
    if (byFileName) return byFileName;
    byFileName = new Map();
    const names = await log.frameNames();
    for (const sensorId of log.cameras()) {
      for (const frame of log.frames) {
        const image = await log.image(frame.index, sensorId);
        if (image) byFileName.set(image.fileName, { index: frame.index, sensorId });
      }
    }
    // File stems that are frame names (000123.png for sample 000123).
    names.forEach((n, index) => {
      if (!byFileName!.has(n)) byFileName!.set(n, { index, sensorId: defaultCamera });
    });
    return byFileName;
  };

  const imageFrame = new Map<number, { index: number; sensorId: string }>();
  let byIndex = 0;
  for (let i = 0; i < images.length; i++) {
    const img = images[i];
    if (!isObject(img) || !finite(img.id)) {
      warnings.add(`${path}: images[${i}] has no numeric id; skipped`);
      continue;
    }
    const sensorId = typeof img.sensor_id === 'string' ? img.sensor_id : undefined;
    if (typeof img.frame_id === 'string' && frameById.has(img.frame_id)) {
      imageFrame.set(img.id, { index: frameById.get(img.frame_id)!, sensorId: sensorId ?? defaultCamera });
      continue;
    }
    if (typeof img.file_name === 'string') {
      const names = await fileNameIndex();
      const base = basename(img.file_name);
      const hit = names.get(base) ?? names.get(base.slice(0, base.length - extname(base).length));
      if (hit) {
        imageFrame.set(img.id, { index: hit.index, sensorId: sensorId ?? hit.sensorId });
        continue;
      }
    }
    if (Number.isInteger(img.id) && img.id >= 0 && img.id < log.frames.length) {
      imageFrame.set(img.id, { index: img.id, sensorId: sensorId ?? defaultCamera });
      byIndex++;
      continue;
    }
    warnings.add(`${path}: images[${i}] (id ${img.id}, ${String(img.file_name)}) matches no frame of ${log.info.name} by frame id, file name or index; its annotations are skipped`);
  }
  if (byIndex) warnings.add(`${path}: ${byIndex} images matched no frame id or file name and were mapped by image id as the frame index`);

  const boxes: ImportedBox[] = [];
  const covered = new Set<number>([...imageFrame.values()].map((f) => f.index));
  let unnamed = false;
  for (let i = 0; i < annotations.length; i++) {
    const a = annotations[i];
    const where = `${path} annotations[${i}]`;
    if (!isObject(a) || !finite(a.image_id) || !finite(a.category_id) || !Array.isArray(a.bbox) || a.bbox.length !== 4 || !a.bbox.every(finite)) {
      warnings.add(`${where}: needs numeric image_id, category_id and bbox [x, y, w, h]; skipped`);
      continue;
    }
    let frame = imageFrame.get(a.image_id);
    if (!frame && !images.length && Number.isInteger(a.image_id) && a.image_id >= 0 && a.image_id < log.frames.length) {
      frame = { index: a.image_id, sensorId: defaultCamera };
      covered.add(a.image_id);
    }
    if (!frame) {
      warnings.add(`${where}: image ${a.image_id} is not a frame of ${log.info.name}; skipped`);
      continue;
    }
    const [x, y, w, h] = a.bbox as number[];
    if (w! < 0 || h! < 0) {
      warnings.add(`${where}: negative bbox width or height; skipped`);
      continue;
    }
    let name = categoryName.get(a.category_id);
    if (name === undefined) {
      name = `category_${a.category_id}`;
      unnamed = true;
    }
    const attributes: Record<string, AttributeValue> = {};
    if (isObject(a.attributes)) {
      for (const [k, v] of Object.entries(a.attributes)) if (typeof v === 'string' || typeof v === 'boolean' || finite(v)) attributes[k] = v;
    }
    if (a.iscrowd === 1) attributes.ignore = true;
    const value: LabelValue = {
      frameId: log.frames[frame.index]!.id,
      class: name,
      box2d: { sensorId: frame.sensorId, x1: x!, y1: y!, x2: x! + w!, y2: y! + h! },
      box3d: null,
      trackId: typeof a.track_id === 'string' || finite(a.track_id) ? String(a.track_id) : null,
      score: finite(a.score) ? a.score : null,
      attributes,
      sourceDetectionId: null,
    };
    boxes.push({ frameIndex: frame.index, value, where });
  }
  if (unnamed) warnings.add(`${path}: some category ids have no name${Array.isArray(raw) ? ' (a results file: pass the COCO dataset it refers to)' : ''}; they are named category_<id>`);
  return { boxes, warnings: warnings.list(), files, frames: covered };
}
