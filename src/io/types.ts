// What every format reader produces and every writer consumes.
import type { IoFormat, LabelValue } from '../labels/model.js';

export type { IoFormat } from '../labels/model.js';
export const IO_FORMATS: readonly IoFormat[] = ['kitti', 'kitti-tracking', 'coco', 'nuscenes'];

/** One box read from a file, placed on a frame of the log. */
export interface ImportedBox {
  frameIndex: number;
  value: LabelValue;
  /** File and line (or JSON index) it came from, for messages. */
  where: string;
}

export interface ReadResult {
  boxes: ImportedBox[];
  /** Things skipped or guessed, each naming the file and line or index. */
  warnings: string[];
  /** Input files read. */
  files: string[];
  /** Frames the input covers (a file or an image or a sample entry), with or without boxes. */
  frames: Set<number>;
}

export interface WriteResult {
  /** Files written (the manifest comes on top). */
  files: string[];
  /** Boxes written. */
  written: number;
  /** Labels the format cannot hold (e.g. 3D-only labels in COCO), with why. */
  skipped: number;
  warnings: string[];
}

/** Warnings are capped so a bad file cannot flood the output; the count of the rest is kept. */
export class WarningList {
  readonly items: string[] = [];
  private dropped = 0;

  constructor(private readonly limit = 200) {}

  add(message: string): void {
    if (this.items.length < this.limit) this.items.push(message);
    else this.dropped++;
  }

  list(): string[] {
    return this.dropped ? [...this.items, `… and ${this.dropped} more warnings`] : [...this.items];
  }
}
