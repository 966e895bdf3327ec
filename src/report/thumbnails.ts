// Thumbnails for the report: the camera image around an object's 2D box, outlined, as a JPEG data:
// URI (the report stays one file). The log is opened from the path the store knows, read only at the
// frames asked for, and only when its content still matches the log id (else: a warning, no crops).
import sharp, { type Sharp } from 'sharp';
import { getLogRecord } from '../store/logs.js';
import type { Db } from '../store/db.js';
import { detectLog, logIdFromFingerprint, openDriveLog } from '../logs/open.js';
import type { DriveLog } from '../logs/driveLog.js';
import type { CameraImage } from '../logs/model.js';

export interface ThumbnailRequest {
  /** Caller's key for the result. */
  key: string;
  frameId: string;
  sensorId: string;
  box2d: { x1: number; y1: number; x2: number; y2: number };
}

export interface ThumbnailResult {
  /** key -> data:image/jpeg;base64,… */
  images: Map<string, string>;
  warnings: string[];
}

const MAX_W = 200;
const MAX_H = 140;

async function decodeCamera(camera: CameraImage): Promise<Sharp> {
  if (camera.format === 'raw-rgb8') return sharp(camera.data, { raw: { width: camera.intrinsics.width, height: camera.intrinsics.height, channels: 3 } });
  return sharp(camera.data);
}

/** One crop: the box with a margin of half its size (at least 24 px), the box outlined in red. */
export async function cropThumbnail(camera: CameraImage, box: ThumbnailRequest['box2d']): Promise<string> {
  const image = await decodeCamera(camera);
  const meta = await image.metadata();
  const width = meta.width ?? camera.intrinsics.width;
  const height = meta.height ?? camera.intrinsics.height;
  const bw = Math.max(1, box.x2 - box.x1);
  const bh = Math.max(1, box.y2 - box.y1);
  const mx = Math.max(24, bw / 2);
  const my = Math.max(24, bh / 2);
  const left = Math.max(0, Math.floor(box.x1 - mx));
  const top = Math.max(0, Math.floor(box.y1 - my));
  const right = Math.min(width, Math.ceil(box.x2 + mx));
  const bottom = Math.min(height, Math.ceil(box.y2 + my));
  if (right - left < 2 || bottom - top < 2) throw new Error(`box [${box.x1}, ${box.y1}, ${box.x2}, ${box.y2}] lies outside the ${width}x${height} image`);
  const cw = right - left;
  const ch = bottom - top;
  // sharp composites after resizing, so the outline is drawn at the output size.
  const scale = Math.min(MAX_W / cw, MAX_H / ch);
  const w = Math.max(1, Math.round(cw * scale));
  const h = Math.max(1, Math.round(ch * scale));
  const stroke = Math.max(2, Math.round(Math.max(w, h) / 80));
  const outline = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect x="${((box.x1 - left) * scale).toFixed(1)}" y="${((box.y1 - top) * scale).toFixed(1)}" width="${(bw * scale).toFixed(1)}" height="${(bh * scale).toFixed(1)}" fill="none" stroke="#ff2020" stroke-width="${stroke}"/></svg>`,
  );
  const jpeg = await image
    .extract({ left, top, width: cw, height: ch })
    .resize({ width: w, height: h, fit: 'fill' })
    .composite([{ input: outline, left: 0, top: 0 }])
    .jpeg({ quality: 82 })
    .toBuffer();
  return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
}

/** Crops for each request, reading each frame once; failures become warnings, never errors. */
export async function cropThumbnails(db: Db, logId: string, requests: readonly ThumbnailRequest[], options: { logPath?: string } = {}): Promise<ThumbnailResult> {
  const images = new Map<string, string>();
  const warnings: string[] = [];
  if (!requests.length) return { images, warnings };
  const path = options.logPath ?? getLogRecord(db, logId)?.path;
  if (!path) return { images, warnings: [`log ${logId} is not in the workspace database: no thumbnails`] };
  let drive: DriveLog | undefined;
  try {
    const detected = await detectLog(path);
    const id = logIdFromFingerprint(detected.fingerprint);
    if (id !== logId) return { images, warnings: [`${path} is now log ${id}, not ${logId} (moved or changed): no thumbnails`] };
    drive = await openDriveLog(path, detected, { logId });
    const indexOf = new Map(drive.frames.map((f) => [f.id, f.index]));
    const byFrame = new Map<string, ThumbnailRequest[]>();
    for (const r of requests) byFrame.set(r.frameId, [...(byFrame.get(r.frameId) ?? []), r]);
    for (const [frameId, list] of byFrame) {
      const index = indexOf.get(frameId);
      if (index === undefined) {
        warnings.push(`frame ${frameId} is not in ${path}: ${list.length} thumbnail(s) left out`);
        continue;
      }
      const frame = await drive.readFrame(index, { cameras: true, lidar: false });
      for (const r of list) {
        const camera = frame.cameras.find((c) => c.sensorId === r.sensorId);
        if (!camera) {
          warnings.push(`frame ${frameId} has no image from ${r.sensorId}: thumbnail ${r.key} left out`);
          continue;
        }
        try {
          images.set(r.key, await cropThumbnail(camera, r.box2d));
        } catch (error) {
          warnings.push(`thumbnail ${r.key} (frame ${frameId}): ${(error as Error).message}`);
        }
      }
    }
  } catch (error) {
    warnings.push(`log ${logId} at ${path} could not be read for thumbnails: ${(error as Error).message}`);
  } finally {
    await drive?.close().catch(() => undefined);
  }
  return { images, warnings };
}
