// Model classes -> driving classes. The table is data: shown by `sightline models info`, overridden
// per model by the manifest's `classMap` and per user by `<dataDir>/class-map.json`.
//
// Unmapped classes keep their model name (a reviewer wants to see that YOLOX calls a trailer
// "chair"); map a class to null to drop it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { dataDir } from '../app/paths.js';
import { ModelError } from './errors.js';
import { parseJsonText } from './manifest.js';

export const DRIVING_CLASSES = ['car', 'truck', 'bus', 'pedestrian', 'cyclist', 'motorcycle', 'traffic light', 'stop sign'] as const;
export type DrivingClass = (typeof DRIVING_CLASSES)[number];

/** model class -> driving class, or null to drop the class. */
export type ClassMap = Record<string, string | null>;

/** COCO names (both spellings used by common exports) to driving classes. */
export const COCO_TO_DRIVING: Readonly<ClassMap> = Object.freeze({
  person: 'pedestrian',
  bicycle: 'cyclist',
  car: 'car',
  motorcycle: 'motorcycle',
  motorbike: 'motorcycle',
  bus: 'bus',
  truck: 'truck',
  'traffic light': 'traffic light',
  'stop sign': 'stop sign',
});

export const USER_CLASS_MAP_FILE = 'class-map.json';

const classMapSchema = z.record(z.string(), z.string().min(1).nullable());

/** The user's overrides from `<dir>/class-map.json`, or {} when the file does not exist. */
export function loadUserClassMap(dir: string = dataDir()): ClassMap {
  const path = join(dir, USER_CLASS_MAP_FILE);
  if (!existsSync(path)) return {};
  const parsed = classMapSchema.safeParse(parseJsonText(readFileSync(path, 'utf8'), path, 'class map'));
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ModelError(`${path}: class map must map class names to a class name or null (${first?.path.join('.')}: ${first?.message})`, { path });
  }
  return parsed.data;
}

/** Later maps win: built-in table, then the manifest's map, then the user's file. */
export function effectiveClassMap(classes: readonly string[], manifestMap: ClassMap | undefined, userMap: ClassMap = {}): ClassMap {
  const out: ClassMap = {};
  for (const name of classes) {
    let target: string | null = Object.hasOwn(COCO_TO_DRIVING, name) ? COCO_TO_DRIVING[name]! : name;
    if (manifestMap && Object.hasOwn(manifestMap, name)) target = manifestMap[name]!;
    if (Object.hasOwn(userMap, name)) target = userMap[name]!;
    out[name] = target;
  }
  return out;
}

/** Per class index: the driving label, or null when dropped. */
export function labelTable(classes: readonly string[], map: ClassMap): (string | null)[] {
  return classes.map((name) => (Object.hasOwn(map, name) ? map[name]! : name));
}
