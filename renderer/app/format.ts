// Display formatting shared by panels.

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : value < 10 ? 2 : 1)} ${units[unit]}`;
}

export function formatSeconds(s: number): string {
  return `${s.toFixed(3)} s`;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '—';
  const m = Math.floor(s / 60);
  const rest = s - m * 60;
  return m > 0 ? `${m}:${rest.toFixed(1).padStart(4, '0')}` : `${rest.toFixed(2)} s`;
}

/** An integer-nanosecond stamp as UTC date and time; `digits` fractional digits (≤ 9). */
export function formatStampUtc(stampNs: string, digits = 3): string {
  try {
    const ns = BigInt(stampNs);
    const seconds = ns / 1_000_000_000n;
    const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0').slice(0, digits);
    const iso = new Date(Number(seconds) * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
    return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${digits > 0 ? `.${fraction}` : ''} UTC`;
  } catch {
    return '—';
  }
}

/** A nanosecond stamp as seconds.nanoseconds, exact (no floating point). */
export function formatStampSeconds(stampNs: string): string {
  try {
    const ns = BigInt(stampNs);
    return `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
  } catch {
    return stampNs;
  }
}

export function formatHz(hz: number): string {
  return hz > 0 ? `${hz >= 10 ? hz.toFixed(1) : hz.toFixed(2)} Hz` : '—';
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
