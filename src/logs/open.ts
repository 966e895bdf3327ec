// Entry point for reading any drive log: detect the format from content (not the extension),
// fingerprint the file cheaply, and hand off to the format's reader.
import { createHash } from 'node:crypto';
import { open as openFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DriveLog, OpenOptions } from './driveLog.js';
import { LogError } from './errors.js';
import type { LogFormat } from './model.js';
import { detectKittiLayout, openKittiLog } from './kitti/index.js';
import { detectNuscenesLayout, openNuscenesLog } from './nuscenes/index.js';
import { openMcapSource } from './mcap/openSource.js';
import { openMessageLog } from './messages/messageLog.js';
import { isPcdFile, openPcdLog } from './pcd/pcdLog.js';
import { RosbagSource } from './rosbag/bagSource.js';

const MCAP_MAGIC = Buffer.from([0x89, 0x4d, 0x43, 0x41, 0x50, 0x30, 0x0d, 0x0a]);
const ROSBAG_MAGIC = Buffer.from('#ROSBAG V2.0\n');
const FINGERPRINT_SPAN = 1 << 20;

export class LogNotFoundError extends Error {}

export interface DetectedLog {
  format: LogFormat;
  sizeBytes: number;
  /** sha256 over the size, the first MiB and the last MiB. */
  fingerprint: string;
}

export async function detectLog(path: string): Promise<DetectedLog> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new LogNotFoundError(`No such file or directory: ${path}`);
    throw new LogError(`Cannot read ${path}: ${error.message}`, { path });
  });
  if (info.isDirectory()) return detectDirectory(path);
  const handle = await openFile(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(FINGERPRINT_SPAN, info.size));
    await handle.read(head, 0, head.length, 0);
    const tail = Buffer.alloc(Math.min(FINGERPRINT_SPAN, Math.max(0, info.size - head.length)));
    if (tail.length) await handle.read(tail, 0, tail.length, info.size - tail.length);
    const fingerprint = createHash('sha256').update(String(info.size)).update(head).update(tail).digest('hex');
    let format: LogFormat | undefined;
    if (head.subarray(0, MCAP_MAGIC.length).equals(MCAP_MAGIC)) format = 'mcap';
    else if (head.subarray(0, ROSBAG_MAGIC.length).equals(ROSBAG_MAGIC)) format = 'rosbag';
    else if (isPcdFile(head)) format = 'pcd';
    if (!format) {
      throw new LogError(
        `${path} is not a drive log Sightline can read: expected an MCAP file, a ROS bag, a PCD point cloud, or a KITTI/nuScenes folder (first bytes: ${head.subarray(0, 8).toString('hex') || 'empty file'})`,
        { path, offset: 0 },
      );
    }
    return { format, sizeBytes: info.size, fingerprint };
  } finally {
    await handle.close();
  }
}

/** Folder logs: the layout decides the format; the fingerprint hashes the file names and sizes. */
async function detectDirectory(path: string): Promise<DetectedLog> {
  const kitti = await detectKittiLayout(path);
  const nuscenes = kitti ? undefined : await detectNuscenesLayout(path);
  if (!kitti && !nuscenes) {
    throw new LogError(
      `${path} is a folder but not a KITTI (image_2/, velodyne/, calib/, or a raw drive's image_02/data, velodyne_points/data) or nuScenes (v1.0-*/ tables with samples/, or an mmdet3d *.info.json sample) layout`,
      { path },
    );
  }
  const { fingerprint, sizeBytes } = await fingerprintDirectory(path);
  return { format: kitti ? 'kitti' : 'nuscenes', sizeBytes, fingerprint };
}

const MAX_FINGERPRINT_ENTRIES = 200_000;

/** sha256 over relative paths and sizes (3 levels deep): stable across copies, cheap for big datasets. */
async function fingerprintDirectory(root: string): Promise<{ fingerprint: string; sizeBytes: number }> {
  const entries: string[] = [];
  let sizeBytes = 0;
  const walk = async (dir: string, rel: string, depth: number): Promise<void> => {
    if (entries.length >= MAX_FINGERPRINT_ENTRIES) return;
    const children = await readdir(dir, { withFileTypes: true }).catch(() => []);
    children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const child of children) {
      if (child.name.startsWith('.') || entries.length >= MAX_FINGERPRINT_ENTRIES) continue;
      const childPath = join(dir, child.name);
      if (child.isDirectory()) {
        entries.push(`${rel}${child.name}/`);
        if (depth < 3) await walk(childPath, `${rel}${child.name}/`, depth + 1);
      } else if (child.isFile()) {
        const size = (await stat(childPath).catch(() => undefined))?.size ?? 0;
        sizeBytes += size;
        entries.push(`${rel}${child.name}:${size}`);
      }
    }
  };
  await walk(root, '', 0);
  return { fingerprint: createHash('sha256').update(entries.join('\n')).digest('hex'), sizeBytes };
}

export function logIdFromFingerprint(fingerprint: string): string {
  return fingerprint.slice(0, 16);
}

export async function openDriveLog(
  path: string,
  detected: DetectedLog,
  options: Omit<OpenOptions, 'fingerprint'>,
): Promise<DriveLog> {
  const openOptions = { ...options, fingerprint: detected.fingerprint };
  switch (detected.format) {
    case 'mcap':
      return openMessageLog(await openMcapSource(path), { ...openOptions, format: 'mcap' });
    case 'rosbag':
      return openMessageLog(await RosbagSource.open(path), { ...openOptions, format: 'rosbag' });
    case 'pcd':
      return openPcdLog(path, openOptions);
    case 'kitti':
      return openKittiLog(path, openOptions);
    case 'nuscenes':
      return openNuscenesLog(path, openOptions);
    default:
      throw new LogError(`${path}: ${detected.format} logs are not supported yet`, { path });
  }
}

/** Full-content sha256, streamed (for provenance; too slow for the open path of big logs). */
export async function sha256File(path: string, onProgress?: (done: number, total: number) => void): Promise<string> {
  const { createReadStream } = await import('node:fs');
  const info = await stat(path);
  // A folder log's identity is its file list (hashing a whole dataset would take hours).
  if (info.isDirectory()) return (await fingerprintDirectory(path)).fingerprint;
  const total = info.size;
  const hash = createHash('sha256');
  let done = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) {
    hash.update(chunk as Buffer);
    done += (chunk as Buffer).length;
    onProgress?.(done, total);
  }
  return hash.digest('hex');
}
