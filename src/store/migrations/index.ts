import * as m001 from './001_initial.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Ordered; each runs once, in its own transaction. */
export const migrations: Migration[] = [m001];
