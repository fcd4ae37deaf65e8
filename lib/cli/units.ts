/**
 * How the CLI writes sizes, rates and durations, in one place so a progress bar and `status` show the same
 * units: decimal SI bytes with one decimal (`3.0 MB`, as `df -H` and disk vendors count), seconds to hours.
 */

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'] as const;

/** `0 B`, `999 B`, `1.0 kB`, `3.0 MB`, `12.4 GB`: the largest unit that keeps the value at or above 1. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '?';
  const sign = bytes < 0 ? '-' : '';
  let v = Math.abs(bytes);
  if (v < 1000) return `${sign}${Math.round(v)} B`;
  let i = 0;
  // 999.95 and up rounds to 1000.0: show the next unit instead (`1.0 MB`, never `1000.0 kB`).
  while (v >= 999.95 && i < BYTE_UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return `${sign}${v.toFixed(1)} ${BYTE_UNITS[i]}`;
}

/** Bytes per second in the units of formatBytes: `12.3 MB/s`. */
export function formatRate(bytesPerSec: number): string {
  return `${formatBytes(bytesPerSec)}/s`;
}

/** `0s`, `42s`, `3m05s`, `2h07m`, `3d04h`: two fields at most, what an operator waiting on a bar needs. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}
