/**
 * A one-line progress bar for long CLI work (put/get of big files, scrub, repair), drawn on stderr so stdout
 * stays machine-readable. Redrawn at most every 100 ms; `done()` ends the line. Disabled (no output) unless
 * stderr is a terminal or the caller forces it (`--progress`). Sizes and rates use lib/cli/units.ts, the
 * units `status` shows; the ETA is the remaining work at the average rate so far.
 */
import { formatBytes, formatDuration, formatRate } from './units.js';

export class ProgressBar {
  #lastMs = 0;
  #started = Date.now();
  #drawn = false;
  /** Erase to the end of the line (a shorter redraw leaves no tail), only on a terminal. */
  get #clear(): string {
    return (this.out as { isTTY?: boolean }).isTTY === true ? '\x1b[K' : '';
  }

  constructor(
    private readonly label: string,
    private readonly total: number | undefined,
    private readonly enabled: boolean,
    private readonly unit: 'bytes' | 'items' = 'bytes',
    private readonly out: NodeJS.WritableStream = process.stderr,
  ) {}

  update(current: number, extra = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.#lastMs < 100 && (this.total === undefined || current < this.total)) return;
    this.#lastMs = now;
    this.out.write(`\r${this.render(current, extra)}${this.#clear}`);
    this.#drawn = true;
  }

  done(current: number, extra = ''): void {
    if (!this.enabled) return;
    this.out.write(`\r${this.render(current, extra, true)}${this.#clear}\n`);
    this.#drawn = false;
  }

  /** Ends a drawn line without redrawing it (before an error or interrupt message goes to stderr). */
  interrupt(): void {
    if (this.enabled && this.#drawn) this.out.write('\n');
    this.#drawn = false;
  }

  render(current: number, extra = '', finished = false): string {
    const seconds = Math.max((Date.now() - this.#started) / 1000, 1e-3);
    const fmt = (v: number) => (this.unit === 'bytes' ? formatBytes(v) : String(v));
    const perSec = current / seconds;
    const rate = this.unit === 'bytes' ? formatRate(perSec) : `${perSec.toFixed(1)}/s`;
    let bar: string;
    let time: string;
    if (this.total !== undefined && this.total > 0) {
      const width = 30;
      const fraction = Math.min(1, current / this.total);
      const full = Math.round(fraction * width);
      bar = `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${fmt(current)}/${fmt(this.total)}`;
      time = finished || current >= this.total ? `in ${formatDuration(seconds)}` : perSec > 0 ? `ETA ${formatDuration((this.total - current) / perSec)}` : 'ETA ?';
    } else {
      bar = fmt(current);
      time = finished ? `in ${formatDuration(seconds)}` : `${formatDuration(seconds)} so far`;
    }
    return `${this.label} ${bar} ${rate} ${time}${extra ? ` ${extra}` : ''}`;
  }

  get drawn(): boolean {
    return this.#drawn;
  }
}
