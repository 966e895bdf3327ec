// Default locations, overridable by environment, following XDG on Linux.
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';

export function dataDir(): string {
  return process.env.SIGHTLINE_HOME ?? join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'sightline');
}

export function cacheDir(): string {
  return process.env.SIGHTLINE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sightline');
}

export function defaultDbPath(): string {
  return process.env.SIGHTLINE_DB ?? join(dataDir(), 'sightline.db');
}

/** The author recorded in audit events: configured name, else the OS user. */
export function defaultActor(): string {
  if (process.env.SIGHTLINE_USER) return process.env.SIGHTLINE_USER;
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
