import * as m001 from './001_initial.js';
import * as m002 from './002_inference.js';
import * as m003 from './003_labels.js';
import * as m004 from './004_evaluations.js';
import * as m005 from './005_safety.js';
import * as m006 from './006_saliency.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Ordered; each runs once, in its own transaction. */
export const migrations: Migration[] = [m001, m002, m003, m004, m005, m006];
