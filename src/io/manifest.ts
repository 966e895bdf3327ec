// The manifest written next to every export: which label set (and which state of it), from which
// log, the audit head at export (the export's own audit event), the software version, counts and
// time, so data used for retraining can be traced back to the reviewed labels.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative } from 'node:path';
import { canonicalJson } from '../store/audit.js';
import type { LabelRecord } from '../store/labelEvents.js';
import type { ExportManifest } from '../labels/model.js';

export type { ExportManifest } from '../labels/model.js';

/** `x.json` -> `x.manifest.json`; a folder or other file `x` -> `x.manifest.json` beside it. */
export function manifestPath(out: string): string {
  const base = basename(out);
  const stem = extname(base) === '.json' ? base.slice(0, -5) : base;
  return join(dirname(out), `${stem}.manifest.json`);
}

/** sha256 over the labels' ids, revisions and values: changes whenever any exported label does. */
export function labelsDigest(labels: readonly LabelRecord[]): string {
  const hash = createHash('sha256');
  for (const l of labels) hash.update(canonicalJson([l.id, l.revision, l.frameId, l.class, l.box2d, l.box3d, l.trackId, l.score, l.attributes])).update('\n');
  return hash.digest('hex');
}

export async function writeManifest(out: string, manifest: Omit<ExportManifest, 'files'> & { files: readonly string[] }): Promise<string> {
  const path = manifestPath(out);
  const files = manifest.files.map((f) => relative(dirname(path), f));
  await writeFile(path, `${JSON.stringify({ ...manifest, files }, null, 2)}\n`);
  return path;
}
