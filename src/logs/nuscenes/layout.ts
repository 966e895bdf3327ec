// Recognising a nuScenes-style folder from directory listings alone (no table parsing):
// - the devkit layout: <root>/v1.0-*/ (Lyft: v1.01-*) with the JSON tables, beside samples/ sweeps/
//   (Lyft: images/ lidar/); the table folder itself is accepted too;
// - mmdet3d's info layout: a `*.info.json` (converted from mmdet3d's pickle) beside the sample files.
import type { Dirent } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface TablesLayout {
  kind: 'tables';
  /** Folder that sample_data filenames are relative to. */
  root: string;
  /** Folder holding the JSON tables. */
  tablesDir: string;
  /** e.g. 'v1.0-mini'. */
  version: string;
  /** Other table versions found beside the chosen one. */
  otherVersions: string[];
}

export interface InfoLayout {
  kind: 'info';
  root: string;
  infoPath: string;
  otherInfoFiles: string[];
}

export type NuscenesLayout = TablesLayout | InfoLayout;

export const VERSION_DIR = /^v1\.\d+-[A-Za-z0-9_.-]+$/;
/** Tables whose presence marks a folder as a nuScenes table folder. */
const MARKER_TABLES = ['scene.json', 'sample.json', 'sample_data.json', 'calibrated_sensor.json', 'ego_pose.json'];
const INFO_SUFFIX = '.info.json';
const NUSCENES_INFO_HEAD = /"dataset"\s*:\s*"nuscenes"|"version"\s*:\s*"v1\.0-/i;

export async function detectNuscenesLayout(path: string): Promise<NuscenesLayout | undefined> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return undefined;
  if (info.isFile()) {
    return path.endsWith(INFO_SUFFIX) && (await isNuscenesInfo(path)) ? { kind: 'info', root: dirname(path), infoPath: path, otherInfoFiles: [] } : undefined;
  }
  if (!info.isDirectory()) return undefined;
  const entries = await listDir(path);
  const names = entries.map((e) => e.name);
  if (isTablesFolder(basename(path), names)) {
    return { kind: 'tables', root: dirname(path), tablesDir: path, version: basename(path), otherVersions: [] };
  }
  const versions: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || !VERSION_DIR.test(entry.name)) continue;
    if (isTablesFolder(entry.name, (await listDir(join(path, entry.name))).map((e) => e.name))) versions.push(entry.name);
  }
  if (versions.length > 0) {
    // Sorted, so v1.0-mini comes before v1.0-trainval: the quick one opens when both are present.
    versions.sort();
    return { kind: 'tables', root: path, tablesDir: join(path, versions[0]!), version: versions[0]!, otherVersions: versions.slice(1) };
  }
  const infoFiles = names.filter((n) => n.endsWith(INFO_SUFFIX)).sort();
  const nuscenesInfo: string[] = [];
  for (const name of infoFiles) if (await isNuscenesInfo(join(path, name))) nuscenesInfo.push(name);
  if (nuscenesInfo.length > 0) {
    return { kind: 'info', root: path, infoPath: join(path, nuscenesInfo[0]!), otherInfoFiles: nuscenesInfo.slice(1) };
  }
  return undefined;
}

function isTablesFolder(name: string, names: readonly string[]): boolean {
  const markers = MARKER_TABLES.filter((t) => names.includes(t)).length;
  // Two marker tables suffice, so a folder missing one table is still recognised (and open names it).
  return markers >= 2 || (VERSION_DIR.test(name) && markers >= 1);
}

async function listDir(path: string): Promise<Dirent[]> {
  return readdir(path, { withFileTypes: true }).catch(() => []);
}

/** The metainfo block opens the file: the first few KB say which dataset it describes. */
async function isNuscenesInfo(path: string): Promise<boolean> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return false;
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return NUSCENES_INFO_HEAD.test(head.subarray(0, bytesRead).toString('latin1'));
  } finally {
    await handle.close();
  }
}
